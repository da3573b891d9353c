"""What every command shares: the settings and the wired services of the environment."""

from __future__ import annotations

import os

import click

from entry_service.bootstrap import Services, build
from entry_service.settings import ConfigError, Settings


def _settings() -> Settings:
    try:
        return Settings.from_env(os.environ)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _services(ctx: click.Context) -> Services:
    """The wired services: given by tests through ``obj``, else built once from the environment."""
    if ctx.obj is None:
        try:
            ctx.obj = build(_settings())
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from None
        ctx.call_on_close(ctx.obj.close)
    return ctx.obj  # type: ignore[no-any-return]
