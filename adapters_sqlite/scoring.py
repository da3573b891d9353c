"""SqliteScoring: the ScoringStore port on the SQLite file of a SqliteStore (its connections, its group commit).

The storage is shaped for SPEC §7's queries at a million records (the design and its measurements are in
docs/decisions.md, "Scoring storage"):

- one ``scoring`` row per record, with the record's API document in ``doc`` and, as plain integers, what the
  queries filter, group and order on: ``state`` (2 * verdict + selected), ``blocked``, ``intl`` (phone not
  ``+1``), ``combo`` (the ranked markets as four 15-bit market slots in one integer) and ``mask`` (one bit per
  market slot modulo 63, a pre-filter for "any of these markets");
- ``scoring_markets`` numbers each campaign's markets in order of first sight (slots never change);
- ``scoring_tags`` holds the true tags (``record`` = the scoring row's id), for the tag criteria.

The counts are one pass over a covering index grouped by ``(state, combo)``: a few tens of thousands of groups
whose markets are decoded and added up here. Lists walk the index of their order (score, random score) and
stop at the page; ``orderByPreference`` pages through the four "best rank" buckets in turn.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any

from adapters_sqlite.bulk import in_chunks
from adapters_sqlite.database import Database
from adapters_sqlite.slots import MASK_BITS, NO_SLOT, SLOT_BITS, decode, encode
from entrycore.eligibility import (
    MAX_RANKS,
    EligibilityCounts,
    EligibilityCriteria,
    counts_of_groups,
    listed_states,
)
from entrycore.markets import MarketTransfer, transfer
from entrycore.model import Entry
from entrycore.scoring import (
    INSERTED,
    NO_CONFIRMED_ENTRY,
    UPDATED,
    EntryFacts,
    ScoreRow,
    ScoringRecord,
    merge,
    refreshed,
)

MAX_SLOTS = NO_SLOT  # markets per campaign the encoding can number
_STREAM_BATCH = 1_000

# What a record copies of its entry, read by SQLite from the entry's document in one parse (a JSON array).
_FACTS = (
    "json_extract(doc, '$.phone', '$.firstName', '$.lastName', '$.email', '$.locale', '$.markets', '$.codes',"
    " '$.review.isBlocked')"
)
_ENTRIES_BY_PHONE = (
    f"SELECT phone, user_id, {_FACTS} FROM entries INDEXED BY entries_confirmed_phone"  # noqa: S608 - constant
    " WHERE campaign_id = ? AND phone IN ({}) AND phone_confirmed = 1"
)  # INDEXED BY: with hundreds of phones in the IN list the planner would scan the campaign instead
_ENTRIES_OF = f"SELECT user_id, {_FACTS} FROM entries WHERE campaign_id = ? AND user_id IN ({{}})"  # noqa: S608 - constant
_RECORDS = "SELECT user_id, id, doc FROM scoring WHERE campaign_id = ? AND user_id IN ({})"
_RECORD = "SELECT id, doc FROM scoring WHERE campaign_id = ? AND user_id = ?"
_CHUNK = 500  # values per IN (…): under SQLite's limit of bound parameters
_INSERT = (
    "INSERT INTO scoring (campaign_id, user_id, phone, score, random_score, state, blocked, intl, combo, mask, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE scoring SET phone = ?, score = ?, random_score = ?, state = ?, blocked = ?, intl = ?, combo = ?,"
    " mask = ?, doc = ? WHERE id = ?"
)
_SLOTS = "SELECT market_id, slot FROM scoring_markets WHERE campaign_id = ?"
_NEW_SLOT = "INSERT INTO scoring_markets (campaign_id, market_id, slot) VALUES (?, ?, ?)"
_FLIP = {  # SCR-006: exclude = the records carrying the tag, include = those not carrying it
    "exclude": "UPDATE scoring SET state = state - 2, doc = json_set(doc, '$.verdict', json('false'))"
    " WHERE campaign_id = ? AND state >= 2"
    " AND id IN (SELECT record FROM scoring_tags WHERE campaign_id = ? AND tag = ?)",
    "include": "UPDATE scoring SET state = state - 2, doc = json_set(doc, '$.verdict', json('false'))"
    " WHERE campaign_id = ? AND state >= 2"
    " AND id NOT IN (SELECT record FROM scoring_tags WHERE campaign_id = ? AND tag = ?)",
}


def _slot_sql(rank: int) -> str:
    return f"((combo >> {SLOT_BITS * rank}) & {NO_SLOT})"


# MKT-003 on the records: the scan reads (id, combo) from the scoring_counts index and finds the source market's
# slot at any rank with integer arithmetic; entrycore.markets.transfer then moves the slots (in Python, on those
# integers), and one UPDATE … FROM per chunk writes the new combo, mask and the API document's marketIds, if the
# record's combo is still the one scanned (bulk.in_chunks scans again for the others).
_RANKED_SOURCE = " OR ".join(f"{_slot_sql(rank)} = :source_slot" for rank in range(MAX_RANKS))
_TRANSFER_CANDIDATES = (
    f"SELECT id, combo FROM scoring INDEXED BY scoring_counts WHERE campaign_id = :campaign AND ({_RANKED_SOURCE})"  # noqa: S608
)
_TRANSFER = """
    UPDATE scoring NOT INDEXED SET combo = move.value ->> '$[2]', mask = move.value ->> '$[3]',
                                   doc = json_set(doc, '$.marketIds', json(move.value -> '$[4]'))
      FROM json_each(:moves) AS move
     WHERE scoring.id = move.value ->> '$[0]' AND scoring.combo = move.value ->> '$[1]'
