"""The WSGI application for gunicorn: ``entry_service.wsgi:create()`` builds it from the environment."""

from __future__ import annotations

import os

from flask import Flask

from adapters_http.server import AppServices, HttpConfig, create_app
from entry_service import __version__
from entry_service.bootstrap import Services, build
from entry_service.logs import configure_logging
from entry_service.relay_thread import RelayThread
from entry_service.settings import Settings


def app_for(services: Services) -> Flask:
    """The Flask app driving ``services``."""
    app_services = AppServices(
        registrations=services.registrations,
        phones=services.phones,
        invites=services.invites,
        refresher=services.refresher,
        outbox=services.store,
        verifier=services.verifier,
        clock=services.clock,
        ping=services.ping,
    )
    return create_app(app_services, HttpConfig(version=__version__, cors_origins=services.settings.cors_origins))


def create() -> Flask:
    """Builds the app from the process environment (one per worker process), with its outbox relay thread."""
    configure_logging()
    services = build(Settings.from_env(os.environ))
    RelayThread(services.relay).start()
    return app_for(services)
