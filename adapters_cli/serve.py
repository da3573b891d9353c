"""``entry-service serve``: the app on granian (a Rust HTTP server), one app per worker process.

Granian reads every request on its event loop; the app's threads only ever see complete requests
(``adapters_http.server.rsgi``), so clients that send slowly, or nothing, hold no thread (docs/decisions.md:
the servers compared). Workers are forked processes; each builds its own services and relay thread, calling the
app factory with the worker's options as arguments (``worker_loader``: granian's target loader, run in the worker).
"""

from __future__ import annotations

import functools
import importlib
import socket
from collections.abc import Callable
from typing import Any

import attrs

from entry_service.logs import GRANIAN_LOGGING

APP = "entry_service.wsgi:create_rsgi"
# granian's buffer for a request's head (its default, stated): well above the app's limits (API.md §2: a 16 KiB URL,
# a 64 KiB header block, refused by adapters_http.server.rsgi in the envelope), so those requests reach the app;
# only heads beyond it (measured: about 496 KiB) get granian's own empty 431. It is also the most a slow client's
# unfinished head holds per connection.
HEAD_BUFFER = 8192 + 4096 * 100


@attrs.frozen
class ServeOptions:
    """How ``serve`` runs: the CLI's options, with their defaults for a 2-core machine."""

    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2  # one per core: each worker is a Python process (its own GIL)
    threads: int = 8  # per worker: requests in the app at once (SQLite group commit wants several)
    header_timeout: float = 10.0  # seconds to send the headers; an idle kept-alive connection is closed after it
    body_timeout: float = 30.0  # seconds to send the body
    max_connections: int = 1024  # per worker, being read or answered; more wait in the backlog
    backlog: int = 2048
    admin_threads: int = 2  # per worker: admin requests (supreme tokens) in the app at once, on threads of their own


def granian_options(options: ServeOptions, target: str = APP) -> dict[str, Any]:
    """The Granian server's arguments for ``options`` (the benchmark serves its bare app with the same)."""
    from granian.constants import HTTPModes, Interfaces  # noqa: PLC0415 - imported when serving only
    from granian.http import HTTP1Settings  # noqa: PLC0415
    from granian.log import LogLevels  # noqa: PLC0415

    return {
        "target": target,
        "address": options.host,
        "port": options.port,
        "interface": Interfaces.RSGI,
        "factory": True,
        "workers": options.workers,
        "http": HTTPModes.http1,
        "websockets": False,
        "backlog": options.backlog,
        "backpressure": options.max_connections,
        "http1_settings": HTTP1Settings(
            header_read_timeout=int(options.header_timeout * 1000), max_buffer_size=HEAD_BUFFER
        ),
        "log_level": LogLevels.warning,
        "log_dictconfig": GRANIAN_LOGGING,  # JSON lines like every other log of the service (OPS-001)
        "log_access": False,
        "workers_kill_timeout": int(options.body_timeout + options.header_timeout) + 5,
        "respawn_failed_workers": True,
    }


class PortUnavailable(Exception):
    """The address cannot be bound (already in use, or not this machine's)."""


def check_port(host: str, port: int) -> None:
    """Binds and releases the address once, so a port already in use is one clear line at once rather
    than a traceback from the server's workers; raises PortUnavailable."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is no conflict
        try:
            sock.bind((host, port))
        except OSError as exc:
            raise PortUnavailable(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def serve(options: ServeOptions, target: str = APP) -> None:
    """Runs granian in the foreground until SIGTERM/SIGINT (requests in flight are answered first); raises
    PortUnavailable at once when the address cannot be bound. ``target`` names the app factory each worker calls."""
    from granian.server import Server  # noqa: PLC0415

    check_port(options.host, options.port)
    Server(**granian_options(options, target)).serve(target_loader=worker_loader(options, target), wrap_loader=False)


def worker_loader(options: ServeOptions, target: str = APP) -> Callable[[], Any]:
    """granian's target loader, called in each worker: the app of the factory ``target`` (``module:name``) names,
    given the worker's options as arguments (a partial of a module-level function: it also crosses a spawn start)."""
    return functools.partial(_worker_app, target, options.threads, options.body_timeout, options.admin_threads)


def _worker_app(target: str, threads: int, body_timeout: float, admin_threads: int) -> Any:
    module, _, name = target.partition(":")
    factory = getattr(importlib.import_module(module), name)
    return factory(threads=threads, body_timeout=body_timeout, admin_threads=admin_threads)
