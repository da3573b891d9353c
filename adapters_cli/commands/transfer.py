"""``entry-service transfer``: every entry and scoring record of a campaign moved from one market to another
(SPEC MKT-003), any number of them, with progress on stderr and the counts as JSON at the end."""

from __future__ import annotations

import json

import click

from adapters_cli.context import _services, admin_caller
from adapters_cli.progress import Progress


@click.command("transfer")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--from", "source", required=True, help="The market the entries leave.")
@click.option("--to", "target", required=True, help="The market they move to.")
@click.pass_context
def transfer(ctx: click.Context, campaign_id: str, source: str, target: str) -> None:
    """Move every entry and scoring record of the campaign from one market to another (MKT-003), with an
    entry.transferred event per moved entry. Running it again changes nothing. Progress on stderr; prints
    {"modified": entries, "scoring": records} as JSON."""
    services = _services(ctx)
    # its first line comes with the first chunk moved: after the checks
    with Progress("moving entries") as bar:

        def progress(done: int, total: int) -> None:
            share = f" ({done / total:.0%})" if total else ""
            bar.report(f"{done:,} of {total:,} entries{share} at {bar.per_second(done):,.0f} entries/s")

        report = services.transfers.transfer(admin_caller(), campaign_id, source, target, progress=progress)
    click.echo(json.dumps({"modified": report.entries, "scoring": report.scoring}))
