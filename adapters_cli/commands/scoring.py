"""``entry-service scoring upload``: scoring results of any size (SPEC SCR-001, SCR-002), streamed from a CSV or
JSONL file in batches, with progress on stderr and the upload's summary as JSON at the end."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from adapters_cli.context import _services, admin_caller
from adapters_cli.files import FileRefused, TextFile
from adapters_cli.progress import Progress, size
from adapters_cli.readers import Columns, Layout, file_format, records
from entrycore.scoring import UploadSummary
from entrywire.answers import answers


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
        seen: list[UploadSummary] = []
        with Progress("uploading") as bar:

            def progress(summary: UploadSummary) -> None:
                seen[:] = [summary]
                of = f" of {size(text.size)} ({text.read / text.size:.0%})" if text.size else ""
                read = f"{size(text.read)}{of} at {size(bar.per_second(text.read))}/s"
                bar.report(f"{summary.received:,} rows read, {summary.matched:,} matched ({read})")

            try:
                summary = services.scoring.upload(admin_caller(), campaign_id, rows, progress=progress)
            except FileRefused as exc:  # a pipe, or a file changed meanwhile: stored batches stay (Scoring.upload)
                stored = seen[0].matched if seen else 0
                what = "1 scoring record" if stored == 1 else f"{stored:,} scoring records"
                kept = f"{what} from the whole batches before it stay stored, the rows after them were not"
                kept = kept if stored else "nothing was stored"
                raise FileRefused(
                    f"{exc.message}; the upload stopped there: {kept} (audit trail: complete false) — fix the file "
                    "and upload it again: stored records are updated, never doubled"
                ) from None
    click.echo(json.dumps(answers.unstructure(summary)))
