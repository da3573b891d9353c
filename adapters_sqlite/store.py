"""SqliteStore: the EntryStore, InviteStore, AttemptStore, Locks, Outbox and RetryQueue ports on one SQLite file
(embedded default)."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from adapters_sqlite.database import DEFAULT_BUSY_TIMEOUT, Database
from adapters_sqlite.locks import SqliteLocks
from adapters_sqlite.outbox import SqliteOutbox, insert_messages
from adapters_sqlite.retries import SqliteRetries
from adapters_sqlite.scoring import follow_entry
from entrycore.errors import EntryExists, Internal, PhoneTaken, ReferralCodeTaken, StaleEntry
from entrycore.model import Entry
from entrycore.outbox import OutboxMessage
from entrycore.retry_queues import DEFAULT_VISIBILITY, visibility_timeout
from entrycore.timefmt import iso

# Constant SQL text: sqlite3 keeps each prepared statement in the connection's cache, keyed by its text.
_GET = "SELECT doc FROM entries WHERE campaign_id = ? AND user_id = ?"
_EXISTS = "SELECT 1 FROM entries WHERE campaign_id = ? AND user_id = ?"
_BY_CODE = "SELECT doc FROM entries WHERE campaign_id = ? AND code = ?"
_HOLDER = "SELECT user_id FROM entries WHERE campaign_id = ? AND phone = ? AND phone_confirmed = 1"
_OF_USER = "SELECT doc FROM entries WHERE user_id = ? ORDER BY date_created DESC, campaign_id DESC"
_INSERT = (
    "INSERT INTO entries (code, phone, phone_confirmed, date_created, version, doc, campaign_id, user_id)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE = (
    "UPDATE entries SET code = ?, phone = ?, phone_confirmed = ?, date_created = ?, version = ?, doc = ?"
    " WHERE campaign_id = ? AND user_id = ? AND version = ? AND date_created = ?"
)  # date_created never changes (ENT-003): a write read before an erasure never lands on the fan's next entry
_DELETE = "DELETE FROM entries WHERE campaign_id = ? AND user_id = ? AND version = ?"
_FORGET_ATTEMPTS = "DELETE FROM attempts WHERE campaign_id = ? AND user_id = ?"
_FORGET_RETRY = "DELETE FROM retry_queue WHERE campaign_id = ? AND user_id = ?"  # an erased entry's ids (USR-003)
_ADD_INVITE = "INSERT OR IGNORE INTO invites (campaign_id, value) VALUES (?, ?)"
_HAS_INVITE = "SELECT 1 FROM invites WHERE campaign_id = ? AND value = ?"


class SqliteStore(SqliteOutbox, SqliteRetries, SqliteLocks):
    """EntryStore, InviteStore, AttemptStore, Outbox and RetryQueue on the SQLite file at ``path``.

    The file, its missing directories and the schema are created on first use (0600 / 0700). One
    instance may be shared by every thread, and survives fork(): each thread of each process opens
    its own connection. Uniqueness (entry key, referral code per campaign, confirmed phone per
    campaign) is enforced by the database itself. An entry's outbox messages are written in the same
    transaction as the entry (SqliteOutbox). The retry queue (SqliteRetries) hides a received request
    for ``retry_visibility`` seconds. Every failure of the database raises DependencyUnavailable, except
    in the retry queue's methods, which raise DeliveryFailed as the port says; no sqlite3 exception
    leaves this class.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        retry_visibility: float = DEFAULT_VISIBILITY,
    ) -> None:
        self._retry_visibility = visibility_timeout(retry_visibility)
        self._db = Database(path, busy_timeout)

    @property
    def path(self) -> Path:
        return self._db.path

    @property
    def database(self) -> Database:
        """The file's connections and writer, shared with the adapters of other ports (SqliteScoring)."""
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
        return None if row is None else _load(row[0])

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
        columns = (*_columns(entry), entry.campaign_id, entry.user_id, expected_version, iso(entry.date_created))

        def update(conn: sqlite3.Connection) -> None:
            try:
                cursor = conn.execute(_UPDATE, columns)
            except sqlite3.IntegrityError as err:
                raise _conflict(conn, err, entry, creating=False) from None
            if cursor.rowcount == 0:
                raise StaleEntry()
            follow_entry(conn, entry)  # the scoring record follows in the same transaction (SCR-001, REQ-006)
            insert_messages(conn, outbox)

        self._db.write(update)

    def delete(
        self, campaign_id: str, user_id: str, expected_version: int, outbox: Sequence[OutboxMessage] = ()
    ) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            if conn.execute(_DELETE, (campaign_id, user_id, expected_version)).rowcount == 0:
                raise StaleEntry()
            conn.execute(_FORGET_ATTEMPTS, (campaign_id, user_id))
            conn.execute(_FORGET_RETRY, (campaign_id, user_id))  # a worker holding it finds no entry: acknowledged
            insert_messages(conn, outbox)  # the entry's pending messages stay, ahead of these

        self._db.write(delete)

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        row = self._db.one(_BY_CODE, (campaign_id, code))
        return None if row is None else _load(row[0])

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        row = self._db.one(_HOLDER, (campaign_id, phone))
        return None if row is None else str(row[0])

    def entries_of_user(self, user_id: str) -> list[Entry]:
        with self._db.reading() as conn:
            rows = conn.execute(_OF_USER, (user_id,)).fetchall()
        return [_load(doc) for (doc,) in rows]

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


def _columns(entry: Entry) -> tuple[object, ...]:
    """The indexed copies of the entry's fields, then its document, in _INSERT / _UPDATE order."""
    doc = json.dumps(entry.to_document(), separators=(",", ":"))
    return (entry.code, entry.phone, int(entry.phone_confirmed), iso(entry.date_created), entry.version, doc)


def _load(doc: str) -> Entry:
    return Entry.from_document(json.loads(doc))


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