"""
_TRANSFER_CHUNK = 5_000
_OF_USER = "SELECT id FROM scoring INDEXED BY scoring_user WHERE user_id = ? AND (? IS NULL OR campaign_id = ?)"
_DELETE_TAGS = "DELETE FROM scoring_tags WHERE record = ?"
_DELETE_RECORD = "DELETE FROM scoring WHERE id = ?"
_SET_TAG = "INSERT OR IGNORE INTO scoring_tags (campaign_id, tag, record) VALUES (?, ?, ?)"
_UNSET_TAG = "DELETE FROM scoring_tags WHERE campaign_id = ? AND tag = ? AND record = ?"


def follow_entry(conn: sqlite3.Connection, entry: Entry) -> None:
    """Keeps the entry's scoring record in step with it, in the entry's own write transaction (SCR-001, REQ-006):
    removed with its tags when the entry is no longer phone-confirmed with the phone the record was matched by
    (PHN-005), else given the entry's current name, email, locale, ranked markets, codes and block. One look-up
    by the record's key when the fan has no record (most writes)."""
    found = conn.execute(_RECORD, (entry.campaign_id, entry.user_id)).fetchone()
    if found is None:
        return
    record_id, record = found[0], _record(found[1])
    if not entry.phone_confirmed or entry.phone != record.phone:
        conn.execute(_DELETE_TAGS, (record_id,))
        conn.execute(_DELETE_RECORD, (record_id,))
        return
    followed = refreshed(record, EntryFacts.of(entry))
    if followed != record:
        slots = _load_slots(conn, entry.campaign_id)
        conn.execute(
            _UPDATE, (*_columns(followed, _slots_of(conn, entry.campaign_id, followed.markets, slots)), record_id)
        )


