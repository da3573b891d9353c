"""The Runner of a process: a thread pool for calls that must not hold a fan's request (the fraud check
beside the fanscore, probes nobody waits for), made on first use in each process, never inherited through a
fork, each call in its caller's context (contextvars: the request's correlation id goes along); and the
Heartbeats of long admin operations (a transfer renewing its lock), one thread each."""

from __future__ import annotations

import contextvars
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
THREADS = 64  # per process: above the request threads of a worker, so a wait never queues behind probes
log = logging.getLogger(__name__)


class ThreadRunner:
    """entrycore.ports.Runner on one ThreadPoolExecutor per process."""

    def __init__(self, threads: int = THREADS) -> None:
        self._threads = threads
        self._lock = threading.Lock()
        self._pools: dict[int, ThreadPoolExecutor] = {}

    def submit(self, call: Callable[..., T], /, *args: Any) -> Future[T]:
        return self._pool().submit(contextvars.copy_context().run, call, *args)

    def _pool(self) -> ThreadPoolExecutor:
        pid = os.getpid()
        with self._lock:
            pool = self._pools.get(pid)
            if pool is None:
                pool = self._pools[pid] = ThreadPoolExecutor(self._threads, thread_name_prefix="background")
            return pool


class ThreadHeartbeats:
    """entrycore.ports.Heartbeats on a daemon thread per started series (a few at a time: admin operations)."""

    def start(self, every: float, beat: Callable[[], None]) -> Callable[[], None]:
        stopped = threading.Event()

        def run() -> None:
            while not stopped.wait(every):
                try:
                    beat()
                except Exception:  # a heartbeat must not die of one failure: the next one may get through
                    log.exception("a heartbeat failed")

        thread = threading.Thread(target=contextvars.copy_context().run, args=(run,), name="heartbeat", daemon=True)
        thread.start()

        def stop() -> None:
            stopped.set()
            thread.join()

        return stop
