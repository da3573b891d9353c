"""``entry-service serve``: the Flask app on gunicorn (a production WSGI server), one app per worker."""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Runs ``entry_service.wsgi.create()`` in each worker process (nothing shared across a fork)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from entry_service.wsgi import create  # noqa: PLC0415 - built in the worker, after the fork

        return create()


def serve(host: str, port: int, workers: int, threads: int) -> None:
    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "control_socket_disable": True,  # gunicorn ≥ 27 would write under ~/.gunicorn (DESIGN.md)
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "backlog": 2048,
    }
    GunicornServer(options).run()
