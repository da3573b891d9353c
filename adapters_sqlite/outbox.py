"""The Outbox and AttemptStore ports on the SQLite file: pending side effects and failed confirmations."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from adapters_sqlite.database import Database
from entrycore.errors import Internal
from entrycore.outbox import NEVER, DeadLetter, OutboxMessage, OutboxStatus
from entrycore.ports import ATTEMPTS_KEPT
from entrycore.timefmt import iso, parse_iso, parse_iso_opt

_INSERT = (
    "INSERT INTO outbox (id, kind, campaign_id, user_id, partition_key, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
# The fake's rule (tests/fakes.py) in SQL: a pending message is claimable when it is neither leased nor
# waiting for its retry, and no older pending message of its entry and channel (kind) is (which would block
# it): events, receipts and retry requests keep their order each, and never wait for one another (PUB-002). A delivered
# message is deleted (an older version marked it: every query still says delivered_at IS NULL). The claim
# walks outbox_due in seq order — the due check from the index alone, a row read only for the due ones —
# on the relay's own connection, then re-checks and leases the candidates by key in one short write job:
# the writer thread never scans the backlog. Anything that changed in between only makes the claim
# smaller: a candidate taken or retried meanwhile drops out, and so do the later ones of its entry.
_BLOCKERS = """
    (o.due_at IS NULL OR o.due_at <= :now) AND (o.lease_until IS NULL OR o.lease_until <= :now)
    AND NOT EXISTS (
        SELECT 1 FROM outbox AS b
         WHERE b.campaign_id = o.campaign_id AND b.user_id = o.user_id AND b.kind = o.kind
           AND b.delivered_at IS NULL AND b.seq < o.seq AND (b.lease_until > :now OR b.due_at > :now))
"""
_CLAIMABLE = f"""
    SELECT seq, id, kind, campaign_id, user_id, partition_key, body, created_at, attempts
      FROM outbox AS o INDEXED BY outbox_due
     WHERE o.delivered_at IS NULL AND {_BLOCKERS}
     ORDER BY o.seq
     LIMIT :limit
"""  # noqa: S608 - constant SQL text, no value in it
_STILL_CLAIMABLE = f"""
    SELECT seq, attempts
      FROM outbox AS o
     WHERE o.seq IN (SELECT value FROM json_each(:seqs)) AND o.delivered_at IS NULL AND {_BLOCKERS}
"""  # noqa: S608 - constant SQL text, no value in it
_LEASE = "UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE seq = ?"
_DELIVERED = "DELETE FROM outbox WHERE id = ? AND lease_owner = ? AND delivered_at IS NULL"
_LAST_DELIVERED = "UPDATE outbox_meta SET last_delivered_at = max(coalesce(last_delivered_at, ''), ?) WHERE id = 1"
_RETRY = (
    "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, due_at = ?, attempts = attempts + ?, waiting = ?,"
    " last_error = coalesce(?, last_error) WHERE id = ? AND lease_owner = ? AND delivered_at IS NULL"
)
_RELEASE_WAITING = (
    "UPDATE outbox INDEXED BY outbox_waiting SET due_at = NULL, waiting = 0"
    " WHERE kind = ? AND waiting = 1 AND delivered_at IS NULL"
)
_PARKED = iso(NEVER)
# A parked message is a pending row due never (schema migration 6): the claim passes it and holds back
# the later messages of its entry by the rules above, with no change.
_PARK = (
    "UPDATE outbox SET lease_owner = NULL, lease_until = NULL, due_at = ?, attempts = attempts + 1, waiting = 0,"
    " parked_at = ?, last_error = ? WHERE id = ? AND lease_owner = ? AND delivered_at IS NULL"
)
_DEAD = """
    SELECT seq, id, kind, campaign_id, user_id, partition_key, body, created_at, attempts, parked_at, last_error,
           (SELECT count(*) FROM outbox AS b
             WHERE b.campaign_id = o.campaign_id AND b.user_id = o.user_id AND b.kind = o.kind
               AND b.seq > o.seq AND b.delivered_at IS NULL AND b.parked_at IS NULL)
      FROM outbox AS o INDEXED BY outbox_parked
     WHERE o.parked_at IS NOT NULL AND o.delivered_at IS NULL
     ORDER BY o.parked_at, o.id
     LIMIT ?
