"""``entry-service invites import``: an invite list read from a file or stdin, added to an invite-only campaign in
batches."""

from __future__ import annotations

from pathlib import Path

import click

from adapters_cli.context import _services
from adapters_cli.files import FileRefused, TextFile
from adapters_cli.progress import Progress
from adapters_cli.readers import Columns, Layout, first_cells, in_batches
from entrycore.caller import Caller

INVITES = Layout("an invite list", Columns((), others=True))  # one value a line, or the first column of a CSV
INVITE_HEADERS = {"code", "email", "value", "invite", "globaluserid", "memberid"}


@click.group()
def invites() -> None:
    """Invite lists of invite-only campaigns."""


@invites.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path))
@click.option("--campaign", "campaign_id", required=True)
@click.option("--batch", default=5000, show_default=True, type=click.IntRange(1, 100_000))
@click.pass_context
def invites_import(ctx: click.Context, file: Path, campaign_id: str, batch: int) -> None:
    """Add every invite of FILE (one per line, or CSV first column; '-' for stdin) to an invite-only campaign."""
    services = _services(ctx)
    caller = Caller(user_id="cli", is_supreme=True)
    added = read = 0
    with Progress("importing invites") as bar:
        try:
            services.invites.accepting(caller, campaign_id)  # the campaign first: its invites must be read (SCR-002)
            with TextFile.opened(file) as text:
                for chunk in in_batches(first_cells(text, INVITES, INVITE_HEADERS), batch):
                    added += services.invites.add(caller, campaign_id, chunk)
                    read += len(chunk)
                    if len(chunk) == batch:  # the last, shorter batch: the summary follows at once
                        bar.report(f"{read:,} read, {added:,} added")
        except FileRefused as exc:  # past the first batch only from a pipe: a regular file is checked whole first
            raise FileRefused(
                f"{exc.message}; the {read:,} invites before it were added" if read else exc.message
            ) from None
    click.echo(f"{read} invites read, {added} added to {campaign_id}")
