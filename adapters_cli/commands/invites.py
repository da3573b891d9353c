"""``entry-service invites import``: an invite list read from a file or stdin, added to an invite-only campaign in
batches."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import click

from adapters_cli.context import _services
from adapters_cli.files import Columns, FileRefused, Layout, TextFile, file_format
from adapters_cli.progress import Progress
from entrycore.caller import Caller

INVITES = Layout("an invite list", Columns((), others=True))  # one value a line, or the first column of a CSV
INVITE_HEADERS = {"code", "email", "value", "invite", "globaluserid", "memberid"}


@click.group()
def invites() -> None:
    """Invite lists of invite-only campaigns."""


def _invite_values(text: TextFile) -> Iterator[str]:
    """One invite per line; in CSV, the first column (a header row named code/email/value is skipped)."""
    file_format(text.name, INVITES)  # a text or CSV file: anything else is refused before a line is read
    try:
        for index, row in enumerate(csv.reader(text.lines())):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if index == 0 and row[0].strip().lower() in INVITE_HEADERS:
                continue
            yield row[0]
    except csv.Error as exc:
        raise text.refuse(f"not CSV ({exc})") from None


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
    chunk: list[str] = []
    with Progress("importing invites") as bar:
        try:
            services.invites.accepting(caller, campaign_id)  # the campaign first: its invites must be read (SCR-002)
            with TextFile.opened(file) as text:
                values = _invite_values(text)
                for value in values:
                    chunk.append(value)
                    if len(chunk) >= batch:
                        added += services.invites.add(caller, campaign_id, chunk)
                        read += len(chunk)
                        chunk = []
                        bar.report(f"{read:,} read, {added:,} added")
                if chunk:
                    added += services.invites.add(caller, campaign_id, chunk)
                    read += len(chunk)
        except FileRefused as exc:  # past the first batch only from a pipe: a regular file is checked whole first
            raise FileRefused(
                f"{exc.message}; the {read:,} invites before it were added" if read else exc.message
            ) from None
    click.echo(f"{read} invites read, {added} added to {campaign_id}")