"""
_REQUEUE = (
    "UPDATE outbox SET parked_at = NULL, due_at = NULL, attempts = 0"
    " WHERE id = ? AND parked_at IS NOT NULL AND delivered_at IS NULL"
)
_REQUEUE_ALL = (
    "UPDATE outbox SET parked_at = NULL, due_at = NULL, attempts = 0"
    " WHERE parked_at IS NOT NULL AND delivered_at IS NULL"
)
_STATUS = (
    "SELECT count(*), min(created_at) FROM outbox INDEXED BY outbox_due"
    " WHERE delivered_at IS NULL AND (due_at IS NULL OR due_at < ?)"
)
_STATUS_DEAD = (
    "SELECT count(*), min(parked_at) FROM outbox INDEXED BY outbox_parked"
    " WHERE parked_at IS NOT NULL AND delivered_at IS NULL"
)
_STATUS_META = "SELECT last_delivered_at FROM outbox_meta WHERE id = 1"

_RECORD_ATTEMPT = "INSERT INTO attempts (campaign_id, user_id, at) VALUES (?, ?, ?)"
_FORGET_ATTEMPTS = "DELETE FROM attempts WHERE campaign_id = ? AND user_id = ? AND at < ?"
_COUNT_ATTEMPTS = "SELECT count(*) FROM attempts WHERE campaign_id = ? AND user_id = ? AND at > ?"
# PHN-010's check and record in one statement (inside a write transaction: no other writer in between).
_RESERVE_ATTEMPT = (
    "INSERT INTO attempts (campaign_id, user_id, at) SELECT :c, :u, :at"
    " WHERE (SELECT count(*) FROM attempts WHERE campaign_id = :c AND user_id = :u AND at > :since) < :limit"
)
_RELEASE_ATTEMPT = "DELETE FROM attempts WHERE rowid = ? AND campaign_id = ? AND user_id = ?"


@contextlib.contextmanager
def _unique_ids() -> Iterator[None]:
    try:
        yield
    except sqlite3.IntegrityError as err:  # only the message id is unique: Ids broke its promise
        raise Internal(f"Outbox message id used twice: {err}") from None


def insert_selected(conn: sqlite3.Connection, select: str, params: Mapping[str, Any]) -> None:
    """Runs ``select``, an ``INSERT INTO outbox … SELECT`` of bulk changes that compose their events' JSON in SQL."""
    with _unique_ids():
        conn.execute(select, params)


def insert_messages(conn: sqlite3.Connection, outbox: Sequence[OutboxMessage]) -> None:
    """Adds ``outbox`` to the write transaction of its entry (call it after the entry's own statement)."""
    if not outbox:
        return
    rows = [
        (
            m.id,
            m.kind,
            m.campaign_id,
            m.user_id,
            m.partition_key,
            json.dumps(dict(m.body), separators=(",", ":")),
            iso(m.created_at) or "",
        )
        for m in outbox
    ]
    with _unique_ids():
        conn.executemany(_INSERT, rows)


