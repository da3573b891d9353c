"""``entry-service eligibility`` and ``selection export``: the eligible fans of a campaign under the same criteria,
counted (SCR-004) or listed in rank order as CSV (SCR-005)."""

from __future__ import annotations

from typing import IO, Any

import click

from adapters_cli.context import _services, admin_caller
from adapters_cli.criteria import criteria_of, criteria_options
from adapters_cli.progress import Progress
from adapters_http import scoring_csv


@click.command("eligibility")
@click.option("--campaign", "campaign_id", required=True)
@criteria_options
@click.pass_context
def eligibility(ctx: click.Context, /, campaign_id: str, **options: Any) -> None:
    """Eligibility counts (SCR-004) as a table: totals, then each market's counts by rank."""
    counts = _services(ctx).scoring.counts(admin_caller(), campaign_id, criteria_of(options))
    totals = (counts.total, counts.verified, counts.selected, counts.available)
    click.echo("total {}  verified {}  selected {}  available {}".format(*totals))
    width = max([len("MARKET"), *(len(m.market_id) for m in counts.by_market)])
    click.echo(f"{'MARKET':<{width}}  {'RANK 0':>10} {'RANK 1':>10} {'RANK 2':>10} {'RANK 3':>10}")
    for market in counts.by_market:
        click.echo(f"{market.market_id:<{width}}  " + " ".join(f"{n:>10}" for n in market.counts))


@click.group()
def selection() -> None:
    """The ranked list of eligible fans (SCR-005)."""


@selection.command("export")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8"), default="-", help="Default: stdout.")
@criteria_options
@click.pass_context
def selection_export(ctx: click.Context, /, campaign_id: str, output: IO[str], **options: Any) -> None:
    """Stream the ranked list as CSV (safe to open in a spreadsheet: fan-typed text that could be read
    as a formula is neutralised, OWASP); progress and the count on stderr."""
    services = _services(ctx)
    written = 0
    with Progress("exporting") as bar:
        ranked = services.scoring.export(admin_caller(), campaign_id, criteria_of(options))
        # the header is line 0: ``written`` counts the fans (the encoder is the HTTP export's, same bytes)
        for written, line in enumerate(scoring_csv.lines(ranked)):
            output.write(line)
            if written and written % 10_000 == 0:
                bar.report(f"{written:,} fans written ({bar.per_second(written):,.0f} fans/s)")
    output.flush()
    click.echo(f"{written} fans exported from {campaign_id}", err=True)