class SqliteScoring:
    """ScoringStore on ``database`` (a SqliteStore's ``database``: same file, connections and writer)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    # writes

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        if len(rows) != len(random_scores):
            raise ValueError("one random score per row")
        phones = sorted({row.phone for row in rows})

        def upsert(conn: sqlite3.Connection) -> list[str]:
            slots = _load_slots(conn, campaign_id)
            holders = {
                phone: _facts(campaign_id, user_id, facts)
                for chunk in _chunks(phones)
                for phone, user_id, facts in conn.execute(
                    _ENTRIES_BY_PHONE.format(_marks(chunk)), (campaign_id, *chunk)
                )
            }
            users = sorted({facts.user_id for facts in holders.values()})
            found = {
                user_id: (record_id, _record(doc))
                for chunk in _chunks(users)
                for user_id, record_id, doc in conn.execute(_RECORDS.format(_marks(chunk)), (campaign_id, *chunk))
            }
            outcomes = []
            for row, drawn in zip(rows, random_scores, strict=True):
                facts = holders.get(row.phone)
                if facts is None:
                    outcomes.append(NO_CONFIRMED_ENTRY)
                    continue
                record_id, existing = found.get(facts.user_id, (None, None))
                record = merge(existing, row, facts, drawn)
                columns = _columns(record, _slots_of(conn, campaign_id, record.markets, slots))
                if record_id is None:
                    record_id = conn.execute(_INSERT, (campaign_id, facts.user_id, *columns)).lastrowid
                else:
                    conn.execute(_UPDATE, (*columns, record_id))
                found[facts.user_id] = (record_id, record)
                for tag, value in row.tags.items():
                    conn.execute(_SET_TAG if value else _UNSET_TAG, (campaign_id, tag, record_id))
                outcomes.append(INSERTED if existing is None else UPDATED)
            return outcomes

        return self._db.write(upsert)

    def copy_entries(self, campaign_id: str, user_ids: Sequence[str]) -> int:
        users = sorted(set(user_ids))

        def copy(conn: sqlite3.Connection) -> int:
            slots = _load_slots(conn, campaign_id)
            copied = 0
            for chunk in _chunks(users):
                facts = {  # the entries as they are now, in this transaction (not as the caller read them)
                    user_id: _facts(campaign_id, user_id, extracted)
                    for user_id, extracted in conn.execute(_ENTRIES_OF.format(_marks(chunk)), (campaign_id, *chunk))
                }
                for user_id, record_id, doc in conn.execute(
                    _RECORDS.format(_marks(chunk)), (campaign_id, *chunk)
                ).fetchall():
                    if user_id not in facts or facts[user_id].phone != _record(doc).phone:
                        continue  # the entry is gone, or has another phone (each takes the record too)
                    record = refreshed(_record(doc), facts[user_id])
                    columns = _columns(record, _slots_of(conn, campaign_id, record.markets, slots))
                    conn.execute(_UPDATE, (*columns, record_id))
                    copied += 1
            return copied

        return self._db.write(copy) if users else 0

    def tag(self, campaign_id: str, tag: str, by: str, values: Sequence[str]) -> int:
        column = {"phone": "phone", "userId": "user_id"}[by]
        select = f"SELECT id, doc FROM scoring WHERE campaign_id = ? AND {column} = ?"  # noqa: S608 - a fixed column

        def set_tag(conn: sqlite3.Connection) -> int:
            tagged = 0
            for value in dict.fromkeys(values):
                for record_id, stored in conn.execute(select, (campaign_id, value)).fetchall():  # every record
                    doc = json.loads(stored)
                    if doc["tags"].get(tag) is not True:
                        doc["tags"][tag] = True
                        conn.execute("UPDATE scoring SET doc = ? WHERE id = ?", (_dump(doc), record_id))
                        conn.execute(_SET_TAG, (campaign_id, tag, record_id))
                    tagged += 1
            return tagged

        return self._db.write(set_tag)

    def flip_verdicts(self, campaign_id: str, tag: str, mode: str) -> int:
        sql = _FLIP[mode]

        def flip(conn: sqlite3.Connection) -> int:
            return conn.execute(sql, (campaign_id, campaign_id, tag)).rowcount

        return self._db.write(flip)

    def transfer_records(self, move: MarketTransfer) -> int:
        with self._db.reading() as conn:
            slots = _load_slots(conn, move.campaign_id)
        if move.source not in slots:
            return 0  # no record ever ranked it
        target = slots.get(move.target)
        if target is None:
            # numbered in the write, from the slots as they are then (an upload may have numbered markets meanwhile)
            target = self._db.write(
                lambda conn: _slots_of(conn, move.campaign_id, [move.target], _load_slots(conn, move.campaign_id))[0]
            )
        source = slots[move.source]
        names = {slot: market for market, slot in slots.items()} | {target: move.target}

        def candidates() -> list[tuple[int, int]]:
            with self._db.reading() as conn:
                found = conn.execute(_TRANSFER_CANDIDATES, {"campaign": move.campaign_id, "source_slot": source})
                rows: list[tuple[int, int]] = found.fetchall()
            rows.sort()  # in row order: each page of the table is rewritten once
            return rows

        def move_chunk(conn: sqlite3.Connection, rows: list[tuple[int, int]], _: int) -> int:
            moves = []
            for record_id, combo in rows:
                ranked = transfer(decode(combo), source, target)
                moves.append([record_id, combo, *encode(ranked), [names[slot] for slot in ranked]])
            return int(conn.execute(_TRANSFER, {"moves": json.dumps(moves)}).rowcount)

        return in_chunks(self._db, candidates, move_chunk, _TRANSFER_CHUNK)

    def delete_records(self, user_id: str, campaign_id: str | None = None) -> int:
        def delete(conn: sqlite3.Connection) -> int:
            ids = [row for (row,) in conn.execute(_OF_USER, (user_id, campaign_id, campaign_id))]
            for record_id in ids:
                conn.execute(_DELETE_TAGS, (record_id,))
                conn.execute(_DELETE_RECORD, (record_id,))
            return len(ids)

        return self._db.write(delete)

    # reads

    def scoring_record(self, campaign_id: str, user_id: str) -> ScoringRecord | None:
        found = self._db.one(_RECORD, (campaign_id, user_id))
        return None if found is None else _record(found[1])

    def eligibility_counts(
        self, campaign_id: str, criteria: EligibilityCriteria, markets: Sequence[str]
    ) -> EligibilityCounts:
        with self._db.reading() as conn:
            slots = _load_slots(conn, campaign_id)
            where, params = _where(campaign_id, criteria, slots, exact_markets=False)
            source = _source(criteria, "scoring_counts")
            sql = f"SELECT state, combo, count(*) FROM {source} WHERE {where} GROUP BY state, combo"  # noqa: S608
            groups = conn.execute(sql, params).fetchall()
        names = {slot: market for market, slot in slots.items()}
        wanted = {slots[m] for m in criteria.market_ids if m in slots}

        def exact() -> Iterator[tuple[bool, bool, list[str], int]]:
            for state, combo, count in groups:
                ranked = decode(combo)
                if wanted and not wanted.intersection(ranked[:1] if criteria.single_market_selection else ranked):
                    continue  # the mask's pre-filter let it through (slots that share a bit)
                yield state >= 2, bool(state & 1), [names[slot] for slot in ranked], count

        return counts_of_groups(exact(), criteria, markets)

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        with self._db.reading() as conn:
            slots = _load_slots(conn, campaign_id)
            page: list[ScoringRecord] = []
            total = 0
            for where, params, index, order in _queries(campaign_id, criteria, slots):
                count = conn.execute(
                    f"SELECT count(*) FROM {_source(criteria, 'scoring_counts')} WHERE {where}",  # noqa: S608
                    params,
                ).fetchone()[0]
                start = max(0, offset - total)
                if len(page) < limit and start < count:
                    rows = conn.execute(
                        f"SELECT doc FROM {_source(criteria, index)} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",  # noqa: S608
                        (*params, limit - len(page), start),
                    ).fetchall()
                    page.extend(_record(doc) for (doc,) in rows)
                total += count
        return page, total

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        with self._db.reading() as conn:
            slots = _load_slots(conn, campaign_id)
        for where, params, index, order in _queries(campaign_id, criteria, slots):
            with self._db.reading() as conn:
                cursor = conn.execute(
                    f"SELECT doc FROM {_source(criteria, index)} WHERE {where} ORDER BY {order}",  # noqa: S608
                    params,
                )
                try:
                    while rows := cursor.fetchmany(_STREAM_BATCH):
                        yield from (_record(doc) for (doc,) in rows)
                finally:
                    cursor.close()


def _chunks(values: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _marks(values: list[str]) -> str:
    return ", ".join("?" * len(values))


def _facts(campaign_id: str, user_id: str, extracted: str) -> EntryFacts:
    phone, first, last, email, locale, markets, codes, blocked = json.loads(extracted)
    return EntryFacts(
        campaign_id=campaign_id,
        user_id=user_id,
        phone=phone,
        first_name=first,
        last_name=last,
        email=email,
        locale=locale,
        markets=tuple(markets or ()),
        codes=tuple((c["code"], c.get("codeConfigId")) for c in codes or ()),
        blocked=bool(blocked),
    )


def _record(doc: str) -> ScoringRecord:
    return ScoringRecord.from_document(json.loads(doc))


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, separators=(",", ":"))


def _load_slots(conn: sqlite3.Connection, campaign_id: str) -> dict[str, int]:
    return dict(conn.execute(_SLOTS, (campaign_id,)).fetchall())


def _slots_of(conn: sqlite3.Connection, campaign_id: str, markets: Sequence[str], slots: dict[str, int]) -> list[int]:
    """The slots of ``markets`` (at most 4), numbering the campaign's markets not seen before."""
    found = []
    for market in markets[:MAX_RANKS]:
        slot = slots.get(market)
        if slot is None:
            slot = len(slots)
            if slot >= MAX_SLOTS:
                raise ValueError(f"a campaign may have at most {MAX_SLOTS} markets")
            conn.execute(_NEW_SLOT, (campaign_id, market, slot))
            slots[market] = slot
        found.append(slot)
    return found


