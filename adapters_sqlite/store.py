"""SqliteEntryStore: the EntryStore and InviteStore ports on one SQLite file (embedded default); the file's other ports
are classes of their own on the same Database, put together by ``adapters_sqlite.open_sqlite``."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from adapters_sqlite.database import DEFAULT_BUSY_TIMEOUT, Database, T
from adapters_sqlite.outbox import insert_messages
from entrycore.batches import batched
from entrycore.eligibility import MAX_RANKS
from entrycore.errors import EntryExists, Internal, PhoneTaken, ReferralCodeTaken, StaleEntry
from entrycore.model import Entry
from entrycore.outbox import Contact, OutboxMessage
from entrycore.timefmt import iso
from entrywire.documents import documents

# Constant SQL text: sqlite3 keeps each prepared statement in the connection's cache, keyed by its text. An entry's
# ranked markets are its columns m0…m3 (the document holds no ``markets``): every read takes them with the document.
_ENTRY = "m0, m1, m2, m3, doc"
_GET = f"SELECT {_ENTRY} FROM entries WHERE campaign_id = ? AND user_id = ?"  # noqa: S608 - constant
_CONTACTS_CHUNK = 500  # values per IN (…): under SQLite's limit of bound parameters
_CONTACTS = (
    "SELECT user_id, phone, json_extract(doc, '$.email'), json_extract(doc, '$.locale') FROM entries"
    " WHERE campaign_id = ? AND user_id IN ({})"
)
_EXISTS = "SELECT 1 FROM entries WHERE campaign_id = ? AND user_id = ?"
_BY_CODE = f"SELECT {_ENTRY} FROM entries WHERE campaign_id = ? AND code = ?"  # noqa: S608 - constant
_HOLDER = "SELECT user_id FROM entries WHERE campaign_id = ? AND phone = ? AND phone_confirmed = 1"
_OF_USER = f"SELECT {_ENTRY} FROM entries WHERE user_id = ? ORDER BY date_created DESC, campaign_id DESC"  # noqa: S608
_COLUMNS = (
    "code, phone, phone_confirmed, date_created, version, blocked, has_codes, date_confirmed, m0, m1, m2, m3, doc"
)
_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))  # the columns' parameter names, in _columns order
_INSERT = (
    f"INSERT INTO entries ({_COLUMNS}, campaign_id, user_id)"  # noqa: S608 - constant
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# An update names in SET only the indexed columns whose value changes: SQLite rewrites every index holding a column
# SET names, changed or not (measured at 1M entries: 346 µs an update naming them all, 36 µs naming the document and
# version only). So the write reads the row's indexed columns first, in its own transaction, and picks the statement
# of that shape (cached). The scoring record (score, random score, verdict) stays only while the entry stays
# phone-confirmed with the phone it was matched by (SCR-001, PHN-005); its tags go with it.
_INDEXED = ("code", "phone", "phone_confirmed", "blocked", "has_codes", "date_confirmed", "m0", "m1", "m2", "m3")
_CURRENT = (
    f"SELECT id, version, date_created, score IS NOT NULL, {', '.join(_INDEXED)} FROM entries"  # noqa: S608 - constant
    " WHERE campaign_id = ? AND user_id = ?"
)
_UPDATES: dict[tuple[tuple[str, ...], bool], str] = {}


def _update_sql(changed: tuple[str, ...], drops_record: bool) -> str:
    sql = _UPDATES.get((changed, drops_record))
    if sql is None:
        named = "".join(f", {name} = :{name}" for name in changed)
        dropped = ", score = NULL, random_score = NULL, verdict = NULL" if drops_record else ""
        sql = _UPDATES[(changed, drops_record)] = (
            f"UPDATE entries SET version = :version, doc = :doc{named}{dropped}"  # noqa: S608 - fixed names
            " WHERE id = :id AND version = :expected"
        )
    return sql


_DROP_TAGS = "DELETE FROM entry_tags WHERE entry = ?"
_DELETE = "DELETE FROM entries WHERE campaign_id = ? AND user_id = ? AND version = ? RETURNING id"
_FORGET_ATTEMPTS = "DELETE FROM attempts WHERE campaign_id = ? AND user_id = ?"
_FORGET_RETRY = "DELETE FROM retry_queue WHERE campaign_id = ? AND user_id = ?"  # an erased entry's ids (USR-003)
_ADD_INVITE = "INSERT OR IGNORE INTO invites (campaign_id, value) VALUES (?, ?)"
_HAS_INVITE = "SELECT 1 FROM invites WHERE campaign_id = ? AND value = ?"


class SqliteEntryStore:
    """EntryStore and InviteStore on the SQLite file at ``path``.

    The file, its missing directories and the schema are created on first use (0600 / 0700). One
    instance may be shared by every thread, and survives fork(): each thread of each process opens
    its own connection. Uniqueness (entry key, referral code per campaign, confirmed phone per
    campaign) is enforced by the database itself. An entry's outbox messages are written in the entry's own
    transaction (``insert_messages``). Every failure of the database raises DependencyUnavailable; no sqlite3
    exception leaves this class.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self._db = Database(path, busy_timeout)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def database(self) -> Database:
        """The file's connections and writer, shared with the adapters of other ports (SqliteScoringStore)."""
        return self._db

    def close(self) -> None:
        """Closes this process's connections (at shutdown; the store stays usable: they reopen on demand)."""
        self._db.close()

    # EntryStore

    def ping(self) -> None:
        with self._db.reading() as conn:
            conn.execute("SELECT 1").fetchone()

    def write_failure(self) -> str | None:
        """Why writes cannot happen now — the disk full or read-only (SPEC OPS-007) — or None; cheap (the
        heartbeat asks it). See ``Database.write_failure``."""
        return self._db.write_failure()

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        row = self._db.one(_GET, (campaign_id, user_id))
        return None if row is None else load_entry(row)

    def contacts(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, Contact]:
        found: dict[str, Contact] = {}
        with self._db.reading() as conn:
            for chunk in batched(list(dict.fromkeys(user_ids)), _CONTACTS_CHUNK):
                sql = _CONTACTS.format(", ".join("?" * len(chunk)))
                for user_id, phone, email, locale in conn.execute(sql, (campaign_id, *chunk)):
                    found[user_id] = Contact(campaign_id, user_id, phone, email, locale)
        return found

    def create(self, entry: Entry, outbox: Sequence[OutboxMessage] = ()) -> None:
        columns = (*_columns(entry), entry.campaign_id, entry.user_id)

        def insert(conn: sqlite3.Connection) -> None:
            try:
                conn.execute(_INSERT, columns)
            except sqlite3.IntegrityError as err:
                raise _conflict(conn, err, entry, creating=True) from None
            insert_messages(conn, outbox)  # same job, same SAVEPOINT: a failed entry write stores none

        self._db.write(insert)

    def replace(self, entry: Entry, expected_version: int, outbox: Sequence[OutboxMessage] = ()) -> None:
        params = dict(zip(_NAMES, _columns(entry), strict=True))
        params |= {"campaign_id": entry.campaign_id, "user_id": entry.user_id, "expected": expected_version}

        def update(conn: sqlite3.Connection) -> None:
            current = conn.execute(_CURRENT, (entry.campaign_id, entry.user_id)).fetchone()
            # date_created never changes (ENT-003): a write read before an erasure never lands on the fan's next entry
            if current is None or current[1] != expected_version or current[2] != params["date_created"]:
                raise StaleEntry()
            entry_id, scored, before = current[0], current[3], dict(zip(_INDEXED, current[4:], strict=True))
            changed = tuple(name for name in _INDEXED if params[name] != before[name])
            drops_record = bool(scored) and (params["phone_confirmed"] != 1 or params["phone"] != before["phone"])
            try:
                conn.execute(_update_sql(changed, drops_record), {**params, "id": entry_id})
            except sqlite3.IntegrityError as err:
                raise _conflict(conn, err, entry, creating=False) from None
            if drops_record:
                conn.execute(_DROP_TAGS, (entry_id,))
            insert_messages(conn, outbox)

        self._db.write(update)

    def delete(
        self, campaign_id: str, user_id: str, expected_version: int, outbox: Sequence[OutboxMessage] = ()
    ) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            found = conn.execute(_DELETE, (campaign_id, user_id, expected_version)).fetchone()
            if found is None:
                raise StaleEntry()
            conn.execute(_DROP_TAGS, (found[0],))  # the scoring record went with the row
            conn.execute(_FORGET_ATTEMPTS, (campaign_id, user_id))
            conn.execute(_FORGET_RETRY, (campaign_id, user_id))  # a worker holding it finds no entry: acknowledged
            insert_messages(conn, outbox)  # the entry's pending messages stay, ahead of these

        self._db.write(delete)

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        row = self._db.one(_BY_CODE, (campaign_id, code))
        return None if row is None else load_entry(row)

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        row = self._db.one(_HOLDER, (campaign_id, phone))
        return None if row is None else str(row[0])

    def entries_of_user(self, user_id: str) -> list[Entry]:
        with self._db.reading() as conn:
            rows = conn.execute(_OF_USER, (user_id,)).fetchall()
        return [load_entry(row) for row in rows]

    # InviteStore

    def add(self, campaign_id: str, values: Iterable[str]) -> int:
        rows = [(campaign_id, value) for value in values]

        def insert(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.executemany(_ADD_INVITE, rows)
            return conn.total_changes - before  # ignored duplicates change nothing

        return self._db.write(insert)

    def contains(self, campaign_id: str, value: str) -> bool:
        return self._db.one(_HAS_INVITE, (campaign_id, value)) is not None

    # Many writes at once (batch replication, USR-004)

    def write_together(self, items: Sequence[Callable[[], T]]) -> list[T | Exception]:
        """EntryStore.write_together: the items' writes (entries, outbox, scoring records: every store on this file)
        in one transaction, a SAVEPOINT per item (``Database.together``)."""
        return self._db.together(items)


def rank_columns(markets: Sequence[str]) -> tuple[str | None, ...]:
    """A ranked list as the row's m0…m3 (an unused rank is NULL)."""
    return (*markets[:MAX_RANKS], *(None,) * (MAX_RANKS - len(markets)))


def ranked(columns: Sequence[str | None]) -> tuple[str, ...]:
    """The ranked list of a row's m0…m3."""
    return tuple(market for market in columns if market is not None)


def _columns(entry: Entry) -> tuple[object, ...]:
    """The entry's columns in _COLUMNS order: its indexed facts, its ranked markets (m0…m3) and its document
    without them."""
    doc = documents.unstructure(entry)
    del doc["markets"]
    return (
        entry.code,
        entry.phone,
        int(entry.phone_confirmed),
        iso(entry.date_created),
        entry.version,
        int(entry.is_blocked),
        int(bool(entry.codes)),
        iso(entry.date_phone_confirmed),
        *rank_columns(entry.markets),
        json.dumps(doc, separators=(",", ":")),
    )


def load_entry(row: Sequence[Any]) -> Entry:
    """The entry of a row read as ``m0, m1, m2, m3, doc`` (_ENTRY)."""
    doc = json.loads(row[4])
    doc["markets"] = ranked(row[:MAX_RANKS])
    return documents.structure(doc, Entry)


def load_entries(database: Database, entries: Iterable[Entry], batch: int = 10_000) -> int:
    """Writes new entries in bulk (benchmarks' preloads, imports): ``batch`` rows per transaction, no outbox
    message, no conflict translation (a taken key fails the batch). Returns how many were written."""
    written = 0
    rows: list[tuple[object, ...]] = []

    def flush() -> None:
        chunk = list(rows)
        database.write(lambda conn: conn.executemany(_INSERT, chunk))
        rows.clear()

    for entry in entries:
        rows.append((*_columns(entry), entry.campaign_id, entry.user_id))
        written += 1
        if len(rows) >= batch:
            flush()
    if rows:
        flush()
    return written


def _conflict(conn: sqlite3.Connection, err: sqlite3.IntegrityError, entry: Entry, *, creating: bool) -> Exception:
    """The port's exception for a failed uniqueness constraint (named in SQLite's message by column).

    SQLite reports one failed constraint, not necessarily the key's: a create whose key is taken is
    EntryExists whatever else also collides, so the use case turns it into an update.
    """
    message = str(err)
    if creating and conn.execute(_EXISTS, (entry.campaign_id, entry.user_id)).fetchone() is not None:
        return EntryExists(f"{entry.campaign_id}/{entry.user_id}")
    if "entries.code" in message:
        return ReferralCodeTaken(entry.code)
    if "entries.phone" in message:
        return PhoneTaken(f"a confirmed phone of campaign {entry.campaign_id}")  # no phone number in logs
    return Internal(f"Unexpected constraint failure in the SQLite store: {message}")
