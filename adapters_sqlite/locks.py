"""SqliteLocks: the Locks port on the ``locks`` table of a SqliteEntryStore's file (migration 11): one row per held
name, taken or renewed by one upsert whose condition is the rule (free, lapsed, or already the owner's), so two
processes never both hold a name."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from adapters_sqlite.database import Database
from entrycore.timefmt import iso

# Times are entrycore.timefmt.iso text (fixed width, UTC): text order is time order.
_TAKE = (
    "INSERT INTO locks (name, owner, until) VALUES (:name, :owner, :until)"
    " ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, until = excluded.until"
    " WHERE locks.owner = excluded.owner OR locks.until <= :now"
)
_HOLDER = "SELECT owner FROM locks WHERE name = ? AND until > ?"
_RELEASE = "DELETE FROM locks WHERE name = ? AND owner = ?"


class SqliteLocks:
    """Locks on ``database`` (the SQLite file's connections and writer, shared with SqliteEntryStore)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    def take_lock(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        params = {"name": name, "owner": owner, "until": iso(until), "now": iso(now)}

        def take(conn: sqlite3.Connection) -> bool:
            return conn.execute(_TAKE, params).rowcount == 1

        return self._db.write(take)

    def lock_holder(self, name: str, now: datetime) -> str | None:
        row = self._db.one(_HOLDER, (name, iso(now)))
        return None if row is None else str(row[0])

    def release_lock(self, name: str, owner: str) -> None:
        self._db.write(lambda conn: conn.execute(_RELEASE, (name, owner)).rowcount)
