"""SqliteSelection: the SelectionStore port on a SqliteStore's file (entry lists, registration counts, timeline,
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
from adapters_sqlite.outbox import insert_bodies
from adapters_sqlite.store import load_entry, rank_columns, ranked
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

# MKT-003 in bulk. The scan finds the entries ranking the source market from the per-rank indexes (cost: the moved
# entries), entrycore.markets.transfer gives each its new list (per row, in Python: no dependence on how many
# distinct lists there are), and each chunk is moved by one UPDATE … FROM: the new m0…m3, and SQLite's JSON
# functions rewrite the document's market fields, date.updated and version (no document is read into Python); the
# moved rows' events are written in the same transaction. A row moves only if its markets are still those scanned:
# a row a fan changed meanwhile is left to the next scan.
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
_NEW = "json(move.value -> '$[2]')"  # the moved list: [id, markets scanned, markets after the transfer]
_SCANNED = " AND ".join(f"entries.m{rank} IS move.value ->> '$[1][{rank}]'" for rank in range(MAX_RANKS))
# SET names only the ranks that change (a shape of the chunk's moves, one statement each): SQLite rewrites every
# index holding a column the SET names, changed or not (measured: 190 µs per moved entry naming all four, ~50 µs
# naming the one that changes).
_TRANSFER = (
    "UPDATE entries NOT INDEXED SET version = version + 1, doc = {doc}{ranks}"  # noqa: S608 - constant
    " FROM json_each(:moves) AS move"
    f" WHERE entries.id = move.value ->> '$[0]' AND {_SCANNED} AND entries.campaign_id = :campaign"
    # The moved entry's outbox row for its entry.transferred event, written by SQLite from the moved row itself
    # (entrycore.events.event_body's shape; the document's fields and fraud result as the JSON they are).
    " RETURNING :prefix || entries.id || :suffix, user_id, :campaign || ':' || coalesce(nullif(phone, ''), user_id),"
    " json_object('eventId', :prefix || entries.id || :suffix, 'type', :type, 'occurredAt', :at,"
    " 'partitionKey', :campaign || ':' || coalesce(nullif(phone, ''), user_id),"
    " 'campaign', json_object('id', :campaign, 'name', :name),"
    " 'entry', json_object('campaignId', :campaign, 'userId', user_id, 'fields', json(doc -> '$.fields'),"
    f" 'markets', {_MARKETS}, 'phoneConfirmed', json(CASE WHEN phone_confirmed THEN 'true' ELSE 'false' END),"
    " 'locale', doc ->> '$.locale', 'dateCreated', doc ->> '$.dateCreated', 'dateUpdated', :at),"
    " 'fraud', json(doc -> '$.fraud')), score IS NOT NULL"
)
# Entries per write transaction, so fans' writes go between them (OPS-005): measured at 1M entries, ~105 ms of the
# writer per chunk (6.7 s for 62,774 entries); fans' p99 stayed 173 ms through a 49,951-entry transfer at 200k.
_TRANSFER_CHUNK = 1_000


class SqliteSelection:
    """SelectionStore on ``database`` (a SqliteStore's ``database``)."""

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
            "type": TRANSFERRED,
            "prefix": move.event_id(""),
        }
        document = _moved_document(move, params)
        updates: dict[tuple[int, ...], str] = {}  # per shape (the ranks that change), its statement
        records = 0

        def candidates() -> list[tuple[Any, ...]]:
            with self._db.reading() as conn:
                found: list[tuple[Any, ...]] = conn.execute(_TRANSFER_CANDIDATES, params).fetchall()
            found.sort()  # in row order: each page of the table is rewritten once, not once per row on it
            return found

        def move_chunk(conn: sqlite3.Connection, scanned: list[tuple[Any, ...]], scan: int) -> int:
            nonlocal records
            shapes: dict[tuple[int, ...], list[list[Any]]] = {}
            for entry_id, *columns in scanned:
                before = ranked(columns)
                moved = transfer(before, move.source, move.target)
                if moved != before:
                    after = rank_columns(moved)
                    shape = tuple(rank for rank in range(MAX_RANKS) if after[rank] != columns[rank])
                    shapes.setdefault(shape, []).append([entry_id, columns, moved])
            rows = []
            suffix = "" if scan == 0 else f".{scan}"  # an entry moved again by a later scan: another event id
            for shape, moves in shapes.items():
                if shape not in updates:
                    ranks = "".join(f", m{rank} = move.value ->> '$[2][{rank}]'" for rank in shape)
                    updates[shape] = _TRANSFER.format(doc=document, ranks=ranks)
                rows += conn.execute(
                    updates[shape], {**params, "suffix": suffix, "moves": json.dumps(moves)}
                ).fetchall()
            insert_bodies(
                conn,
                [(event_id, EVENT, move.campaign_id, user, key, body, at) for event_id, user, key, body, _ in rows],
            )
            records += sum(1 for row in rows if row[4])
            return len(rows)

        entries = in_chunks(self._db, candidates, move_chunk, _TRANSFER_CHUNK, progress)
        return entries, records

    def registration_tally(self, campaign_id: str) -> RegistrationTally:
        with columns_of(self._db).of(campaign_id) as (_, copy):
            total, confirmed, ranks = copy.registration_groups()
        return RegistrationTally(total, confirmed, tuple(ranks))

    def timeline(self, campaign_id: str, bucket: str) -> list[TimelinePoint]:
        width = BUCKET_PREFIX[bucket]
        with self._db.reading() as conn:
            created = conn.execute(_CREATED, (width, campaign_id)).fetchall()
            confirmed = conn.execute(_CONFIRMED, (width, campaign_id)).fetchall()
        return timeline_of_prefixes(created, confirmed)


def _moved_document(move: MarketTransfer, params: dict[str, Any]) -> str:
    """The SQL of a moved entry's document (MKT-003 reference: markets.transferred): its markets, date.updated,
    version, and the market fields as the fan route writes them (the optional markets' field only when there are
    optional markets). ``params`` gains the statement's parameters. A field is named by a JSON path (the fast
    json_set); a field id holding ``"``, which no JSON path of SQLite can name, takes a merge patch instead
    (json_patch names keys as they are; null removes one)."""
    primary, extra = move.primary_field, move.extra_field
    params |= {"primary": primary, "extra": extra}
    optional = f"CASE WHEN json_array_length({_NEW}) > 1 THEN json_remove({_NEW}, '$[0]') END"  # NULL: none
    if any('"' in field for field in (primary, extra) if field is not None):
        fields = [f":primary, {_NEW} ->> '$[0]'"] if primary is not None else []
        fields += [f":extra, {optional}"] if extra is not None else []
        named = f", 'fields', json_object({', '.join(fields)})" if fields else ""
        return f"json_patch(doc, json_object('dateUpdated', :at, 'version', version + 1{named}))"
    paths = "'$.dateUpdated', :at, '$.version', version + 1"  # the markets themselves are the row's m0…m3
    if primary is not None:
        paths += f", :primary_path, {_NEW} ->> '$[0]'"
        params["primary_path"] = f'$.fields."{primary}"'
    if extra is None:
        return f"json_set(doc, {paths})"
    params["extra_path"] = f'$.fields."{extra}"'
    return (
        f"CASE WHEN json_array_length({_NEW}) > 1 THEN json_set(doc, {paths}, :extra_path, {optional})"
        f" ELSE json_remove(json_set(doc, {paths}), :extra_path) END"
    )
