"""The application of each ``serve`` worker: ``create()`` builds the WSGI app from the environment, with its
outbox relay thread; ``create_rsgi()`` serves it to granian, each request read whole first."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from flask import Flask

from adapters_http.server import HttpConfig, create_app
from adapters_http.server.rsgi import ADMIN_THREADS, RsgiBridge
from entry_service import __version__
from entry_service.bootstrap import Services, build
from entry_service.draws_thread import DrawsThread
from entry_service.logs import configure_logging
from entry_service.relay_thread import RelayThread
from entry_service.settings import Settings


def app_for(services: Services) -> Flask:
    """The Flask app driving ``services`` (an ``AppServices`` as it is)."""
    return create_app(services, HttpConfig(version=__version__, cors_origins=services.settings.cors_origins))


def create_rsgi(
    threads: int | None = None, *, body_timeout: float | None = None, admin_threads: int | None = None
) -> RsgiBridge:
    """The app for granian's RSGI interface: ``threads`` threads run requests (admin requests ``admin_threads``
    threads of their own), a body must arrive within ``body_timeout`` seconds. ``entry-service serve`` passes its
    options; granian started on its own (``--factory``) gets ``ENTRY_THREADS``, ``ENTRY_ADMIN_THREADS`` and
    ``ENTRY_BODY_TIMEOUT`` instead, else the defaults."""
    if threads is None:
        threads = int(os.environ.get("ENTRY_THREADS", "8"))
    if admin_threads is None:
        admin_threads = int(os.environ.get("ENTRY_ADMIN_THREADS", str(ADMIN_THREADS)))
    if body_timeout is None:
        body_timeout = float(os.environ.get("ENTRY_BODY_TIMEOUT", "30"))
    app, stop = _worker()
    return RsgiBridge(app, threads, body_timeout=body_timeout, admin_threads=admin_threads, on_stop=stop)


SWITCH_INTERVAL = 0.001  # seconds (Python's default: 0.005)


def create() -> Flask:
    """Builds the app from the process environment (one per worker process), with its outbox relay thread."""
    return _worker()[0]


def _worker() -> tuple[Flask, Callable[[], None]]:
    """A worker's app and what stops it cleanly: its relay thread (the batch in hand finished or released,
    API.md §6), then its connections."""
    configure_logging()
    # A thread waiting for the GIL asks for it after the switch interval (default 5 ms): while an admin job computes in
    # this worker (a draw of a million entrants), each of a fan request's GIL re-acquisitions (every SQLite call
    # releases it) could wait that long. 1 ms bounds the wait five times lower (benchmarks/fans_during_admin.py).
    sys.setswitchinterval(SWITCH_INTERVAL)
    services = build(Settings.from_env(os.environ))
    relay = RelayThread(services.relay).start()
    keeper = DrawsThread(services.draws, interval=services.settings.draws_interval).start()

    def stop() -> None:
        keeper.stop()
        relay.stop()
        services.close()

    return app_for(services), stop
