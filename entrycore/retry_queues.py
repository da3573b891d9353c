"""What every retry queue kept in a datastore shares (SPEC PUB-005, ``ENTRY_RETRY_QUEUE=store``): the
visibility timeout, the waiting receive, and its failures as the RetryQueue port states them."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

from entrycore.errors import DeliveryFailed, DependencyUnavailable

T = TypeVar("T")

DEFAULT_VISIBILITY = 60.0  # seconds a received request stays hidden unless acknowledged
POLL_INTERVAL = 0.2  # seconds between looks at an empty queue while a receive waits


def visibility_timeout(seconds: float) -> timedelta:
    """The visibility timeout of a store's retry queue; raises ValueError unless positive and finite."""
    if not 0 < seconds < float("inf"):
        raise ValueError(f"retry_visibility must be a positive number of seconds, not {seconds!r}")
    return timedelta(seconds=seconds)


def wait_for(
    look: Callable[[], list[T]],
    wait_seconds: float,
    *,
    monotonic: Callable[[], float],
    sleep: Callable[[float], object],
) -> list[T]:
    """``look()`` until it finds something or ``wait_seconds`` have passed; always looks at least once. The
    rule lives here; how time passes (``monotonic``, ``sleep``) is the adapter's."""
    deadline = monotonic() + max(0.0, wait_seconds)
    while True:
        found = look()
        left = deadline - monotonic()
        if found or left <= 0:
            return found
        sleep(min(POLL_INTERVAL, left))


@contextmanager
def queue_down() -> Iterator[None]:
    """A failing datastore is DeliveryFailed here: callers of the queue retry later (the relay, the worker)."""
    try:
        yield
    except DependencyUnavailable as err:
        raise DeliveryFailed(str(err)) from err
