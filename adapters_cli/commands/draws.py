"""``entry-service draws …``: allocation draws (SPEC §12, API.md §4 "Draws"): commit, reveal, cancel, list, show,
roll, export, accept/decline batches, and ``verify`` — the check anyone can run, from files or a service's URL."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import IO, Any

import click
import httpx

from adapters_cli.context import _services, admin_caller
from adapters_cli.criteria import criteria_of, criteria_options
from adapters_cli.progress import Progress
from adapters_http.scoring_csv import neutralised
from entrycore.draws import verify_draw
from entrycore.draws.public import draw_document
from entrycore.usecases.draws import MAX_BATCH_TICKETS, DrawRequest

EXPORT_COLUMNS = ("ticket", "userId", "marketId", "rank", "status")


@click.group()
def draws() -> None:
    """Allocation draws (SPEC §12): capacity by ranked preference, in an order anyone can verify."""


def _capacity(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    capacities: dict[str, int] = {}
    for value in values:
        market, _, number = value.partition("=")
        if not market.strip() or not number.strip().isdigit():
            raise click.BadParameter(f"{value!r}: expected MARKET=N, e.g. nyc=5000")
        capacities[market.strip()] = int(number)
    return capacities


def _echo(document: Any) -> None:
    click.echo(json.dumps(document, indent=2))


@draws.command("commit")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--name", required=True, help="The draw's public name, e.g. 'Presale 1'.")
@click.option("--capacity", "capacities", multiple=True, required=True, callback=_capacity, help="MARKET=N (repeat).")
@click.option("--mechanism", type=click.Choice(["serial-dictatorship", "rank-rounds"]), default="serial-dictatorship")
@click.option("--offer-hours", type=int, default=48, show_default=True, help="How long an offer stays open (1..720).")
@click.option("--beacon-round", type=int, default=None, help="A drand round at least 10 minutes ahead.")
@click.option(
    "--beacon-in",
    "beacon_minutes",
    type=float,
    default=None,
    help="Or: the first round at least this many minutes ahead (>= 10).",
)
@criteria_options
@click.pass_context
def draws_commit(ctx: click.Context, /, campaign_id: str, **options: Any) -> None:
    """Commit a draw: snapshot the fans the criteria list (SCR-005), give each a ticket, publish the entrants, the
    rules and the commitment. Without a beacon round the order depends on the service's secret (said so). Prints
    the draw document."""
    services = _services(ctx)
    beacon_round, minutes = options.pop("beacon_round"), options.pop("beacon_minutes")
    if beacon_round is not None and minutes is not None:
        raise click.UsageError("give --beacon-round or --beacon-in, not both")
    if minutes is not None:
        chain = services.draws.chain
        beacon_round = chain.first_round_at_or_after(services.clock.now().timestamp() + minutes * 60)
    request = DrawRequest(
        name=options.pop("name"),
        criteria=criteria_of(options),
        capacities=options.pop("capacities"),
        mechanism=options.pop("mechanism"),
        offer_hours=options.pop("offer_hours"),
        beacon_round=beacon_round,
    )
    with Progress("committing") as bar:
        bar.report("taking the entrants and writing their tickets")
        draw = services.draws.commit(admin_caller(), campaign_id, request)
    _echo(draw_document(draw))


@draws.command("reveal")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--draw", "draw_id", required=True)
@click.option("--signature", default=None, help="The beacon round's signature (hex), when ENTRY_DRAND_URL is none.")
@click.pass_context
def draws_reveal(ctx: click.Context, campaign_id: str, draw_id: str, signature: str | None) -> None:
    """Reveal a draw: with its beacon round's signature (given, or fetched from ENTRY_DRAND_URL), or its secret seed;
    allocate and write the results file. Prints the draw document."""
    services = _services(ctx)
    beacon = None
    if signature is not None:
        draw = services.draws.show(campaign_id, draw_id)
        if draw.rules.beacon_round is None:
            raise click.UsageError("this draw names no beacon round: reveal it without --signature")
        beacon = (draw.rules.beacon_round, signature)
    with Progress("revealing") as bar:
        bar.report("allocating and writing the results")
        revealed = services.draws.reveal(admin_caller(), campaign_id, draw_id, beacon)
    _echo(draw_document(revealed))


@draws.command("cancel")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--draw", "draw_id", required=True)
@click.option("--reason", required=True)
@click.pass_context
def draws_cancel(ctx: click.Context, campaign_id: str, draw_id: str, reason: str) -> None:
    """Cancel a committed draw (until a minute before its beacon round). It stays listed, with the reason."""
    _echo(draw_document(_services(ctx).draws.cancel(admin_caller(), campaign_id, draw_id, reason)))


@draws.command("list")
@click.option("--campaign", "campaign_id", required=True)
@click.pass_context
def draws_list(ctx: click.Context, campaign_id: str) -> None:
    """The campaign's draws, newest first, as API.md's ``{"draws": […]}``."""
    _echo({"draws": [draw_document(d) for d in _services(ctx).draws.listed(campaign_id)]})


@draws.command("show")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--draw", "draw_id", required=True)
@click.pass_context
def draws_show(ctx: click.Context, campaign_id: str, draw_id: str) -> None:
    """One draw's document."""
    _echo(draw_document(_services(ctx).draws.show(campaign_id, draw_id)))


