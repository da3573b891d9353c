"""SqliteSelection: the SelectionStore port on a SqliteStore's file (entry lists, registration counts, timeline).

The entries table carries virtual columns computed from each entry's document (migration 9: ``blocked``,
``has_codes``, ``market``, ``markets``, ``date_confirmed``) and indexes over them, so each view is one
indexed query.
"""

from __future__ import annotations

import json
import sqlite3

from adapters_sqlite.bulk import in_chunks
from adapters_sqlite.database import Database
from entrycore.errors import Internal
from entrycore.events import TRANSFERRED
from entrycore.markets import MarketTransfer
from entrycore.model import Campaign, Entry
from entrycore.outbox import EVENT
from entrycore.ports import Progress
from entrycore.selection import BUCKET_PREFIX, EntryFilter, TimelinePoint, timeline_of_prefixes
from entrycore.timefmt import iso

_WHERE = {  # SCR-009 (verified also needs the phone confirmed when the campaign has PPC: added below)
    "winners": "blocked = 0 AND has_codes = 1",
    "codeless": "blocked = 0 AND has_codes = 0",
    "blocked": "blocked = 1",
    "verified": "blocked = 0",
}
_BY_CODE_CONFIG = "EXISTS (SELECT 1 FROM json_each(doc, '$.codes') WHERE json_extract(value, '$.codeConfigId') = ?)"
_GROUPS = (
    "SELECT markets, phone_confirmed, count(*) FROM entries INDEXED BY entries_ranked"
    " WHERE campaign_id = ? GROUP BY phone_confirmed, markets"
)
# Grouped by the bucket's prefix of the timefmt.iso text (entrycore.selection.BUCKET_PREFIX).
_CREATED = (
    "SELECT substr(date_created, 1, ?), count(*) FROM entries INDEXED BY entries_lists WHERE campaign_id = ? GROUP BY 1"
)
_CONFIRMED = (
    "SELECT substr(date_confirmed, 1, ?), count(*) FROM entries INDEXED BY entries_confirmed_at"
    " WHERE campaign_id = ? AND phone_confirmed = 1 AND date_confirmed IS NOT NULL GROUP BY 1"
)

# MKT-003 in bulk. The candidates are read from the entries_ranked index alone (it holds each entry's ranked
# markets); each chunk of them is then moved by one UPDATE, es_transfer (adapters_sqlite/functions.py: the rule
# of entrycore.markets) computing the new list, the document rewritten by SQLite's JSON functions, and the
# moved rows' events are inserted by one INSERT … SELECT, in the same transaction. The UPDATE checks each row
# again, so a row a fan changed after the scan is moved from what it holds now, or left alone.
_TRANSFER_CANDIDATES = (
    "SELECT rowid FROM entries INDEXED BY entries_ranked"
    " WHERE campaign_id = :campaign AND es_transfer(markets, :source, :target) IS NOT NULL"
)
_MOVED = "es_transfer(markets, :source, :target)"
_TRANSFER = (
    "UPDATE entries SET version = version + 1, doc = {doc}"
    " WHERE rowid IN (SELECT value FROM json_each(:rows)) AND campaign_id = :campaign AND {moved} IS NOT NULL"
    " RETURNING rowid"
)
_PARTITION_KEY = "campaign_id || ':' || coalesce(nullif(phone, ''), user_id)"  # entrycore.outbox.partition_key
# entrycore.events.event_body of the moved entry (the contract suite compares them).
_TRANSFER_EVENTS = f"""
    INSERT INTO outbox (id, kind, campaign_id, user_id, partition_key, body, created_at)
    SELECT :prefix || rowid, :kind, campaign_id, user_id, {_PARTITION_KEY},
           json_object(
               'eventId', :prefix || rowid, 'type', :type, 'occurredAt', :at, 'partitionKey', {_PARTITION_KEY},
               'campaign', json_object('id', :campaign, 'name', :name),
               'entry', json_object(
                   'campaignId', campaign_id, 'userId', user_id, 'fields', json_extract(doc, '$.fields'),
                   'markets', (SELECT json_group_array(json_object('marketId', value, 'rank', key))
                                 FROM json_each(doc, '$.markets')),
                   'phoneConfirmed', json(iif(phone_confirmed, 'true', 'false')),
                   'locale', json_extract(doc, '$.locale'), 'dateCreated', json_extract(doc, '$.dateCreated'),
                   'dateUpdated', :at),
               'fraud', json_extract(doc, '$.fraud')),
           :at
      FROM entries WHERE rowid IN (SELECT value FROM json_each(:moved_rows)) ORDER BY rowid
"""  # noqa: S608 - constant SQL text
_TRANSFER_CHUNK = 2_000  # entries per write transaction: fans' writes go between them


