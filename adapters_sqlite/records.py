"""The scoring records of SQLite rows (SPEC §1): what a record shows of its entry, read from the entry's own row and
tags, so a record never disagrees with its entry (SCR-001). Shared by the ScoringStore's questions and lists."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from adapters_sqlite.store import ranked
from entrycore.batches import batched
from entrycore.eligibility import MAX_RANKS
from entrycore.scoring import ScoringRecord

CHUNK = 500  # values per IN (…): under SQLite's limit of bound parameters
# What a record shows of its entry, in one parse of the document (a JSON array).
_FACTS = "json_extract(doc, '$.firstName', '$.lastName', '$.email', '$.locale', '$.codes')"
RECORD_COLUMNS = (
    f"entries.id, entries.campaign_id, entries.user_id, entries.phone, entries.score, entries.random_score,"
    f" entries.verdict, entries.blocked, {', '.join(f'entries.m{r}' for r in range(MAX_RANKS))}, {_FACTS}"
)
RECORD_OF_USER = f"SELECT {RECORD_COLUMNS} FROM entries WHERE campaign_id = ? AND user_id = ? AND score IS NOT NULL"  # noqa: S608
_TAGS_OF = "SELECT entry, tag, value FROM entry_tags INDEXED BY entry_tags_entry WHERE entry IN ({})"


def fetch(conn: sqlite3.Connection, ids: Sequence[int]) -> list[ScoringRecord]:
    """The records of ``ids``, in that order."""
    rows: dict[int, Sequence[Any]] = {}
    for chunk in batched(ids, CHUNK):
        sql = f"SELECT {RECORD_COLUMNS} FROM entries WHERE id IN ({marks(chunk)}) AND score IS NOT NULL"  # noqa: S608
        rows.update((row[0], row) for row in conn.execute(sql, tuple(chunk)))
    return records_of(conn, [rows[i] for i in ids if i in rows])  # an id gone since the order was read: left out


def marks(values: Sequence[Any]) -> str:
    """As many ``?`` as ``values``, for an IN (…)."""
    return ", ".join("?" * len(values))


def records_of(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> list[ScoringRecord]:
    """The records of rows read as RECORD_COLUMNS, with their tags (one query per CHUNK rows)."""
    tags: dict[int, dict[str, bool]] = {}
    for chunk in batched([row[0] for row in rows], CHUNK):
        for entry_id, tag, value in conn.execute(_TAGS_OF.format(marks(chunk)), tuple(chunk)):
            tags.setdefault(entry_id, {})[tag] = bool(value)
    records = []
    for row in rows:
        entry_id, campaign_id, user_id, phone, score, random_score, verdict, blocked, *rest = row
        first, last, email, locale, codes = json.loads(rest[MAX_RANKS])
        records.append(
            ScoringRecord(
                campaign_id=campaign_id,
                user_id=user_id,
                phone=phone,
                score=float(score),
                random_score=float(random_score),
                verdict=bool(verdict),
                first_name=first,
                last_name=last,
                email=email,
                locale=locale,
                markets=ranked(rest[:MAX_RANKS]),
                codes=tuple((c["code"], c.get("codeConfigId")) for c in codes or ()),
                tags=tags.get(entry_id, {}),
                blocked=bool(blocked),
            )
        )
    return records
