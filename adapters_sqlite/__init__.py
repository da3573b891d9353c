"""The embedded default store: entries, invite lists, outbox, attempts and the retry queue in one SQLite file
(stdlib sqlite3, WAL)."""

from adapters_sqlite.audit import SqliteAuditTrail
from adapters_sqlite.scoring import SqliteScoringStore
from adapters_sqlite.selection import SqliteSelectionStore
from adapters_sqlite.store import SqliteEntryStore
from adapters_sqlite.stores import open_sqlite

__all__ = ["SqliteAuditTrail", "SqliteEntryStore", "SqliteScoringStore", "SqliteSelectionStore", "open_sqlite"]
