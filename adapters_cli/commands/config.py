"""``entry-service config show``, ``token`` and ``phone-token``: the configuration, and tokens signed with the
secrets it holds (local use and demos)."""

from __future__ import annotations

import time
from typing import Any

import click
import jwt

from adapters_cli.context import _settings


@click.group()
def config() -> None:
    """The service's configuration (API.md §6)."""


@config.command("show")
def config_show() -> None:
    """Print every configuration variable with its effective value (defaults included), secrets never shown;
    a bad value is one line naming the variable and a non-zero exit, as at every start."""
    for name, value in _settings().shown():
        click.echo(f"{name}={value}")


def _sign(claims: dict[str, Any], key: str) -> str:
    return jwt.encode(claims, key, algorithm="HS256")


@click.command()
@click.option("--user", "user_id", required=True, help="The token's subject (user id).")
@click.option("--supreme", is_flag=True, help="Grant administrator rights (isSupreme).")
@click.option("--ttl", default=3600, show_default=True, type=click.IntRange(1, 31 * 86400), help="Seconds valid.")
def token(user_id: str, supreme: bool, ttl: int) -> None:
    """Print a bearer token signed with the configured secret (local use and demos)."""
    settings = _settings().with_secrets()
    if not settings.auth_secret or settings.auth_public_key:
        raise click.ClickException("ENTRY_AUTH_PUBLIC_KEY is set: tokens come from your identity provider")
    now = int(time.time())
    claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + ttl, "isSupreme": supreme}
    if settings.auth_audience:
        claims["aud"] = settings.auth_audience
    if settings.auth_issuer:
        claims["iss"] = settings.auth_issuer
    click.echo(_sign(claims, settings.auth_secret))


@click.command("phone-token")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--phone", required=True, help="The phone number the SMS step verified.")
@click.option("--user", "user_id", default=None, help="Bind the token to this fan (sub).")
@click.option("--ttl", default=600, show_default=True, type=click.IntRange(1, 86400))
def phone_token(campaign_id: str, phone: str, user_id: str | None, ttl: int) -> None:
    """Print a phone token signed with the phone-token secret (local use and demos)."""
    settings = _settings().with_secrets()
    now = int(time.time())
    claims: dict[str, Any] = {"phone": phone, "campaignId": campaign_id, "iat": now, "exp": now + ttl}
    if user_id:
        claims["sub"] = user_id
    click.echo(_sign(claims, settings.phone_token_secret or ""))