@draws.command("roll")
@click.pass_context
def draws_roll(ctx: click.Context) -> None:
    """What the running service does every minute by itself: reveal the draws whose beacon round has come (with
    ENTRY_DRAND_URL) and roll every expired offer over, in draw order. Prints the counts as JSON."""
    services = _services(ctx)
    revealed = services.draws.reveal_due()
    expired = 0
    with Progress("rolling") as bar:
        while done := services.draws.roll_due():
            expired += done
            bar.report(f"{expired:,} expired offers rolled over")
    click.echo(json.dumps({"revealed": revealed, "expired": expired}))


@draws.command("export")
@click.option("--campaign", "campaign_id", required=True)
@click.option("--draw", "draw_id", required=True)
@click.option("--output", "-o", type=click.File("w", encoding="utf-8", lazy=True), default="-", help="Default: stdout.")
@click.pass_context
def draws_export(ctx: click.Context, campaign_id: str, draw_id: str, output: IO[str]) -> None:
    """A revealed draw's offers as CSV for the code issuer (ticket, userId, marketId, rank, status), in draw order;
    safe to open in a spreadsheet."""
    services = _services(ctx)
    writer = csv.writer(output, lineterminator="\n")
    writer.writerow(EXPORT_COLUMNS)
    count = 0
    with Progress("exporting") as bar:
        for ticket in services.draws.export(admin_caller(), campaign_id, draw_id):
            writer.writerow(
                [ticket.ticket, neutralised(ticket.user_id), neutralised(ticket.market), ticket.rank, ticket.status]
            )
            count += 1
            if count % 10_000 == 0:
                bar.report(f"{count:,} offers written")
    output.flush()
    click.echo(f"{count} offers exported from draw {draw_id}", err=True)


def _tickets(given: tuple[str, ...], file: IO[str] | None) -> list[str]:
    tickets = list(given)
    if file is not None:
        tickets += [line.strip() for line in file if line.strip()]
    if not tickets:
        raise click.UsageError("give tickets as arguments or --file (one per line)")
    return tickets


def _respond(ctx: click.Context, campaign_id: str, draw_id: str, tickets: list[str], accept: bool) -> None:
    services = _services(ctx)
    done = refused = 0
    with Progress("accepting" if accept else "declining") as bar:
        for start in range(0, len(tickets), MAX_BATCH_TICKETS):
            batch = tickets[start : start + MAX_BATCH_TICKETS]
            for outcome in services.draws.respond_batch(admin_caller(), campaign_id, draw_id, batch, accept):
                if outcome.error is None:
                    done += 1
                else:
                    refused += 1
                    click.echo(f"{outcome.ticket}: {outcome.error.code}: {outcome.error.message}", err=True)
            bar.report(f"{start + len(batch):,} of {len(tickets):,} tickets")
    click.echo(json.dumps({"input": len(tickets), "done": done, "refused": refused}))