class SqliteOutbox:
    """Outbox and AttemptStore on ``database``, the SQLite file's connections and writer that SqliteEntryStore shares:
    SqliteEntryStore writes an entry's messages in the entry's own transaction (``insert_messages``).

    Every write is one job of the group-commit writer, so a claim is atomic against other claims of
    every thread and process; reads use the thread's own connection.
    """

    def __init__(self, database: Database) -> None:
        self._db = database

    # Outbox

    def claim(self, owner: str, limit: int, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        if limit <= 0:
            return []
        at, until = iso(now), iso(now + lease)
        with self._db.reading() as conn:
            candidates = conn.execute(_CLAIMABLE, {"now": at, "limit": limit}).fetchall()
        if not candidates:
            return []  # an idle relay polls often: it never queues behind the writer for nothing
        seqs = json.dumps([row[0] for row in candidates])

        def lease_due(conn: sqlite3.Connection) -> dict[int, int]:
            still = dict(conn.execute(_STILL_CLAIMABLE, {"now": at, "seqs": seqs}).fetchall())
            conn.executemany(_LEASE, [(owner, until, seq) for seq in still])
            return still  # seq -> attempts, as leased

        leased = self._db.write(lease_due)
        return [_message(row, leased[row[0]]) for row in candidates if row[0] in leased]

    def delivered(self, owner: str, ids: Sequence[str], now: datetime) -> None:
        if not ids:
            return
        at = iso(now)
        rows = [(message_id, owner) for message_id in dict.fromkeys(ids)]

        def forget(conn: sqlite3.Connection) -> None:
            before = conn.total_changes
            conn.executemany(_DELIVERED, rows)  # only while still leased by this relay
            if conn.total_changes != before:
                conn.execute(_LAST_DELIVERED, (at,))

        self._db.write(forget)

    def retry_later(
        self, owner: str, ids: Sequence[str], at: datetime, *, error: str | None = None, counted: bool = True
    ) -> None:
        rows = [(iso(at), int(counted), int(not counted), error, m, owner) for m in dict.fromkeys(ids)]
        self._write_each(_RETRY, rows)

    def release_waiting(self, kind: str, now: datetime) -> int:
        def release(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            conn.execute(_RELEASE_WAITING, (kind,))
            return conn.total_changes - before

        return self._db.write(release)

    def park(self, owner: str, ids: Sequence[str], now: datetime, error: str) -> None:
        self._write_each(_PARK, [(_PARKED, iso(now), error, message_id, owner) for message_id in dict.fromkeys(ids)])

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        if limit <= 0:
            return []
        with self._db.reading() as conn:
            rows = conn.execute(_DEAD, (limit,)).fetchall()
        return [DeadLetter(_message(row[:9], row[8]), parse_iso(row[9]), row[10] or "", row[11]) for row in rows]

    def requeue_dead_letters(self, ids: Sequence[str] | None, now: datetime) -> int:
        def requeue(conn: sqlite3.Connection) -> int:
            before = conn.total_changes
            if ids is None:
                conn.execute(_REQUEUE_ALL)
            else:
                conn.executemany(_REQUEUE, [(message_id,) for message_id in dict.fromkeys(ids)])
            return conn.total_changes - before

        return self._db.write(requeue)

    def _write_each(self, statement: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return

        def run(conn: sqlite3.Connection) -> None:
            # Returns None, not the cursor: a cursor finalised on the caller's thread while the writer
            # thread uses the connection fails that batch with SQLITE_MISUSE.
            conn.executemany(statement, rows)

        self._db.write(run)

    def outbox_status(self) -> OutboxStatus:
        with self._db.reading() as conn:
            backlog, oldest = conn.execute(_STATUS, (_PARKED,)).fetchone()
            dead, oldest_dead = conn.execute(_STATUS_DEAD).fetchone()
            (last,) = conn.execute(_STATUS_META).fetchone() or (None,)
        return OutboxStatus(
            backlog=int(backlog),
            last_delivered_at=parse_iso_opt(last),
            oldest_pending_at=parse_iso_opt(oldest),
            dead_letters=int(dead),
            oldest_dead_letter_at=parse_iso_opt(oldest_dead),
        )

    # AttemptStore

    def record_failed_attempt(self, campaign_id: str, user_id: str, at: datetime) -> None:
        def record(conn: sqlite3.Connection) -> None:
            conn.execute(_RECORD_ATTEMPT, (campaign_id, user_id, iso(at)))
            conn.execute(_FORGET_ATTEMPTS, (campaign_id, user_id, iso(at - ATTEMPTS_KEPT)))  # bounded: one entry

        self._db.write(record)

    def failed_attempts(self, campaign_id: str, user_id: str, since: datetime) -> int:
        with self._db.reading() as conn:
            (count,) = conn.execute(_COUNT_ATTEMPTS, (campaign_id, user_id, iso(since))).fetchone()
        return int(count)

    def reserve_attempt(self, campaign_id: str, user_id: str, at: datetime, since: datetime, limit: int) -> str | None:
        params = {"c": campaign_id, "u": user_id, "at": iso(at), "since": iso(since), "limit": limit}

        def reserve(conn: sqlite3.Connection) -> str | None:
            cursor = conn.execute(_RESERVE_ATTEMPT, params)
            if cursor.rowcount != 1:
                return None
            conn.execute(_FORGET_ATTEMPTS, (campaign_id, user_id, iso(at - ATTEMPTS_KEPT)))
            return str(cursor.lastrowid)

        reserved: str | None = self._db.write(reserve)
        return reserved

    def release_attempt(self, campaign_id: str, user_id: str, reservation: str) -> None:
        self._db.write(lambda conn: conn.execute(_RELEASE_ATTEMPT, (int(reservation), campaign_id, user_id)))


def _message(row: tuple[Any, ...], attempts: int) -> OutboxMessage:
    _, message_id, kind, campaign_id, user_id, partition_key, body, created_at, _ = row
    return OutboxMessage(
        message_id, kind, campaign_id, user_id, partition_key, json.loads(body), parse_iso(created_at), attempts
    )
