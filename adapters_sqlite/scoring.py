"""SqliteScoringStore: the ScoringStore port on the SQLite file of a SqliteEntryStore (its connections and writer).

A scoring record is part of its entry's row (migration 12): the row's ``score``, ``random_score`` and ``verdict``
(NULL score: no record), its tags in ``entry_tags``. Everything else a record shows — name, email, phone, locale,
ranked markets, codes, block — is read from the entry itself, so a record never disagrees with its entry (SCR-001,
REQ-006); the entry's write clears the record when the phone changes or is no longer confirmed (PHN-005).

The questions of SPEC §7 read indexes over the scored, unblocked rows (schema.py): the counts are one pass per rank
grouped by (market) plus one for the totals — cost grows with the records and the markets x ranks, never with how
many distinct ranked lists the fans made; the lists walk the index of their order and stop at the page.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from adapters_sqlite.columns import TAGGED as _TAGGED
from adapters_sqlite.columns import CampaignColumns, columns_of
from adapters_sqlite.database import Database
from adapters_sqlite.listing import listed_states, listing
from adapters_sqlite.records import CHUNK, RECORD_COLUMNS, RECORD_OF_USER, fetch, marks, records_of
from adapters_sqlite.store import ranked
from entrycore.batches import batched
from entrycore.eligibility import (
    EligibilityCounts,
    EligibilityCriteria,
    counts_of_ranks,
    sort_key,
)
from entrycore.scoring import INSERTED, NO_CONFIRMED_ENTRY, UPDATED, ScoreRow, ScoringRecord

_STREAM_BATCH = 1_000
# Upload rows per write transaction. Each scored row dirties ~17 pages of the indexes a score feeds (measured at 1M
# entries, rows in random order: 500 rows wrote 8,400 WAL pages), so the writer is held ~50-350 ms per 500 rows;
# 5,000 held it 1.7-3 s, and fans' writes waited for it (p99 3.7 s measured beside an upload, 0.3-0.4 s at 500).
_WRITE_ROWS = 500

_HOLDERS = (
    "SELECT phone, id, score IS NOT NULL, random_score FROM entries INDEXED BY entries_confirmed_phone"
    " WHERE campaign_id = ? AND phone IN ({}) AND phone_confirmed = 1"
)  # INDEXED BY: with hundreds of phones in the IN list the planner would scan the campaign instead
_SCORE = "UPDATE entries SET score = ?, random_score = ?, verdict = ? WHERE id = ?"
_SET_TAG = (
    "INSERT INTO entry_tags (campaign_id, tag, entry, value) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (campaign_id, tag, entry) DO UPDATE SET value = excluded.value"
)
_BY = {  # SCR-006's ``by``: the records (scored entries) of a phone or a user id
    "phone": "SELECT id FROM entries INDEXED BY entries_confirmed_phone"
    " WHERE campaign_id = ? AND phone = ? AND phone_confirmed = 1 AND score IS NOT NULL",
    "userId": "SELECT id FROM entries WHERE campaign_id = ? AND user_id = ? AND score IS NOT NULL",
}
_FLIPPED = "UPDATE entries SET verdict = 0 WHERE campaign_id = ? AND score IS NOT NULL AND verdict = 1 AND id"
_FLIP = {  # SCR-006: exclude = the records carrying the tag, include = those not carrying it
    "exclude": f"{_FLIPPED} IN ({_TAGGED})",
    "include": f"{_FLIPPED} NOT IN ({_TAGGED})",
}
_FORGET = (
    "UPDATE entries SET score = NULL, random_score = NULL, verdict = NULL"
    " WHERE user_id = ? AND (? IS NULL OR campaign_id = ?) AND score IS NOT NULL RETURNING id"
)
_DROP_TAGS = "DELETE FROM entry_tags WHERE entry = ?"
_OF_USERS = "SELECT count(*) FROM entries WHERE campaign_id = ? AND user_id IN ({}) AND score IS NOT NULL"


class SqliteScoringStore:
    """ScoringStore on ``database`` (a SqliteEntryStore's ``database``: same file, connections and writer)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._columns = columns_of(database)

    # writes

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        """SCR-001 (``entrycore.scoring.merge``): the row's score, its verdict (default true), its random score or
        else the stored one or else the drawn one, its tags merged into the stored ones."""
        if len(rows) != len(random_scores):
            raise ValueError("one random score per row")
        outcomes: list[str] = []
        # short transactions: fans' writes go between (OPS-005)
        for some, their_scores in zip(batched(rows, _WRITE_ROWS), batched(random_scores, _WRITE_ROWS), strict=True):
            outcomes += self._upsert(campaign_id, some, their_scores)
        return outcomes

    def _upsert(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        """``upsert_scores`` of a few rows, in one transaction."""
        phones = sorted({row.phone for row in rows})

        def upsert(conn: sqlite3.Connection) -> list[str]:
            holders: dict[str, list[Any]] = {
                phone: [entry_id, bool(scored), stored]
                for chunk in batched(phones, CHUNK)
                for phone, entry_id, scored, stored in conn.execute(
                    _HOLDERS.format(marks(chunk)), (campaign_id, *chunk)
                )
            }
            outcomes, scores, tags = [], [], []
            for row, drawn in zip(rows, random_scores, strict=True):
                holder = holders.get(row.phone)
                if holder is None:
                    outcomes.append(NO_CONFIRMED_ENTRY)
                    continue
                entry_id, scored, stored = holder
                random_score = row.random_score if row.random_score is not None else stored if scored else drawn
                verdict = True if row.verdict is None else row.verdict
                scores.append((row.score, random_score, int(verdict), entry_id))
                tags += [(campaign_id, tag, entry_id, int(value)) for tag, value in row.tags.items()]
                outcomes.append(UPDATED if scored else INSERTED)
                holder[1:] = [True, random_score]  # a later row of the same phone updates this record
            conn.executemany(_SCORE, scores)
            conn.executemany(_SET_TAG, tags)
            return outcomes

        return self._db.write(upsert)

    def copy_entries(self, campaign_id: str, user_ids: Sequence[str]) -> int:
        """Nothing to copy: a record reads its entry's facts from the entry's own row. Counts the records."""
        users = sorted(set(user_ids))
        with self._db.reading() as conn:
            return sum(
                int(conn.execute(_OF_USERS.format(marks(chunk)), (campaign_id, *chunk)).fetchone()[0])
                for chunk in batched(users, CHUNK)
            )

    def tag(self, campaign_id: str, tag: str, by: str, values: Sequence[str]) -> int:
        select = _BY[by]

        def set_tag(conn: sqlite3.Connection) -> int:
            tagged = 0
            for value in dict.fromkeys(values):
                for (entry_id,) in conn.execute(select, (campaign_id, value)).fetchall():
                    conn.execute(_SET_TAG, (campaign_id, tag, entry_id, 1))
                    tagged += 1
            return tagged

        return self._db.write(set_tag)

    def flip_verdicts(self, campaign_id: str, tag: str, mode: str) -> int:
        sql = _FLIP[mode]
        return self._db.write(lambda conn: int(conn.execute(sql, (campaign_id, campaign_id, tag)).rowcount))

    def delete_records(self, user_id: str, campaign_id: str | None = None) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            ids = [entry_id for (entry_id,) in conn.execute(_FORGET, (user_id, campaign_id, campaign_id)).fetchall()]
            conn.executemany(_DROP_TAGS, [(entry_id,) for entry_id in ids])
            return len(ids)

        return self._db.write(delete)

    # reads

    def scoring_record(self, campaign_id: str, user_id: str) -> ScoringRecord | None:
        with self._db.reading() as conn:
            row = conn.execute(RECORD_OF_USER, (campaign_id, user_id)).fetchone()
            return None if row is None else records_of(conn, [row])[0]

    def eligibility_counts(
        self, campaign_id: str, criteria: EligibilityCriteria, markets: Sequence[str]
    ) -> EligibilityCounts:
        with self._columns.of(campaign_id) as (conn, copy):
            matching = copy.matching(conn, campaign_id, criteria)
            states, ranks = copy.eligibility_groups(matching, copy.listed(matching, listed_states(criteria)))
        return counts_of_ranks({(state >= 2, bool(state & 1)): n for state, n in states.items()}, ranks, markets)

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        with self._columns.of(campaign_id) as (conn, copy):
            listed = _listed(conn, copy, campaign_id, criteria)
            total = int(listed.sum())
            if _in_python(criteria):  # ranked in the copy, each run of equal keys ordered by user id here
                ids, runs = copy.ordered(listed, criteria)
                if offset >= ids.size:
                    return [], total
                first = int(runs[np.searchsorted(runs, offset, side="right") - 1])
                after = np.searchsorted(runs, offset + limit, side="left")
                last = int(runs[after]) if after < runs.size else ids.size
                records = _sorted(fetch(conn, ids[first:last].tolist()), criteria)
                return records[offset - first : offset - first + limit], total
            sql, params = listing(campaign_id, criteria)
            rows = conn.execute(f"{sql} LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
            return records_of(conn, rows), total

    def entrants(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[tuple[str, tuple[str, ...]]]:
        """The list's fans as ``(user id, ranked markets)``, in no particular order: a draw's snapshot (DRW-001) of a
        million records without building a million records (their names, emails and tags are not needed)."""
        if _in_python(criteria):
            with self._columns.of(campaign_id) as (conn, copy):
                ids, _ = copy.ordered(_listed(conn, copy, campaign_id, criteria), criteria)
            for chunk in batched(ids.tolist(), CHUNK):
                with self._db.reading() as conn:
                    yield from _lean(conn.execute(_LEAN_OF.format(marks(chunk)), tuple(chunk)).fetchall())
            return
        sql, params = listing(campaign_id, criteria)
        lean = sql.replace(f"SELECT {RECORD_COLUMNS} FROM", f"SELECT {_LEAN} FROM", 1)
        with self._db.reading() as conn:
            cursor = conn.execute(lean, params)
            try:
                while rows := cursor.fetchmany(_STREAM_BATCH):
                    yield from _lean(rows)
            finally:
                cursor.close()

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        if _in_python(criteria):
            with self._columns.of(campaign_id) as (conn, copy):
                ids, runs = copy.ordered(_listed(conn, copy, campaign_id, criteria), criteria)
            # Batches of whole runs of equal keys, each ordered by user id here.
            starts = runs[np.searchsorted(runs, np.arange(0, ids.size, _STREAM_BATCH), side="right") - 1]
            bounds = [*np.unique(starts).tolist(), ids.size]
            for first, last in itertools.pairwise(bounds):
                with self._db.reading() as conn:
                    yield from _sorted(fetch(conn, ids[first:last].tolist()), criteria)
            return
        sql, params = listing(campaign_id, criteria)
        with self._db.reading() as conn:
            cursor = conn.execute(sql, params)
            try:
                while rows := cursor.fetchmany(_STREAM_BATCH):
                    yield from records_of(self._db.connection(), rows)
            finally:
                cursor.close()


_LEAN = "entries.user_id, entries.m0, entries.m1, entries.m2, entries.m3"
_LEAN_OF = f"SELECT {_LEAN} FROM entries WHERE id IN ({{}}) AND score IS NOT NULL"  # noqa: S608 - constant


def _lean(rows: Sequence[Sequence[Any]]) -> list[tuple[str, tuple[str, ...]]]:
    return [(row[0], ranked(row[1:])) for row in rows]


def _sorted(records: list[ScoringRecord], criteria: EligibilityCriteria) -> list[ScoringRecord]:
    """SCR-005's order, user id included (entrycore.eligibility.sort_key)."""
    return sorted(records, key=lambda record: sort_key(record.candidate(), criteria))


def _listed(
    conn: sqlite3.Connection, copy: CampaignColumns, campaign_id: str, criteria: EligibilityCriteria
) -> npt.NDArray[np.bool_]:
    """The copy's entries the list returns under ``criteria`` (SCR-003, SCR-005)."""
    return copy.listed(copy.matching(conn, campaign_id, criteria), listed_states(criteria))


def _in_python(criteria: EligibilityCriteria) -> bool:
    """Whether the list is ranked in the columnar copy: with a market criterion, or in preference order (no index
    holds those orders)."""
    return bool(criteria.market_ids) or criteria.order_by_preference
