"""SqliteSelection: the SelectionStore port on a SqliteStore's file (entry lists, registration counts, timeline).

The entries table carries virtual columns computed from each entry's document (migration 9: ``blocked``,
``has_codes``, ``market``, ``markets``, ``date_confirmed``) and indexes over them, so each view is one
indexed query.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Any

from adapters_sqlite.bulk import in_chunks
from adapters_sqlite.database import Database
from adapters_sqlite.outbox import insert_bodies
from entrycore.events import TRANSFERRED
from entrycore.markets import MarketTransfer, transfer
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

# MKT-003 in bulk. The scan reads each entry's ranked markets from the entries_ranked index alone (the JSON text
# of the list, where SQLite keeps each string as the store wrote it: instr finds the source market's JSON string
# without parsing; both ways of writing it are looked for), and entrycore.markets.transfer gives each its new list;
# each chunk of them is then moved by one UPDATE … FROM, SQLite's JSON functions rewriting each document (no
# document is read into Python), and the moved rows' events are written in the same transaction. The UPDATE moves
# a row only if its markets are still those scanned: a row a fan changed meanwhile is left to the next scan.
_TRANSFER_CANDIDATES = (
    "SELECT rowid, markets FROM entries INDEXED BY entries_ranked"
    " WHERE campaign_id = :campaign AND (instr(markets, :needle) > 0 OR instr(markets, :needle_utf8) > 0)"
)
_NEW = "json(move.value -> '$[2]')"  # the moved list: [rowid, markets scanned, markets after the transfer]
_TRANSFER = (
    "UPDATE entries NOT INDEXED SET version = version + 1, doc = {doc}"
    " FROM json_each(:moves) AS move"
    " WHERE entries.rowid = move.value ->> '$[0]' AND entries.markets = move.value ->> '$[1]'"
    " AND entries.campaign_id = :campaign"
    # What the events need of the moved document, in one parse of it: [locale, dateCreated, fraud, fields].
    " RETURNING entries.rowid, user_id, phone, phone_confirmed,"
    " json_extract(doc, '$.locale', '$.dateCreated', '$.fraud', '$.fields')"
)
_DECODER = json.JSONDecoder()
_TRANSFER_CHUNK = 10_000  # entries per write transaction (about 0.5 s): fans' writes go between them


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
        params: dict[str, Any] = {"campaign": move.campaign_id, "at": iso(move.at)}
        params |= {"needle": json.dumps(move.source), "needle_utf8": json.dumps(move.source, ensure_ascii=False)}
        doc = _moved_document(move, params)
        update = _TRANSFER.format(doc=doc)
        event_of = _transfer_events(move)

        def candidates() -> list[tuple[int, str]]:
            with self._db.reading() as conn:
                found: list[tuple[int, str]] = conn.execute(_TRANSFER_CANDIDATES, params).fetchall()
            found.sort()  # in row order: each page of the table is rewritten once, not once per row on it
            return found

        outcomes: dict[str, list[str] | None] = {}  # ranked list (JSON text) -> after the transfer; few distinct

        def after(markets: str) -> list[str] | None:
            if markets not in outcomes:
                ranked = tuple(json.loads(markets))
                moved = transfer(ranked, move.source, move.target)
                outcomes[markets] = list(moved) if moved != ranked else None  # None: the text only mentioned it
            return outcomes[markets]

        def move_chunk(conn: sqlite3.Connection, scanned: list[tuple[int, str]], scan: int) -> int:
            lists = {row: moved for row, markets in scanned if (moved := after(markets)) is not None}
            moves = json.dumps([[row, markets, lists[row]] for row, markets in scanned if row in lists])
            rows = conn.execute(update, {**params, "moves": moves}).fetchall()
            insert_bodies(conn, [event_of(row, lists[row[0]], scan) for row in rows])
            return len(rows)

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
        return f"json_patch(doc, json_object('markets', {_NEW}, 'dateUpdated', :at, 'version', version + 1{named}))"
    paths = f"'$.markets', {_NEW}, '$.dateUpdated', :at, '$.version', version + 1"
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


def _transfer_events(move: MarketTransfer) -> Callable[[tuple[Any, ...], list[str], int], tuple[str, ...]]:
    """The maker of a moved entry's outbox row for its ``entry.transferred`` event: ``entrycore.events.event_body``
    written as JSON text around the entry's own JSON (its fields, its fraud result) as SQLite returned it,
    unparsed; what every event of the transfer shares is written once."""
    at_text = iso(move.at) or ""
    at, campaign = _quote(at_text), _quote(move.campaign_id)
    head = f'"type":"{TRANSFERRED}","occurredAt":{at},'
    about = f'"campaign":{{"id":{campaign},"name":{_quote(move.campaign_name)}}},"entry":{{"campaignId":{campaign},'
    ranks: dict[tuple[str, ...], str] = {}  # the few distinct ranked lists, written once each

    def make(row: tuple[Any, ...], markets: list[str], scan: int) -> tuple[str, ...]:
        rowid, user_id, phone, confirmed, extracted = row
        # [locale, dateCreated, fraud, fields] as SQLite wrote them: the two strings read, fraud and fields kept
        # as the JSON text they are (fields last: whatever it holds, it ends where the array does).
        locale, end = _DECODER.raw_decode(extracted, 1)
        created, end = _DECODER.raw_decode(extracted, end + 1)
        _, fraud_end = _DECODER.raw_decode(extracted, end + 1)
        fraud, fields = extracted[end + 1 : fraud_end], extracted[fraud_end + 1 : -1]
        event_id = move.event_id(rowid if scan == 0 else f"{rowid}.{scan}")  # moved again by a later scan
        key = f"{move.campaign_id}:{phone or user_id}"  # entrycore.outbox.partition_key
        ranked = ranks.get(tuple(markets))
        if ranked is None:
            ranked = ranks[tuple(markets)] = json.dumps([{"marketId": m, "rank": r} for r, m in enumerate(markets)])
        body = (
            f'{{"eventId":{_quote(event_id)},{head}"partitionKey":{_quote(key)},{about}"userId":{_quote(user_id)},'
            f'"fields":{fields},"markets":{ranked},"phoneConfirmed":{"true" if confirmed else "false"},'
            f'"locale":{_quote(locale)},"dateCreated":{_quote(created)},"dateUpdated":{at}}},'
            f'"fraud":{fraud}}}'
        )
        return (event_id, EVENT, move.campaign_id, user_id, key, body, at_text)

    return make


def _quote(text: str | None) -> str:
    """A JSON string (or null), as json.dumps writes it."""
    return "null" if text is None else encode_basestring_ascii(text)
