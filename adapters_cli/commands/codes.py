"""``entry-service codes assign`` and ``verdicts apply``: presale codes (SCR-007) and blocking (SCR-008) read from a
CSV or JSONL file, every item checked, then applied 1,000 at a time; the totals as JSON at the end."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from adapters_cli.context import _services, admin_caller
from adapters_cli.files import FileRefused, TextFile
from adapters_cli.progress import Progress
from adapters_cli.readers import Columns, Layout, in_batches, items
from entrycore.selection import BlockItem, CodeAssignment
from entrycore.timefmt import parse_iso
from entrywire.answers import answers

CODES = Layout(
    "a codes file",
    Columns(("userId", "code", "start"), ("codeConfigId", "end", "revealCode")),
    Columns(("userId", "code"), ("codeConfigId", "date", "start", "end", "revealCode")),
    every_line=True,  # the items of POST /{c}/entries/codes: strict, as the route reads them
)
BATCH = 1_000  # items a use case call applies, as one HTTP request may carry
BLOCKS = Layout(
    "a blocking file",
    Columns(("userId", "isBlocked"), ("date",)),
    Columns(("userId", "isBlocked"), ("date",)),
    every_line=True,
)


def _time(value: Any, where: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return parse_iso(value)
    except (TypeError, ValueError):
        raise FileRefused(f"{where}: {value!r} is not an ISO-8601 time with Z or an offset") from None


def _code_items(text: TextFile) -> Iterator[CodeAssignment]:
    for where, item in items(text, CODES):
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
    for where, item in items(text, BLOCKS):
        user, blocked = item.get("userId"), item.get("isBlocked")
        if isinstance(blocked, str):
            blocked = {"true": True, "false": False}.get(blocked.lower(), blocked)
        if not isinstance(user, str) or not user or not isinstance(blocked, bool):
            raise FileRefused(f"{where}: userId and isBlocked (true/false) are required")
        yield BlockItem(user, blocked, _time(item.get("date"), f"{where}: date"))


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
        with Progress("applying") as bar:
            try:
                for batch in in_batches(read(text), BATCH):
                    answer = getattr(services.selection, apply)(admin_caller(), campaign_id, batch)
                    for key, value in answers.unstructure(answer).items():
                        if isinstance(value, list):
                            unmatched += value
                        else:
                            totals[key] = totals.get(key, 0) + value
                    done = totals.get("input", 0)
                    bar.report(f"{done:,} of {count:,} items ({done / count:.0%})" if count else f"{done:,} items")
            except FileRefused as exc:  # only a pipe gets here: a regular file was checked whole
                applied = totals.get("input", 0)
                raise FileRefused(f"{exc.message}; the {applied:,} items before it were applied") from None
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
