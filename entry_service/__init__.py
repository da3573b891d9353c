"""Composition root: settings from the environment, wiring of adapters into use cases, the WSGI app.

Other services use entry-service as a library through ``open_services`` (docs/library.md): the same use cases
as the HTTP API, wired from a configuration value."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from entry_service.bootstrap import Services
    from entry_service.settings import Settings
    from entrycore.ports import Stores

__all__ = ["__version__", "open_services"]


def open_services(config: Mapping[str, str] | Settings, *, stores: Stores | None = None) -> Services:
    """Every use case of entry-service (``Services``: ``registrations``, ``phones``, ``privacy``, ``selection``,
    ``scoring``, ``transfers``, ``replication``, ``relay``, …), wired from ``config`` — a mapping of the
    variables of API.md §6 (``{"ENTRY_STORE": "sqlite:///entries.db", "ENTRY_CAMPAIGNS": "file:campaigns.json"}``;
    a variable left out takes its default, the process environment is not read) or a ``Settings`` — and on
    ``stores`` when given instead of ``ENTRY_STORE``'s (``adapters_mongo.open_mongo(your_db)`` on the caller's own
    MongoDB database, say; closing the services closes them). Raises ``ConfigError`` naming the first bad
    variable. Close it (or use it as a context manager) to release its connections."""
    from entry_service.bootstrap import build  # noqa: PLC0415 - the wiring imports every adapter: on use only
    from entry_service.settings import Settings  # noqa: PLC0415

    settings = config if isinstance(config, Settings) else Settings.from_env(config)
    return build(settings, stores=stores)
