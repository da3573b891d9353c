"""The embedded default store: entries, invite lists, outbox, attempts and the retry queue in one SQLite file
(stdlib sqlite3, WAL)."""

from adapters_sqlite.audit import SqliteAudit
from adapters_sqlite.scoring import SqliteScoring
from adapters_sqlite.selection import SqliteSelection
from adapters_sqlite.store import SqliteStore
from adapters_sqlite.stores import open_sqlite

__all__ = ["SqliteAudit", "SqliteScoring", "SqliteSelection", "SqliteStore", "open_sqlite"]
