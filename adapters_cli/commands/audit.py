"""``entry-service audit list``: the audit trail of admin operations (SPEC OPS-002), newest first, one operation a
tab-separated line."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from adapters_cli.context import _services
from entrycore.timefmt import parse_iso
from entrywire.documents import documents


@click.group()
def audit() -> None:
    """The audit trail of admin operations (SPEC OPS-002)."""


@audit.command("list")
@click.option("--campaign", "campaign_id", default=None, help="Only this campaign's operations.")
@click.option("--since", default=None, help="ISO-8601 time (with Z or an offset): only operations from then.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.pass_context
def audit_list(ctx: click.Context, campaign_id: str | None, since: str | None, limit: int) -> None:
    """The newest admin operations first: when, who, what, parameters and counts."""
    start: datetime | None = None
    if since is not None:
        try:
            start = parse_iso(since)
        except ValueError:
            raise click.BadParameter("not an ISO-8601 time with Z or an offset", param_hint="--since") from None
    records = _services(ctx).audit.records(campaign_id, start, limit)
    click.echo("AT\tACTOR\tACTION\tCAMPAIGN\tPARAMETERS\tCOUNTS")
    for record in records:
        doc = documents.unstructure(record)
        cells = (doc["at"], doc["actor"], doc["action"], doc["campaignId"] or "-")
        line = [*(" ".join(str(c).split()) for c in cells), _compact(doc["parameters"]), _compact(doc["counts"])]
        click.echo("\t".join(line))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)
