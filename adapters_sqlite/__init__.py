"""The embedded default store: entries, invite lists, outbox and attempts in one SQLite file (stdlib sqlite3, WAL)."""

from adapters_sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
