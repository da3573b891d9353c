"""The embedded default store: entries, invite lists, outbox, attempts and the retry queue in one SQLite file
(stdlib sqlite3, WAL)."""

from adapters_sqlite.audit import SqliteAudit
from adapters_sqlite.scoring import SqliteScoring
from adapters_sqlite.selection import SqliteSelection
from adapters_sqlite.store import SqliteStore

__all__ = ["SqliteAudit", "SqliteScoring", "SqliteSelection", "SqliteStore"]
