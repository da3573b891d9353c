"""The embedded default store: entries and invite lists in one SQLite file (stdlib sqlite3, WAL)."""

from adapters_sqlite.store import SqliteStore

__all__ = ["SqliteStore"]
