"""``entry-service users``: a fan's privacy requests (SPEC USR-002, USR-003) and data export."""

from __future__ import annotations

import json

import click

from adapters_cli.context import _services, admin_caller
from entrycore.usecases.privacy import OPT_OUTS
from entrywire.answers import answers


@click.group()
def users() -> None:
    """A fan's privacy requests."""


@users.command("optout")
@click.argument("user_id")
@click.option("--type", "kind", required=True, type=click.Choice(list(OPT_OUTS)), help="What the fan opts out of.")
@click.pass_context
def optout(ctx: click.Context, user_id: str, kind: str) -> None:
    """Opt USER_ID out on every entry: DO_NOT_SELL turns allow_marketing off, UNSUBSCRIBE allow_notification and
    allow_livenation; nothing else changes. Prints how many entries changed."""
    modified = _services(ctx).privacy.opt_out(admin_caller(), user_id, kind)
    click.echo(f"{modified} entr{'y' if modified == 1 else 'ies'} of {user_id} changed ({kind})")


@users.command("export")
@click.argument("user_id")
@click.pass_context
def export(ctx: click.Context, user_id: str) -> None:
    """Print every entry and scoring record kept about USER_ID as one JSON document (an access request)."""
    data = _services(ctx).privacy.export(admin_caller(), user_id)
    click.echo(json.dumps(answers.unstructure(data), indent=2, ensure_ascii=False))


@users.command("delete")
@click.argument("user_id")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def delete(ctx: click.Context, user_id: str, yes: bool) -> None:
    """Erase USER_ID (USR-003): every entry and scoring record; the fan's confirmed phones are free again and one
    entry.deleted event per entry is published. Prints the counts as JSON."""
    if not yes:
        click.confirm(f"Erase every entry and scoring record of {user_id}?", abort=True, err=True)
    deleted = _services(ctx).privacy.delete_user(admin_caller(), user_id)
    click.echo(json.dumps({"deleted": deleted, "userId": user_id}))