class SqliteSelection:
    """SelectionStore on ``database`` (a SqliteStore's ``database``)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        parts, params = ["campaign_id = ?", _WHERE[chosen.filter_type]], [campaign.id]
        if chosen.filter_type == "verified" and campaign.needs_phone_confirmation:
            parts.append("phone_confirmed = 1")
        if chosen.market is not None:
            parts.append("market = ?")
            params.append(chosen.market)
        if chosen.code_config_id is not None:
            parts.append(_BY_CODE_CONFIG)
            params.append(chosen.code_config_id)
        where = " AND ".join(parts)
        with self._db.reading() as conn:
            total = conn.execute(f"SELECT count(*) FROM entries INDEXED BY entries_lists WHERE {where}", params)  # noqa: S608
            count = int(total.fetchone()[0])
            rows = conn.execute(
                f"SELECT doc FROM entries INDEXED BY entries_lists WHERE {where}"  # noqa: S608 - fixed parts
                " ORDER BY date_created, user_id LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        return [Entry.from_document(json.loads(doc)) for (doc,) in rows], count

    def transfer_entries(self, move: MarketTransfer, progress: Progress | None = None) -> int:
        doc = f"json_set(doc, '$.markets', json({_MOVED}), '$.dateUpdated', :at, '$.version', version + 1)"
        paths = {}
        for name, field, value in (
            ("primary", move.primary_field, f"{_MOVED} ->> '$[0]'"),
            ("extra", move.extra_field, f"json_remove({_MOVED}, '$[0]')"),
        ):
            if field is not None:
                doc = f"json_replace({doc}, :{name}, {value})"  # replaces a field the entry has, adds none
                paths[name] = _field_path(field)
        update = _TRANSFER.format(doc=doc, moved=_MOVED)
        params = {
            **paths,
            "campaign": move.campaign_id,
            "source": move.source,
            "target": move.target,
            "at": iso(move.at),
            "prefix": move.event_id(""),
            "kind": EVENT,
            "type": TRANSFERRED,
            "name": move.campaign_name,
        }

        def move_chunk(conn: sqlite3.Connection, rows: list[int]) -> int:
            moved = [row for (row,) in conn.execute(update, {**params, "rows": json.dumps(rows)}).fetchall()]
            if moved:
                conn.execute(_TRANSFER_EVENTS, {**params, "moved_rows": json.dumps(moved)})
            return len(moved)

        def candidates() -> list[int]:
            with self._db.reading() as conn:
                return [row for (row,) in conn.execute(_TRANSFER_CANDIDATES, params)]

        return in_chunks(self._db, candidates, move_chunk, _TRANSFER_CHUNK, progress)

    def registration_groups(self, campaign_id: str) -> list[tuple[list[str], bool, int]]:
        with self._db.reading() as conn:
            rows = conn.execute(_GROUPS, (campaign_id,)).fetchall()
        return [(json.loads(markets) if markets else [], bool(confirmed), count) for markets, confirmed, count in rows]

    def timeline(self, campaign_id: str, bucket: str) -> list[TimelinePoint]:
        width = BUCKET_PREFIX[bucket]
        with self._db.reading() as conn:
            created = conn.execute(_CREATED, (width, campaign_id)).fetchall()
            confirmed = conn.execute(_CONFIRMED, (width, campaign_id)).fetchall()
        return timeline_of_prefixes(created, confirmed)


def _field_path(field: str) -> str:
    """The JSON path to ``fields.<field>`` (SQLite quotes a key with ``"``; one holding ``"`` cannot be named)."""
    if '"' in field:
        raise Internal(f"a market preference id holding a double quote cannot be transferred: {field!r}")
    return f'$.fields."{field}"'
