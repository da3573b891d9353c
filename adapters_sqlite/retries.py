"""The RetryQueue port on the SQLite file (SPEC PUB-005, ``ENTRY_RETRY_QUEUE=store``).

One ``retry_queue`` row per entry (schema.py, migration 3), so a request is merged with the one already
queued or received for its entry, as FakeRetryQueue does. A receive is one job of the group-commit writer
(atomic against every other receive of every thread and process): it takes the visible rows oldest first,
hides them for the visibility timeout and gives each a fresh random handle. Acknowledging deletes the rows
still holding the handle; a handle gone stale (its row was received again after the timeout) deletes
nothing. Time is the wall clock (``datetime.now(UTC)``): the stores have no Clock port.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from adapters_sqlite.database import Database
from entrycore.outbox import RetryRequest
from entrycore.retry_queues import DEFAULT_VISIBILITY, queue_down, visibility_timeout, wait_for
from entrycore.timefmt import iso

# A request for an entry already queued merges with it; one for an entry whose request a worker holds marks
# it for re-queueing, so that the worker's acknowledgement (of older data) does not swallow the new one.
_ENQUEUE = (
    "INSERT INTO retry_queue (campaign_id, user_id, visible_at) VALUES (?, ?, ?)"
    " ON CONFLICT (campaign_id, user_id) DO UPDATE SET requeue = 1 WHERE handle IS NOT NULL"
)
_ANY_VISIBLE = "SELECT 1 FROM retry_queue WHERE visible_at <= ? LIMIT 1"
_VISIBLE = (
    "SELECT rowid, campaign_id, user_id FROM retry_queue WHERE visible_at <= ? ORDER BY visible_at, rowid LIMIT ?"
)
_HIDE = "UPDATE retry_queue SET visible_at = ?, handle = ?, receive_count = receive_count + 1 WHERE rowid = ?"
_ACKNOWLEDGE = "DELETE FROM retry_queue WHERE handle = ? AND requeue = 0"
_REQUEUE = "UPDATE retry_queue SET handle = NULL, requeue = 0, visible_at = ? WHERE handle = ? AND requeue = 1"


class SqliteRetryQueue:
    """RetryQueue on ``database`` (the SQLite file's connections and writer, shared with SqliteEntryStore, whose
    erasure deletes the entry's request); a received request stays hidden for ``retry_visibility`` seconds
    (ValueError unless positive)."""

    def __init__(self, database: Database, *, retry_visibility: float = DEFAULT_VISIBILITY) -> None:
        self._retry_visibility: timedelta = visibility_timeout(retry_visibility)
        self._db = database

    def enqueue(self, requests: Sequence[RetryRequest]) -> dict[RetryRequest, str]:
        if not requests:
            return {}
        at = iso(datetime.now(UTC))
        rows = [(r.campaign_id, r.user_id, at) for r in dict.fromkeys(requests)]

        def insert(conn: sqlite3.Connection) -> None:
            conn.executemany(_ENQUEUE, rows)  # returns None: no cursor may leave the writer thread (outbox.py)

        with queue_down():
            self._db.write(insert)
        return {}  # a request is two ids: nothing in it a datastore could refuse

    def receive(self, max_count: int, wait_seconds: float) -> list[tuple[str, RetryRequest]]:
        if max_count <= 0:
            return []
        with queue_down():
            return wait_for(
                lambda: self._receive_visible(max_count), wait_seconds, monotonic=time.monotonic, sleep=time.sleep
            )

    def acknowledge(self, handles: Sequence[str]) -> None:
        if not handles:
            return
        rows = [(handle,) for handle in dict.fromkeys(handles)]
        at = iso(datetime.now(UTC))

        def delete(conn: sqlite3.Connection) -> None:
            conn.executemany(_ACKNOWLEDGE, rows)
            conn.executemany(_REQUEUE, [(at, handle) for (handle,) in rows])

        with queue_down():
            self._db.write(delete)

    def _receive_visible(self, max_count: int) -> list[tuple[str, RetryRequest]]:
        now = datetime.now(UTC)
        at, until = iso(now), iso(now + self._retry_visibility)
        with self._db.reading() as conn:
            if conn.execute(_ANY_VISIBLE, (at,)).fetchone() is None:
                return []  # an idle worker polls: it never queues behind the writer for nothing

        def hide(conn: sqlite3.Connection) -> list[tuple[str, RetryRequest]]:
            taken = [(uuid.uuid4().hex, row) for row in conn.execute(_VISIBLE, (at, max_count)).fetchall()]
            conn.executemany(_HIDE, [(until, handle, rowid) for handle, (rowid, _, _) in taken])
            return [(handle, RetryRequest(campaign_id, user_id)) for handle, (_, campaign_id, user_id) in taken]

        return self._db.write(hide)