def _columns(record: ScoringRecord, ranked: list[int]) -> tuple[object, ...]:
    """The row's columns after ``campaign_id, user_id``, in _INSERT order (_UPDATE's too)."""
    combo, mask = encode(ranked)
    state = 2 * record.verdict + bool(record.codes)
    intl = not record.phone.startswith("+1")
    return (
        record.phone,
        record.score,
        record.random_score,
        state,
        int(record.blocked),
        int(intl),
        combo,
        mask,
        _dump(record.stored()),
    )


def _listed_states(criteria: EligibilityCriteria) -> frozenset[int]:
    """The ``state`` values (2 * verdict + selected) the list returns (SCR-005)."""
    return frozenset(2 * verdict + selected for verdict, selected in listed_states(criteria))


def _in(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")"


def _source(criteria: EligibilityCriteria, index: str) -> str:
    """The FROM clause: the walk of ``index`` over the campaign's records, or, with a ``tag`` criterion, the tag's
    rows then each record by id (measured at 1M records: 527 ms for the counts of 20,000 tagged records
    when each of the million index entries was probed against the tag's rows)."""
    if criteria.tag is not None:
        return "scoring_tags AS tagged CROSS JOIN scoring ON scoring.id = tagged.record"
    return f"scoring INDEXED BY {index}"


def _where(
    campaign_id: str,
    criteria: EligibilityCriteria,
    slots: dict[str, int],
    *,
    exact_markets: bool = True,
    states: frozenset[int] | None = None,
) -> tuple[str, list[Any]]:
    """SCR-003's criteria as a WHERE clause over ``scoring`` (blocked records never match). The market criterion
    is exact unless ``exact_markets`` is false, when only the mask pre-filters (the caller checks the slots)."""
    parts: list[str] = ["scoring.campaign_id = ?", "blocked = 0"]
    params: list[Any] = [campaign_id]
    if states is not None:
        parts.append(f"state IN {_in(sorted(states))}")
    if criteria.market_ids:
        wanted = sorted({slots[m] for m in criteria.market_ids if m in slots})
        if not wanted:
            parts.append("0")  # none of these markets was ever ranked: nothing matches
        elif criteria.single_market_selection:
            parts.append(f"{_slot_sql(0)} IN {_in(wanted)}")
        else:
            mask = 0
            for slot in wanted:
                mask |= 1 << (slot % MASK_BITS)
            parts.append(f"mask & {mask} != 0")
            if exact_markets and len(slots) > MASK_BITS:  # bits are shared: check the slots themselves
                parts.append("(" + " OR ".join(f"{_slot_sql(r)} IN {_in(wanted)}" for r in range(MAX_RANKS)) + ")")
    if criteria.min_score is not None:
        parts.append("score >= ?")
        params.append(criteria.min_score)
    if criteria.max_score is not None:
        parts.append("score <= ?")
        params.append(criteria.max_score)
    if criteria.exclude_intl_phone:
        parts.append("intl = 0")
    if criteria.tag is not None:  # the records come from the tag's rows (see _source)
        parts.append("tagged.campaign_id = ? AND tagged.tag = ?")
        params += [campaign_id, criteria.tag]
    if criteria.exclude_tag is not None:
        parts.append("id NOT IN (SELECT record FROM scoring_tags WHERE campaign_id = ? AND tag = ?)")
        params += [campaign_id, criteria.exclude_tag]
    return " AND ".join(parts), params


def _queries(
    campaign_id: str, criteria: EligibilityCriteria, slots: dict[str, int]
) -> Iterator[tuple[str, list[Any], str, str]]:
    """The list as consecutive parts in its order: ``(where, params, index, ORDER BY)`` each. One part, except
    with ``orderByPreference``: one per best rank among ``marketIds`` (0…3, then none), each by score."""
    where, params = _where(campaign_id, criteria, slots, states=_listed_states(criteria))
    if criteria.random_selection:
        yield where, params, "scoring_by_random", "random_score, user_id"
        return
    if not criteria.order_by_preference:
        yield where, params, "scoring_by_score", "score DESC, user_id"
        return
    wanted = sorted({slots[m] for m in criteria.market_ids if m in slots})
    if criteria.market_ids and not wanted:
        return
    for rank in range(MAX_RANKS + 1):
        if wanted:
            earlier = [f"{_slot_sql(r)} NOT IN {_in(wanted)}" for r in range(rank)]
            here = [f"{_slot_sql(rank)} IN {_in(wanted)}"] if rank < MAX_RANKS else []
        else:  # any market: the best rank is the first one's, or none without markets
            earlier = []
            here = [f"{_slot_sql(0)} != {NO_SLOT}"] if rank == 0 else [f"{_slot_sql(0)} = {NO_SLOT}"]
            if 0 < rank < MAX_RANKS:
                continue
        yield " AND ".join([where, *earlier, *here]), params, "scoring_by_score", "score DESC, user_id"
