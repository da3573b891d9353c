"""SqliteSelectionStore: the SelectionStore on a SqliteEntryStore's file (entry lists, registration counts, timeline,
transfers).

The entries table holds what these views read as columns (migration 12: ``blocked``, ``has_codes``,
``date_confirmed``, the ranked markets ``m0``…``m3``) with indexes over them, so each view is one indexed query, and a
count by (market, rank) is one pass per rank whatever the spread of the fans' ranked lists.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from adapters_sqlite.bulk import in_chunks
from adapters_sqlite.columns import columns_of
from adapters_sqlite.database import Database
from adapters_sqlite.outbox import insert_selected
from adapters_sqlite.store import load_entry, ranked
from entrycore.choices import Bucket
from entrycore.eligibility import MAX_RANKS
from entrycore.events import TRANSFERRED
from entrycore.markets import MarketTransfer, transfer
from entrycore.model import Campaign, Entry
from entrycore.outbox import EVENT
from entrycore.ports import Progress
from entrycore.selection import BUCKET_PREFIX, EntryFilter, RegistrationTally, TimelinePoint, timeline_of_prefixes
from entrycore.timefmt import iso

_WHERE = {  # SCR-009 (verified also needs the phone confirmed when the campaign has PPC: added below)
    "winners": "blocked = 0 AND has_codes = 1",
    "codeless": "blocked = 0 AND has_codes = 0",
    "blocked": "blocked = 1",
    "verified": "blocked = 0",
}
_BY_CODE_CONFIG = "EXISTS (SELECT 1 FROM json_each(doc, '$.codes') WHERE json_extract(value, '$.codeConfigId') = ?)"
# Grouped by the bucket's prefix of the timefmt.iso text (entrycore.selection.BUCKET_PREFIX).
_CREATED = (
    "SELECT substr(date_created, 1, ?), count(*) FROM entries INDEXED BY entries_lists WHERE campaign_id = ? GROUP BY 1"
)
_CONFIRMED = (
    "SELECT substr(date_confirmed, 1, ?), count(*) FROM entries INDEXED BY entries_confirmed_at"
    " WHERE campaign_id = ? AND phone_confirmed = 1 AND date_confirmed IS NOT NULL GROUP BY 1"
)

# MKT-003 in bulk, set-based. The scan finds the entries ranking the source market from the per-rank indexes (cost:
# the moved entries). Each entry's list has a shape: the source's rank, the target's rank (or none) and the list's
# length; entrycore.markets.transfer applied to the shape's column names gives, for every rank, the SQL of its new
# market (``m2``, ``:target`` or NULL) — the one rule, never restated here. Each chunk is moved by one UPDATE per
# shape over the chunk's ids of that shape, whose WHERE is the shape itself: a row a fan changed meanwhile no longer
# matches and is left to the next scan. The new m0…m3 and the document's market fields, date.updated and version
# are computed by SQLite from the row (no document, no list passes through Python); then one INSERT … SELECT writes
# the moved rows' events in the same transaction.
_TRANSFER_CANDIDATES = " UNION ALL ".join(
    f"SELECT id, m0, m1, m2, m3 FROM entries INDEXED BY entries_rank{rank}"  # noqa: S608 - constant
    f" WHERE campaign_id = :campaign AND m{rank} = :source"
    for rank in range(MAX_RANKS)
)
# The row's ranked markets as the events show them: [{"marketId", "rank"}], rank 0 first.
_MARKETS = (
    "CASE "
    + " ".join(
        f"WHEN m{last} IS NOT NULL THEN json_array("
        + ", ".join(f"json_object('marketId', m{rank}, 'rank', {rank})" for rank in range(last + 1))
        + ")"
        for last in reversed(range(MAX_RANKS))
    )
    + " ELSE json_array() END"
)
# SET names only the ranks that change: SQLite rewrites every index holding a column the SET names, changed or not
# (measured: 190 µs per moved entry naming all four, ~50 µs naming the one that changes). It answers the moved rows'
# ids, and whether each has a scoring record.
_TRANSFER = (
    "UPDATE entries SET version = version + 1, doc = {doc}{ranks}"
    " WHERE id IN (SELECT value FROM json_each(:ids)) AND +campaign_id = :campaign AND {shape}"
    " RETURNING id, score IS NOT NULL"
)
# The moved entries' outbox rows for their entry.transferred events, written by SQLite from the moved rows
# themselves (entrycore.events.event_body's shape; the document's fields and fraud result as the JSON they are).
_TRANSFER_EVENTS = (
    "INSERT INTO outbox (id, kind, campaign_id, user_id, partition_key, body, created_at)"  # noqa: S608 - constant
    " SELECT event, :kind, :campaign, user_id, key, json_object('eventId', event, 'type', :type, 'occurredAt', :at,"
    " 'partitionKey', key, 'campaign', json_object('id', :campaign, 'name', :name),"
    " 'entry', json_object('campaignId', :campaign, 'userId', user_id, 'fields', json(doc -> '$.fields'),"
    f" 'markets', {_MARKETS}, 'phoneConfirmed', json(CASE WHEN phone_confirmed THEN 'true' ELSE 'false' END),"
    " 'locale', doc ->> '$.locale', 'dateCreated', doc ->> '$.dateCreated', 'dateUpdated', :at),"
    " 'fraud', json(doc -> '$.fraud')), :at"
    " FROM (SELECT :prefix || id || :suffix AS event, :campaign || ':' || coalesce(nullif(phone, ''), user_id) AS key,"
    " user_id, doc, m0, m1, m2, m3, phone_confirmed FROM entries WHERE id IN (SELECT value FROM json_each(:ids))"
    " ORDER BY id)"
)
Shape = tuple[int, int | None, int]  # the source's rank, the target's rank (None: absent), the list's length
# Entries per write transaction, so fans' writes go between them (OPS-005): measured at 1M entries, ~35 ms of the
# writer per chunk (in-process, 290,915 entries in 11.2 s); 2,000 and 4,000 were not measurably faster at 200k.
_TRANSFER_CHUNK = 1_000


class SqliteSelectionStore:
    """SelectionStore on ``database`` (a SqliteEntryStore's ``database``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        parts, params = ["campaign_id = ?", _WHERE[chosen.filter_type]], [campaign.id]
        if chosen.filter_type == "verified" and campaign.needs_phone_confirmation:
            parts.append("phone_confirmed = 1")
        if chosen.market is not None:
            parts.append("m0 = ?")
            params.append(chosen.market)
        if chosen.code_config_id is not None:
            parts.append(_BY_CODE_CONFIG)
            params.append(chosen.code_config_id)
        where = " AND ".join(parts)
        with self._db.reading() as conn:
            total = conn.execute(f"SELECT count(*) FROM entries INDEXED BY entries_lists WHERE {where}", params)  # noqa: S608
            count = int(total.fetchone()[0])
            rows = conn.execute(
                f"SELECT m0, m1, m2, m3, doc FROM entries INDEXED BY entries_lists WHERE {where}"  # noqa: S608
                " ORDER BY date_created, user_id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [load_entry(row) for row in rows], count

    def transfer_entries(self, move: MarketTransfer, progress: Progress | None = None) -> tuple[int, int]:
        at = iso(move.at) or ""
        params: dict[str, Any] = {
            "campaign": move.campaign_id,
            "name": move.campaign_name,
            "at": at,
            "source": move.source,
            "target": move.target,
            "type": TRANSFERRED,
            "kind": EVENT,
            "prefix": move.event_id(""),
            **_field_params(move),
        }
        statements: dict[Shape, str] = {}
        records = 0

        def candidates() -> list[tuple[Any, ...]]:
            with self._db.reading() as conn:
                found: list[tuple[Any, ...]] = conn.execute(_TRANSFER_CANDIDATES, params).fetchall()
            found.sort()  # in row order: each page of the table is rewritten once, not once per row on it
            return found

        def plan(scanned: list[tuple[Any, ...]]) -> list[tuple[str, str]]:
            """The chunk's statements and their ids, by shape (outside the write transaction)."""
            shapes: dict[Shape, list[int]] = {}
            for entry_id, *columns in scanned:
                markets = ranked(columns)
                if move.source in markets:  # else a row changed since the index was read
                    target = markets.index(move.target) if move.target in markets else None
                    shapes.setdefault((markets.index(move.source), target, len(markets)), []).append(entry_id)
            for shape in shapes:
                if shape not in statements:
                    statements[shape] = _moved_by_shape(move, shape)
            return [(statements[shape], json.dumps(ids)) for shape, ids in shapes.items()]

        def move_chunk(conn: sqlite3.Connection, planned: list[tuple[str, str]], scan: int) -> int:
            nonlocal records
            moved = []
            for statement, ids in planned:
                moved += conn.execute(statement, {**params, "ids": ids}).fetchall()
            if moved:
                suffix = "" if scan == 0 else f".{scan}"  # an entry moved again by a later scan: another event id
                ids = json.dumps([entry_id for entry_id, _ in moved])
                insert_selected(conn, _TRANSFER_EVENTS, {**params, "suffix": suffix, "ids": ids})
            records += sum(1 for _, scored in moved if scored)
            return len(moved)

        entries = in_chunks(self._db, candidates, move_chunk, _TRANSFER_CHUNK, progress, plan=plan)
        return entries, records

    def registration_tally(self, campaign_id: str) -> RegistrationTally:
        with columns_of(self._db).of(campaign_id) as (_, copy):
            total, confirmed, ranks = copy.registration_groups()
        return RegistrationTally(total, confirmed, tuple(ranks))

    def timeline(self, campaign_id: str, bucket: Bucket) -> list[TimelinePoint]:
        width = BUCKET_PREFIX[bucket]
        with self._db.reading() as conn:
            created = conn.execute(_CREATED, (width, campaign_id)).fetchall()
            confirmed = conn.execute(_CONFIRMED, (width, campaign_id)).fetchall()
        return timeline_of_prefixes(created, confirmed)


def _moved_by_shape(move: MarketTransfer, shape: Shape) -> str:
    """The UPDATE that moves the rows of ``shape`` (MKT-003 reference: markets.transferred): their changed ranks,
    and their document's date.updated, version and market fields as the fan route writes them (the optional
    markets' field only when there are optional markets); its parameters are the transfer's and _field_params'."""
    source, target, length = shape
    names = [f"m{rank}" for rank in range(length)]
    moved = transfer(tuple(names), names[source], ":target" if target is None else names[target])
    new = [*moved, *["NULL"] * (length - len(moved))]  # each rank's new market, as SQL on the row before
    ranks = "".join(f", m{rank} = {sql}" for rank, sql in enumerate(new) if sql != f"m{rank}")  # past length: NULL
    # ``+``: the rows are found by their ids, never by an index of the ranks (which would scan a market's rows).
    where = [f"+m{source} = :source", f"+m{length - 1} IS NOT NULL"]
    where += [f"+m{length} IS NULL"] if length < MAX_RANKS else []
    where += [f"+m{target} = :target"] if target is not None else [f"+m{rank} IS NOT :target" for rank in range(length)]
    return _TRANSFER.format(doc=_moved_document(move, moved), ranks=ranks, shape=" AND ".join(where))


def _field_params(move: MarketTransfer) -> dict[str, str | None]:
    """The market fields' ids, and their JSON paths in the document, as _moved_document's statements name them."""
    primary, extra = move.primary_field, move.extra_field
    return {
        "primary": primary,
        "extra": extra,
        "primary_path": None if primary is None else f'$.fields."{primary}"',
        "extra_path": None if extra is None else f'$.fields."{extra}"',
    }


def _moved_document(move: MarketTransfer, moved: tuple[str, ...]) -> str:
    """The SQL of a moved row's new document, ``moved`` its new markets as SQL. A field is named by a JSON path
    (the fast json_set); a field id holding ``"``, which no JSON path of SQLite can name, takes a merge patch
    instead (json_patch names keys as they are; null removes one)."""
    primary, extra = move.primary_field, move.extra_field
    optional = f"json_array({', '.join(moved[1:])})" if len(moved) > 1 else None
    if any('"' in field for field in (primary, extra) if field is not None):
        fields = [f":primary, {moved[0]}"] if primary is not None else []
        fields += [f":extra, {optional or 'NULL'}"] if extra is not None else []
        named = f", 'fields', json_object({', '.join(fields)})" if fields else ""
        return f"json_patch(doc, json_object('dateUpdated', :at, 'version', version + 1{named}))"
    paths = "'$.dateUpdated', :at, '$.version', version + 1"  # the markets themselves are the row's m0…m3
    if primary is not None:
        paths += f", :primary_path, {moved[0]}"
    if extra is None:
        return f"json_set(doc, {paths})"
    if optional is None:
        return f"json_remove(json_set(doc, {paths}), :extra_path)"
    return f"json_set(doc, {paths}, :extra_path, json({optional}))"
