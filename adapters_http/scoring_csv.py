"""The ranked list as CSV (SPEC SCR-005, API.md §4): the one encoder of ``entry-service selection export`` and of
``GET /{campaignId}/entries/scoring`` with ``Accept: text/csv``, so that both write the same bytes for the same
records — the columns, the rank numbering, the cell formats and the spreadsheet safety (OWASP CSV injection:
fan-typed text that a spreadsheet could evaluate as a formula gets a leading ``'``).

Here rather than in entrycore: it is a file format of the service's outside (like the JSON the routes write),
not a selection rule. Here rather than in adapters_cli or adapters_files: the HTTP adapter may import neither
(import-linter keeps the adapters independent; the CLI, the composition's top, already imports adapters_http).
It imports only the standard library and entrycore, so the CLI pulls in no Flask through it.

Streaming: every function reads its records one at a time and holds one line (``lines``) or one chunk of
``CHUNK_ROWS`` lines (``chunks``) at a time, never the list.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import Any

from entrycore.scoring import ScoringRecord

CONTENT_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP CSV injection: cells a spreadsheet may evaluate
COLUMNS = (
    "rank",
    "userId",
    "firstName",
    "lastName",
    "email",
    "phone",
    "score",
    "randomScore",
    "verdict",
    "locale",
    "marketIds",
    "codes",
    "tags",
)
CHUNK_ROWS = 500  # lines per chunk of an HTTP answer: ~100 KB, few enough writes, little held at once


def neutralised(text: str | None) -> str:
    """Fan-typed text as a spreadsheet cannot evaluate it (OWASP CSV injection: a leading ``'``)."""
    if not text:
        return ""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def row(rank: int, record: ScoringRecord) -> list[Any]:
    """The cells of ``record``, ``rank`` (1-based) in the list."""
    return [
        rank,
        neutralised(record.user_id),
        neutralised(record.first_name),
        neutralised(record.last_name),
        neutralised(record.email),
        record.phone,  # normalised E.164 (PHN-006): a number to a spreadsheet, never a formula
        record.score,
        record.random_score,
        "true" if record.verdict else "false",
        record.locale or "",
        neutralised("|".join(record.markets)),
        neutralised("|".join(code for code, _ in record.codes)),
        json.dumps(dict(record.tags), separators=(",", ":"), sort_keys=True),
    ]


class _Line:
    """A csv writer's file that keeps nothing: ``writerow`` returns the line it would have written."""

    def write(self, text: str) -> str:
        return text


def lines(records: Iterable[ScoringRecord]) -> Iterator[str]:
    """The header line, then one line per record in the order given, ranked from 1 (``\\n`` line ends)."""
    writer = csv.writer(_Line(), lineterminator="\n")
    yield writer.writerow(COLUMNS)
    for rank, record in enumerate(records, start=1):
        yield writer.writerow(row(rank, record))


def chunks(records: Iterable[ScoringRecord], rows: int | None = None) -> Iterator[bytes]:
    """``lines`` as UTF-8, ``rows`` (default ``CHUNK_ROWS``) lines a chunk; the first holds the header, so there is
    always one."""
    rows = rows or CHUNK_ROWS
    batch: list[str] = []
    for line in lines(records):
        batch.append(line)
        if len(batch) >= rows:
            yield "".join(batch).encode("utf-8")
            batch.clear()
    if batch:
        yield "".join(batch).encode("utf-8")
