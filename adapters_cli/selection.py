"""CLI for work too big for HTTP (SPEC §7, OPS-002): scoring uploads of any size, eligibility counts, the ranked
list exported as CSV, and the audit trail. Long jobs show progress on stderr and a summary at the end."""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import click

from adapters_cli.context import _services
from adapters_cli.files import Columns, FileRefused, Layout, TextFile, file_format, records
from adapters_cli.progress import Progress, size
from adapters_http import scoring_csv
from entrycore.caller import Caller
from entrycore.eligibility import Criterion, EligibilityCriteria, criteria
from entrycore.errors import EntryError
from entrycore.scoring import UploadSummary, tag_name_problem
from entrycore.selection import BlockItem, CodeAssignment
from entrycore.timefmt import parse_iso


def _tag_name(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A ``--tag``/``--exclude-tag`` name bounded as the HTTP criteria bound it (signals allowed, SIG-001)."""
    if value is None:
        return None
    problem = tag_name_problem(value, signals=True)
    if problem is not None:
        raise click.BadParameter(problem)
    return value.strip()


def admin_caller() -> Caller:
    """The CLI acts as an administrator; the audit trail names the operating-system user."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):
        who = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return Caller(user_id=f"cli:{who}", is_supreme=True)


def _markets(_ctx: click.Context, _param: click.Parameter, value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(m.strip() for m in value.split(",") if m.strip()))


def _option(criterion: Criterion) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    flag, name, summary = f"--{criterion.flag}", criterion.field, criterion.summary
    if criterion.kind == "flag":
        return click.option(flag, name, is_flag=True, help=summary)
    if criterion.kind == "number":
        return click.option(flag, name, type=float, default=None, help=summary)
    if criterion.kind == "tag":
        return click.option(flag, name, default=None, callback=_tag_name, help=summary)
    return click.option(flag, name, default="", callback=_markets, help=summary)


def criteria_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """SCR-003's criteria and SCR-005's orders as options, one per criterion entrycore declares (the query
    parameters of API.md §4, as flags)."""
    for criterion in reversed(criteria()):
        command = _option(criterion)(command)
    return command


def criteria_of(options: dict[str, Any]) -> EligibilityCriteria:
    """The criteria among a command's options (which it pops)."""
    return EligibilityCriteria(**{c.field: options.pop(c.field) for c in criteria()})


def _csv_value(column: str, text: str) -> Any:
    """A CSV cell as its JSON value would be (a value that does not read is passed on: the row is rejected)."""
    value = text.strip()
    if column in ("score", "randomScore"):
        if not value:
            return None
        try:
            return float(value)
        except ValueError:
            return value
    if column == "verdict":
        return {"true": True, "false": False, "": None}.get(value.lower(), value)
    if column == "tags":
        try:
            return json.loads(value) if value else {}
        except ValueError:
            return value
    return text


UPLOAD = Layout(
    "a scoring upload",
    Columns(("phone", "score"), ("verdict", "randomScore", "tags")),
    Columns(("phone", "score"), others=True),  # a JSONL line is read as the HTTP route reads a record
)


def upload_rows(text: TextFile) -> Iterator[Any]:
    """The rows of a ``.jsonl`` file (one JSON object per line) or a CSV file with a header row
    (``phone,score[,verdict][,randomScore][,tags]``; ``tags`` a JSON object), as the use case reads them; a line
    that is not JSON is passed on as is: the upload rejects it with its index. The header (or first line) is
    checked before this returns."""
    rows = records(text, UPLOAD)
    if file_format(text.name, UPLOAD) == "jsonl":
        return (row for _, row in rows)
    return ({k: v for k, v in ((k, _csv_value(k, c)) for k, c in row.items()) if v is not None} for _, row in rows)


@click.group()
def scoring() -> None:
    """Scoring records: uploads of scoring results (SPEC SCR-001)."""


@scoring.command("upload")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_id", required=True)
@click.pass_context
def scoring_upload(ctx: click.Context, file: Path, campaign_id: str) -> None:
    """Upload FILE (.csv with a header row phone,score[,verdict][,randomScore][,tags], or .jsonl), streamed
    in batches of 5,000: any size. Prints the SCR-002 summary as JSON."""
    services = _services(ctx)
    with TextFile.opened(file) as text:
        rows = upload_rows(text)  # the whole file and its header checked: nothing is stored before
        bar = Progress("uploading")
        seen: list[UploadSummary] = []

        def progress(summary: UploadSummary) -> None:
            seen[:] = [summary]
            of = f" of {size(text.size)} ({text.read / text.size:.0%})" if text.size else ""
            read = f"{size(text.read)}{of} at {size(bar.per_second(text.read))}/s"
            bar.report(f"{summary.received:,} rows read, {summary.matched:,} matched ({read})")

        try:
            summary = services.scoring.upload(admin_caller(), campaign_id, rows, progress=progress)
        except EntryError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        except FileRefused as exc:  # a pipe, or a file changed meanwhile: stored batches stay (Scoring.upload)
            stored = seen[0].matched if seen else 0
            what = "1 scoring record" if stored == 1 else f"{stored:,} scoring records"
            kept = f"{what} from the whole batches before it stay stored, the rows after them were not"
            kept = kept if stored else "nothing was stored"
            raise FileRefused(
                f"{exc.message}; the upload stopped there: {kept} (audit trail: complete false) — fix the file "
                "and upload it again: stored records are updated, never doubled"
            ) from None
        finally:
            bar.close()
    click.echo(json.dumps(summary.to_document()))


@click.command("eligibility")
@click.option("--campaign", "campaign_id", required=True)
@criteria_options
@click.pass_context
def eligibility(ctx: click.Context, /, campaign_id: str, **options: Any) -> None:
    """Eligibility counts (SCR-004) as a table: totals, then each market's counts by rank."""
    services = _services(ctx)
    try:
        counts = services.scoring.counts(admin_caller(), campaign_id, criteria_of(options))
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
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
    bar = Progress("exporting")
    try:
        ranked = services.scoring.export(admin_caller(), campaign_id, criteria_of(options))
        # the header is line 0: ``written`` counts the fans (the encoder is the HTTP export's, same bytes)
        for written, line in enumerate(scoring_csv.lines(ranked)):
            output.write(line)
            if written and written % 10_000 == 0:
                bar.report(f"{written:,} fans written ({bar.per_second(written):,.0f} fans/s)")
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        bar.close()
    output.flush()
    click.echo(f"{written} fans exported from {campaign_id}", err=True)


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
    bar = Progress("moving entries")  # its first line comes with the first chunk moved: after the checks

    def progress(done: int, total: int) -> None:
        share = f" ({done / total:.0%})" if total else ""
        bar.report(f"{done:,} of {total:,} entries{share} at {bar.per_second(done):,.0f} entries/s")

    try:
        report = services.transfers.transfer(admin_caller(), campaign_id, source, target, progress=progress)
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    finally:
        bar.close()
    click.echo(json.dumps({"modified": report.entries, "scoring": report.scoring}))


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
    services = _services(ctx)
    try:
        records = services.audit.records(campaign_id, start, limit)
    except EntryError as exc:
        raise click.ClickException(f"{exc.code}: {exc.message}") from None
    click.echo("AT\tACTOR\tACTION\tCAMPAIGN\tPARAMETERS\tCOUNTS")
    for record in records:
        doc = record.to_document()
        cells = (doc["at"], doc["actor"], doc["action"], doc["campaignId"] or "-")
        line = [*(" ".join(str(c).split()) for c in cells), _compact(doc["parameters"]), _compact(doc["counts"])]
        click.echo("\t".join(line))


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


CODES = Layout(
    "a codes file",
    Columns(("userId", "code", "start"), ("codeConfigId", "end", "revealCode")),
    Columns(("userId", "code"), ("codeConfigId", "date", "start", "end", "revealCode")),
    every_line=True,  # the items of POST /{c}/entries/codes: strict, as the route reads them
)
BLOCKS = Layout(
    "a blocking file",
    Columns(("userId", "isBlocked"), ("date",)),
    Columns(("userId", "isBlocked"), ("date",)),
    every_line=True,
)


def _file_items(text: TextFile, layout: Layout) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, item)`` of a ``.jsonl`` file (one JSON object per line) or of a CSV file with a header row;
    ``where`` names the line and the item for messages."""
    jsonl = file_format(text.name, layout) == "jsonl"
    for number, (line, item) in enumerate(records(text, layout), start=1):
        where = f"{text.name}: line {line}: item {number}"
        yield where, item if jsonl else {k: v.strip() for k, v in item.items()}


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_iso(value)
    except (TypeError, ValueError):
        raise FileRefused(f"{where}: {value!r} is not an ISO-8601 time with Z or an offset") from None


def _code_items(text: TextFile) -> Iterator[CodeAssignment]:
    for where, item in _file_items(text, CODES):
        nested = item.get("date")
        dates: dict[str, Any] = nested if isinstance(nested, dict) else item
        user, code, start = item.get("userId"), item.get("code"), _time(dates.get("start"), f"{where}: start")
        if not isinstance(user, str) or not user or not isinstance(code, str) or not code or start is None:
            raise FileRefused(f"{where}: userId, code and start are required")
        end, reveal = _time(dates.get("end"), f"{where}: end"), _time(dates.get("revealCode"), f"{where}: revealCode")
        config = item.get("codeConfigId") or None
        if config is not None and not isinstance(config, str):
            raise FileRefused(f"{where}: codeConfigId must be text")
        yield CodeAssignment(user, code, config, start, end, reveal)


def _block_items(text: TextFile) -> Iterator[BlockItem]:
    for where, item in _file_items(text, BLOCKS):
        user, blocked = item.get("userId"), item.get("isBlocked")
        if isinstance(blocked, str):
            blocked = {"true": True, "false": False}.get(blocked.lower(), blocked)
        if not isinstance(user, str) or not user or not isinstance(blocked, bool):
            raise FileRefused(f"{where}: userId and isBlocked (true/false) are required")
        yield BlockItem(user, blocked, _time(item.get("date"), f"{where}: date"))


def _in_batches(items: Iterator[Any], size: int = 1_000) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _apply_file(
    ctx: click.Context, file: Path, campaign_id: str, read: Callable[[TextFile], Iterator[Any]], apply: str
) -> None:
    """Checks every item of the file before the first batch is applied (a regular file is read twice: a bad
    item anywhere refuses the whole file, as one bad item refuses the HTTP route's batch); then applies them
    1,000 at a time. A pipe is read once: a bad item there stops it after the batches before it."""
    services = _services(ctx)
    totals: dict[str, int] = {}
    unmatched: list[str] = []
    with TextFile.opened(file) as text:
        count = sum(1 for _ in read(text)) if text.regular else 0
        text.rewind()
        bar = Progress("applying")
        try:
            for batch in _in_batches(read(text)):
                answer = getattr(services.selection, apply)(admin_caller(), campaign_id, batch)
                for key, value in answer.to_document().items():
                    if isinstance(value, list):
                        unmatched += value
                    else:
                        totals[key] = totals.get(key, 0) + value
                done = totals.get("input", 0)
                bar.report(f"{done:,} of {count:,} items ({done / count:.0%})" if count else f"{done:,} items")
        except EntryError as exc:
            raise click.ClickException(f"{exc.code}: {exc.message}") from None
        except FileRefused as exc:  # only a pipe gets here: a regular file was checked whole
            applied = totals.get("input", 0)
            raise FileRefused(f"{exc.message}; the {applied:,} items before it were applied") from None
        finally:
            bar.close()
    click.echo(json.dumps({**totals, "unmatched": unmatched}))


@click.group()
def codes() -> None:
    """Presale codes of entries (SPEC SCR-007)."""


@codes.command("assign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_id", required=True)
@click.pass_context
def codes_assign(ctx: click.Context, file: Path, campaign_id: str) -> None:
    """Assign the codes of FILE (.csv with a header row userId,code,codeConfigId,start,end,revealCode, or .jsonl
    of API.md items), 1,000 at a time; the same code again is a no-op. Prints the totals as JSON."""
    _apply_file(ctx, file, campaign_id, _code_items, "assign_codes")


@click.group()
def verdicts() -> None:
    """Blocking and unblocking entries (SPEC SCR-008)."""


@verdicts.command("apply")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--campaign", "campaign_id", required=True)
@click.pass_context
def verdicts_apply(ctx: click.Context, file: Path, campaign_id: str) -> None:
    """Block or unblock the entries of FILE (.csv with a header row userId,isBlocked,date, or .jsonl of API.md
    items), 1,000 at a time. Prints the totals as JSON."""
    _apply_file(ctx, file, campaign_id, _block_items, "set_blocks")
