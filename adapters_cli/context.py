"""What every command shares: the settings, the wired services, the caller it acts as, and the one place where
an error of the service becomes the command's one-line message (DESIGN.md: ``CODE: message``, exit status 1)."""

from __future__ import annotations

import getpass
import os
from typing import Any

import click

from entry_service.bootstrap import Services, build, build_store, prepare_store
from entry_service.settings import ConfigError, Settings
from entrycore.caller import Caller
from entrycore.errors import EntryError
from entrycore.ports import Stores


class EntryGroup(click.Group):
    """The root command group: every command runs inside its ``invoke``, so an ``EntryError`` raised anywhere below
    (a use case, the store's preparation, a close callback) is ``CODE: message`` and a ``ConfigError`` the line that
    names the variable — the commands themselves catch neither."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        except EntryError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None


def _settings() -> Settings:
    """The settings of the environment (a bad variable: ConfigError, which the root group reports)."""
    return Settings.from_env(os.environ)


def _services(ctx: click.Context) -> Services:
    """The wired services: given by tests through ``obj``, else built once from the environment."""
    if ctx.obj is None:
        ctx.obj = build(_settings())
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj  # type: ignore[no-any-return]


def store_alone(ctx: click.Context) -> Stores:
    """The configured store by itself, prepared (migrated, indexes ensured) and closed with the command: for the
    commands that need neither the campaign nor the user source (``db init``, ``outbox``)."""
    stores = build_store(_settings())
    ctx.call_on_close(stores.close)
    prepare_store(stores)
    return stores


def admin_caller() -> Caller:
    """The CLI acts as an administrator; the audit trail names the operating-system user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Caller(user_id=f"cli:{who}", is_supreme=True)
