"""A small in-process cache with expiry, shared by threads, that loads each missing key once at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from concurrent.futures import Future
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ExpiringCache(Generic[K, V]):
    """Values kept for a time each, shared by every thread.

    When several threads miss the same key at once, one loads it and the others wait (at most
    ``wait`` seconds, then TimeoutError) for its value or its exception: a hot campaign whose entry
    expires costs one call, not one per waiting request. At most ``max_entries`` values are kept.
    """

    def __init__(self, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[K, tuple[float, V]] = {}  # key -> (expires at, value), oldest first
        self._loading: dict[K, Future[V]] = {}

    def get_or_load(self, key: K, load: Callable[[], V], ttl: Callable[[V], float], wait: float) -> V:
        """The cached value of ``key``, else ``load()`` kept for ``ttl(value)`` seconds (not kept if ≤ 0)."""
        with self._lock:
            kept = self._values.get(key)
            if kept is not None and kept[0] > self._clock():
                return kept[1]
            pending = self._loading.get(key)
            if pending is None:
                pending = self._loading[key] = Future()
                leader = True
            else:
                leader = False
        if not leader:
            return pending.result(timeout=wait)
        try:
            value = load()
        except BaseException as exc:
            with self._lock:
                del self._loading[key]
            pending.set_exception(exc)
            raise
        with self._lock:
            del self._loading[key]
            seconds = ttl(value)
            if seconds > 0:
                self._keep(key, value, seconds)
        pending.set_result(value)
        return value

    def clear(self) -> None:
        """Forgets every kept value."""
        with self._lock:
            self._values.clear()

    def __len__(self) -> int:
        return len(self._values)

    def _keep(self, key: K, value: V, seconds: float) -> None:
        now = self._clock()
        self._values.pop(key, None)  # re-inserted last, so the dict stays oldest first
        self._values[key] = (now + seconds, value)
        if len(self._values) > self._max:
            # Sweep expired values, then drop the oldest down to 3/4 of the bound, so the O(n)
            # sweep runs at most once per max/4 insertions.
            for stale in [k for k, (expires, _) in self._values.items() if expires <= now]:
                del self._values[stale]
            for old in list(self._values)[: max(0, len(self._values) - self._max * 3 // 4)]:
                del self._values[old]