def _respond_command(name: str, accept: bool, summary: str) -> None:
    @draws.command(name, help=summary)
    @click.option("--campaign", "campaign_id", required=True)
    @click.option("--draw", "draw_id", required=True)
    @click.option("--file", type=click.File("r", encoding="utf-8"), default=None, help="Tickets, one per line.")
    @click.argument("tickets", nargs=-1)
    @click.pass_context
    def command(
        ctx: click.Context, campaign_id: str, draw_id: str, file: IO[str] | None, tickets: tuple[str, ...]
    ) -> None:
        _respond(ctx, campaign_id, draw_id, _tickets(tickets, file), accept=accept)


_respond_command(
    "accept",
    True,
    "Accept the offers of these tickets (e.g. from the purchase system), 1,000 a request; each on its own.",
)
_respond_command(
    "decline",
    False,
    "Decline the offers of these tickets (their units roll to the waitlist); a waitlisted ticket leaves it.",
)


@draws.command("verify")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--url", default=None, help="A service's base URL: fetch the draw's public files from it.")
@click.option("--campaign", "campaign_id", default=None)
@click.option("--draw", "draw_id", default=None)
@click.option("--commitment", default=None, help="The commitment recorded earlier (e.g. from draw.committed).")
@click.option("--allow-chain", default=None, help="Accept this beacon chain's public key (hex) besides quicknet.")
def draws_verify(
    files: tuple[Path, ...],
    *,
    url: str | None,
    campaign_id: str | None,
    draw_id: str | None,
    commitment: str | None,
    allow_chain: str | None,
) -> None:
    """Recompute a draw from its public files alone: DRAW.json ENTRANTS.jsonl [RESULTS.jsonl [ROLLS.jsonl]], or
    --url URL --campaign C --draw D. Prints OK (exit 0) or the first difference (exit 1). Needs no configuration:
    anyone can run it."""
    if url is not None:
        if files or not campaign_id or not draw_id:
            raise click.UsageError("--url needs --campaign and --draw, and no files")
        document, parts = _fetched(url, campaign_id, draw_id)
    else:
        if not 2 <= len(files) <= 4:
            raise click.UsageError("give DRAW.json ENTRANTS.jsonl [RESULTS.jsonl [ROLLS.jsonl]], or --url")
        try:
            document = json.loads(files[0].read_text(encoding="utf-8"))
        except ValueError as exc:
            raise click.ClickException(f"{files[0]}: not a JSON draw document ({exc})") from None
        parts = [path.read_bytes() for path in files[1:]]
    entrants, results, rolls = [*parts, b"", b"", b""][:3]
    with Progress("verifying") as bar:
        bar.report("recomputing the draw")
        verdict = verify_draw(
            document, entrants, results or None, rolls, commitment=commitment, allow_chain=allow_chain
        )
    click.echo(verdict.text())
    sys.exit(0 if verdict.ok else 1)


def _fetched(url: str, campaign_id: str, draw_id: str) -> tuple[Any, list[bytes]]:
    base = f"{url.rstrip('/')}/{campaign_id}/draws/{draw_id}"
    try:
        with httpx.Client(timeout=60.0, follow_redirects=True) as client:
            answer = client.get(base)
            if answer.status_code != 200:
                raise click.ClickException(f"GET {base}: HTTP {answer.status_code} {answer.text[:200]}")
            document = answer.json()
            parts = []
            for name in ("entrants", "results", "rolls"):
                got = client.get(f"{base}/{name}")
                if got.status_code == 409 and name == "results":
                    parts.append(b"")
                    continue
                if got.status_code != 200:
                    raise click.ClickException(f"GET {base}/{name}: HTTP {got.status_code}")
                parts.append(got.content)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"cannot fetch the draw from {url}: {type(exc).__name__}: {exc}") from None
    return document, parts
