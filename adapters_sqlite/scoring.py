"""SqliteScoring: the ScoringStore port on the SQLite file of a SqliteStore (its connections, its group commit).

A scoring record is part of its entry's row (migration 12): the row's ``score``, ``random_score`` and ``verdict``
(NULL score: no record), its tags in ``entry_tags``. Everything else a record shows — name, email, phone, locale,
ranked markets, codes, block — is read from the entry itself, so a record never disagrees with its entry (SCR-001,
REQ-006); the entry's write clears the record when the phone changes or is no longer confirmed (PHN-005).

The questions of SPEC §7 read indexes over the scored, unblocked rows (schema.py): the counts are one pass per rank
grouped by (market) plus one for the totals — cost grows with the records and the markets x ranks, never with how
many distinct ranked lists the fans made; the lists walk the index of their order and stop at the page.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from adapters_sqlite.database import Database
from adapters_sqlite.store import ranked
from entrycore.eligibility import (
    MAX_RANKS,
    EligibilityCounts,
    EligibilityCriteria,
    counts_of_ranks,
    listed_states,
)
from entrycore.scoring import INSERTED, NO_CONFIRMED_ENTRY, UPDATED, ScoreRow, ScoringRecord

_STREAM_BATCH = 1_000
_CHUNK = 500  # values per IN (…): under SQLite's limit of bound parameters
# Upload rows per write transaction. Each scored row dirties ~17 pages of the indexes a score feeds (measured at 1M
# entries, rows in random order: 500 rows wrote 8,400 WAL pages), so the writer is held ~50-350 ms per 500 rows;
# 5,000 held it 1.7-3 s, and fans' writes waited for it (p99 3.7 s measured beside an upload, 0.3-0.4 s at 500).
_WRITE_ROWS = 500
_RANKS = range(MAX_RANKS)
_SCORED = "entries.score IS NOT NULL AND entries.blocked = 0"  # every selection query (SCR-008: never a blocked one)

# What a record shows of its entry, in one parse of the document (a JSON array).
_FACTS = "json_extract(doc, '$.firstName', '$.lastName', '$.email', '$.locale', '$.codes')"
_RECORD_COLUMNS = (
    f"entries.id, entries.campaign_id, entries.user_id, entries.phone, entries.score, entries.random_score,"
    f" entries.verdict, entries.blocked, {', '.join(f'entries.m{r}' for r in _RANKS)}, {_FACTS}"
)
_RECORD = f"SELECT {_RECORD_COLUMNS} FROM entries WHERE campaign_id = ? AND user_id = ? AND score IS NOT NULL"  # noqa: S608
_TAGS_OF = "SELECT entry, tag, value FROM entry_tags INDEXED BY entry_tags_entry WHERE entry IN ({})"
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
_TAGGED = "SELECT entry FROM entry_tags WHERE campaign_id = ? AND tag = ? AND value = 1"
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


class SqliteScoring:
    """ScoringStore on ``database`` (a SqliteStore's ``database``: same file, connections and writer)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # writes

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        """SCR-001 (``entrycore.scoring.merge``): the row's score, its verdict (default true), its random score or
        else the stored one or else the drawn one, its tags merged into the stored ones."""
        if len(rows) != len(random_scores):
            raise ValueError("one random score per row")
        outcomes: list[str] = []
        for start in range(0, len(rows), _WRITE_ROWS):  # short transactions: fans' writes go between (OPS-005)
            end = start + _WRITE_ROWS
            outcomes += self._upsert(campaign_id, rows[start:end], random_scores[start:end])
        return outcomes

    def _upsert(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        """``upsert_scores`` of a few rows, in one transaction."""
        phones = sorted({row.phone for row in rows})

        def upsert(conn: sqlite3.Connection) -> list[str]:
            holders: dict[str, list[Any]] = {
                phone: [entry_id, bool(scored), stored]
                for chunk in _chunks(phones)
                for phone, entry_id, scored, stored in conn.execute(
                    _HOLDERS.format(_marks(chunk)), (campaign_id, *chunk)
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
                int(conn.execute(_OF_USERS.format(_marks(chunk)), (campaign_id, *chunk)).fetchone()[0])
                for chunk in _chunks(users)
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
            row = conn.execute(_RECORD, (campaign_id, user_id)).fetchone()
            return None if row is None else _records(conn, [row])[0]

    def eligibility_counts(
        self, campaign_id: str, criteria: EligibilityCriteria, markets: Sequence[str]
    ) -> EligibilityCounts:
        listed = _listed_states(criteria)
        with self._db.reading() as conn:
            if criteria.market_ids:
                groups = _counted(_subset(conn, campaign_id, criteria), listed)
            elif criteria.exclude_tag is not None and criteria.tag is None:
                # SCR-003 is additive: all the records, less those carrying the tag (cost: the tagged ones), where
                # probing every record against the tag's rows costs a look-up per record and per pass
                every = _grouped(conn, campaign_id, attrs.evolve(criteria, exclude_tag=None), listed)
                tagged = _grouped(
                    conn, campaign_id, attrs.evolve(criteria, exclude_tag=None, tag=criteria.exclude_tag), listed
                )
                groups = _less(every, tagged)
            else:
                groups = _grouped(conn, campaign_id, criteria, listed)
        states, ranks = groups
        return counts_of_ranks({(state >= 2, bool(state & 1)): n for state, n in states.items()}, ranks, markets)

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        with self._db.reading() as conn:
            if _in_python(criteria):
                ranked = _ranked_ids(conn, campaign_id, criteria)
                return _fetch(conn, ranked[offset : offset + limit]), len(ranked)
            page: list[ScoringRecord] = []
            total = 0
            for where, params, index, order in _queries(campaign_id, criteria):
                count = conn.execute(
                    f"SELECT count(*) FROM {_source(criteria, 'scored')} WHERE {where}",  # noqa: S608
                    params,
                ).fetchone()[0]
                start = max(0, offset - total)
                if len(page) < limit and start < count:
                    rows = conn.execute(
                        f"SELECT {_RECORD_COLUMNS} FROM {_source(criteria, index)} WHERE {where}"  # noqa: S608
                        f" ORDER BY {order} LIMIT ? OFFSET ?",
                        (*params, limit - len(page), start),
                    ).fetchall()
                    page.extend(_records(conn, rows))
                total += count
        return page, total

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        if _in_python(criteria):
            with self._db.reading() as conn:
                ranked = _ranked_ids(conn, campaign_id, criteria)
            for start in range(0, len(ranked), _STREAM_BATCH):
                with self._db.reading() as conn:
                    yield from _fetch(conn, ranked[start : start + _STREAM_BATCH])
            return
        for where, params, index, order in _queries(campaign_id, criteria):
            with self._db.reading() as conn:
                cursor = conn.execute(
                    f"SELECT {_RECORD_COLUMNS} FROM {_source(criteria, index)} WHERE {where} ORDER BY {order}",  # noqa: S608
                    params,
                )
                try:
                    while rows := cursor.fetchmany(_STREAM_BATCH):
                        yield from _records(self._db.connection(), rows)
                finally:
                    cursor.close()


# Counts as groups: {state: how many} and {(rank, market): how many of the listed states} (the ``state`` column is
# 2 * verdict + has codes; entrycore.eligibility.counts_of_ranks adds them up).
Groups = tuple[dict[int, int], dict[tuple[int, str], int]]


def _grouped(conn: sqlite3.Connection, campaign_id: str, criteria: EligibilityCriteria, listed: list[int]) -> Groups:
    """The counts in the datastore: one pass for the totals by state, one per rank by market (no market criterion:
    those take _subset)."""
    where, params = _where(campaign_id, criteria)
    totals = f"SELECT entries.state, count(*) FROM {_source(criteria, 'scored')} WHERE {where} GROUP BY 1"  # noqa: S608
    states = {int(state): int(count) for state, count in conn.execute(totals, params)}
    ranks: dict[tuple[int, str], int] = {}
    for rank in _RANKS:
        column = f"entries.m{rank}"
        by_market = (
            f"SELECT {column}, count(*) FROM {_source(criteria, f'scored_rank{rank}')}"  # noqa: S608
            f" WHERE {where} AND {column} IS NOT NULL AND entries.state IN {_in(listed)} GROUP BY {column}"
        )
        ranks.update(((rank, market), int(count)) for market, count in conn.execute(by_market, params))
    return states, ranks


def _less(every: Groups, less: Groups) -> Groups:
    return (
        {key: count - less[0].get(key, 0) for key, count in every[0].items()},
        {key: count - less[1].get(key, 0) for key, count in every[1].items()},
    )


def _counted(rows: Sequence[Sequence[Any]], listed: list[int]) -> Groups:
    """The groups of _subset's rows, added up here."""
    states: dict[int, int] = {}
    ranks: dict[tuple[int, str], int] = {}
    chosen = set(listed)
    for row in rows:
        state = row[1]
        states[state] = states.get(state, 0) + 1
        if state in chosen:
            for rank, market in enumerate(row[5:]):
                if market is not None:
                    ranks[(rank, market)] = ranks.get((rank, market), 0) + 1
    return states, ranks


_SUBSET_COLUMNS = "entries.id, entries.state, entries.score, entries.random_score, entries.user_id, " + ", ".join(
    f"entries.m{rank}" for rank in _RANKS
)


def _subset(conn: sqlite3.Connection, campaign_id: str, criteria: EligibilityCriteria) -> list[tuple[Any, ...]]:
    """The records matching the criteria (a market criterion, or preference order), as rows of _SUBSET_COLUMNS: read
    from the covering index of every rank's market (one index entry per record, no row look-up); with a tag, from the
    tag's records, with the wanted markets' ids from the per-rank indexes (cost: the tagged records)."""
    if criteria.tag is None:  # the covering index of every rank's market: no row look-up
        where, params = _where(campaign_id, criteria)
        sql = f"SELECT {_SUBSET_COLUMNS} FROM entries INDEXED BY scored_markets WHERE {where}"  # noqa: S608
        return conn.execute(sql, params).fetchall()
    where, params = _where(campaign_id, criteria, markets=False)  # the tag's records (cost: the tagged ones)
    wanted = list(dict.fromkeys(criteria.market_ids))
    if wanted:
        ranks = range(1) if criteria.single_market_selection else _RANKS
        marks = _marks(wanted)
        ids = " UNION ALL ".join(
            f"SELECT id FROM entries INDEXED BY entries_rank{r} WHERE campaign_id = ? AND m{r} IN ({marks})"  # noqa: S608
            for r in ranks
        )
        where += f" AND entries.id IN ({ids})"
        params += [value for _ in ranks for value in (campaign_id, *wanted)]
    sql = f"SELECT {_SUBSET_COLUMNS} FROM {_source(criteria, 'scored')} WHERE {where}"  # noqa: S608
    return conn.execute(sql, params).fetchall()


def _in_python(criteria: EligibilityCriteria) -> bool:
    """Whether the list is ranked here from _subset's rows: with a market criterion, or in preference order."""
    return bool(criteria.market_ids) or criteria.order_by_preference


def _ranked_ids(conn: sqlite3.Connection, campaign_id: str, criteria: EligibilityCriteria) -> list[int]:
    """The ids of the list in its order (SCR-005, entrycore.eligibility.sort_key), from _subset's rows."""
    listed = set(_listed_states(criteria))
    rows = [row for row in _subset(conn, campaign_id, criteria) if row[1] in listed]
    wanted = set(criteria.market_ids)

    def best(row: Sequence[Any]) -> int:
        return next((r for r, m in enumerate(row[5:]) if m is not None and (not wanted or m in wanted)), MAX_RANKS)

    if criteria.random_selection:
        rows.sort(key=lambda row: (row[3], row[4]))
    elif criteria.order_by_preference:
        rows.sort(key=lambda row: (best(row), -row[2], row[4]))
    else:
        rows.sort(key=lambda row: (-row[2], row[4]))
    return [row[0] for row in rows]


def _fetch(conn: sqlite3.Connection, ids: Sequence[int]) -> list[ScoringRecord]:
    """The records of ``ids``, in that order."""
    rows: dict[int, Sequence[Any]] = {}
    for chunk in _chunks(ids):
        sql = f"SELECT {_RECORD_COLUMNS} FROM entries WHERE id IN ({_marks(chunk)})"  # noqa: S608
        rows.update((row[0], row) for row in conn.execute(sql, tuple(chunk)))
    return _records(conn, [rows[i] for i in ids])


def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def _records(conn: sqlite3.Connection, rows: Sequence[Sequence[Any]]) -> list[ScoringRecord]:
    """The records of rows read as _RECORD_COLUMNS, with their tags (one query per _CHUNK rows)."""
    tags: dict[int, dict[str, bool]] = {}
    for chunk in _chunks([row[0] for row in rows]):
        for entry_id, tag, value in conn.execute(_TAGS_OF.format(_marks(chunk)), tuple(chunk)):
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


def _listed_states(criteria: EligibilityCriteria) -> list[int]:
    """The ``state`` values (2 * verdict + has codes) the list returns (SCR-005)."""
    return sorted(2 * verdict + selected for verdict, selected in listed_states(criteria))


def _in(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")"


def _source(criteria: EligibilityCriteria, index: str) -> str:
    """The FROM clause: the walk of ``index`` over the campaign's scored rows, or, with a ``tag`` criterion, the
    tag's rows then each entry by id (cost: the tagged records, not the campaign's)."""
    if criteria.tag is not None:
        return "entry_tags AS tagged CROSS JOIN entries ON entries.id = tagged.entry"
    return f"entries INDEXED BY {index}"


def _any_of(columns: Sequence[str], count: int) -> str:
    marks = _marks(["?"] * count)
    return "(" + " OR ".join(f"{column} IN ({marks})" for column in columns) + ")"


def _where(
    campaign_id: str, criteria: EligibilityCriteria, *, states: Sequence[int] | None = None, markets: bool = True
) -> tuple[str, list[Any]]:
    """SCR-003's criteria as a WHERE clause over the scored, unblocked entries."""
    parts: list[str] = ["entries.campaign_id = ?", _SCORED]
    params: list[Any] = [campaign_id]
    if states is not None:
        parts.append(f"entries.state IN {_in(states)}")
    if criteria.market_ids and markets:
        wanted = list(dict.fromkeys(criteria.market_ids))
        columns = ["entries.m0"] if criteria.single_market_selection else [f"entries.m{r}" for r in _RANKS]
        parts.append(_any_of(columns, len(wanted)))
        params += wanted * len(columns)
    if criteria.min_score is not None:
        parts.append("entries.score >= ?")
        params.append(criteria.min_score)
    if criteria.max_score is not None:
        parts.append("entries.score <= ?")
        params.append(criteria.max_score)
    if criteria.exclude_intl_phone:
        parts.append("entries.intl = 0")
    if criteria.tag is not None:  # the records come from the tag's rows (see _source)
        parts.append("tagged.campaign_id = ? AND tagged.tag = ? AND tagged.value = 1")
        params += [campaign_id, criteria.tag]
    if criteria.exclude_tag is not None:
        parts.append(f"entries.id NOT IN ({_TAGGED})")
        params += [campaign_id, criteria.exclude_tag]
    return " AND ".join(parts), params


def _queries(campaign_id: str, criteria: EligibilityCriteria) -> Iterator[tuple[str, list[Any], str, str]]:
    """The list in the datastore's order, ``(where, params, index, ORDER BY)`` (no market criterion, no preference
    order: those take _ranked_ids)."""
    where, params = _where(campaign_id, criteria, states=_listed_states(criteria))
    if criteria.random_selection:
        yield where, params, "scored_by_random", "entries.random_score, entries.user_id"
        return
    yield where, params, "scored_by_score", "entries.score DESC, entries.user_id"
