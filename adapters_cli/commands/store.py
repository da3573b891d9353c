"""``entry-service db init`` and ``outbox dead-letters``: commands on the datastore alone, which need neither the
campaign nor the user source."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from adapters_cli.context import _settings, store_alone
from entrycore.ports import Outbox
from entrywire.answers import answers

MAX_LISTED = 100_000


@click.group()
def db() -> None:
    """Datastore administration."""


@db.command("init")
@click.pass_context
def db_init(ctx: click.Context) -> None:
    """Create the datastore's tables or collections and indexes (idempotent; every start does it too)."""
    settings = _settings()
    store_alone(ctx).ping()
    click.echo(f"datastore ready: {str(settings.store).split('@')[-1]}")


@click.group()
def outbox() -> None:
    """The outbox of pending events, receipts and retry requests."""


def _outbox(ctx: click.Context) -> Outbox:
    """The outbox of the wired services (tests), else of the configured store alone."""
    if ctx.obj is not None:
        return ctx.obj.relay.outbox  # type: ignore[no-any-return]
    return store_alone(ctx).outbox


@outbox.command("dead-letters")
@click.option("--retry", is_flag=True, help="Put the dead letters back in the queue (all, or those of --id).")
@click.option("--id", "ids", multiple=True, help="Only this message (repeatable).")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, MAX_LISTED), help="How many to list.")
@click.pass_context
def dead_letters(ctx: click.Context, retry: bool, ids: tuple[str, ...], limit: int) -> None:
    """List the messages parked after their attempts ran out, or put them back in the queue with --retry.

    A dead letter holds back the later messages of its own entry (HELD column) until it is delivered."""
    outbox = _outbox(ctx)
    if retry:
        count = outbox.requeue_dead_letters(list(ids) if ids else None, datetime.now(UTC))
        click.echo(f"{count} dead letter(s) put back in the queue; the relay delivers them at once")
        return
    dead = [d for d in outbox.dead_letters(MAX_LISTED if ids else limit) if not ids or d.message.id in ids]
    status = outbox.outbox_status()
    if dead:
        click.echo("ID\tKIND\tCAMPAIGN\tUSER\tATTEMPTS\tPARKED\tHELD\tERROR")
    for letter in dead:
        row = answers.unstructure(letter)
        columns = ("id", "kind", "campaignId", "userId", "attempts", "parkedAt", "heldBack", "error")
        click.echo("\t".join(" ".join(str(row[k]).split()) for k in columns))  # no tab or newline inside a cell
    click.echo(f"{status.dead_letters} dead letter(s) in all, {status.backlog} message(s) pending", err=True)
