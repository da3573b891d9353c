"""``open_sqlite``: every port the SQLite file implements, as one ``entrycore.ports.Stores``."""

from __future__ import annotations

import os

from adapters_sqlite.audit import SqliteAuditTrail
from adapters_sqlite.database import DEFAULT_BUSY_TIMEOUT, NewerDatabase
from adapters_sqlite.draws import SqliteDrawStore
from adapters_sqlite.locks import SqliteLocks
from adapters_sqlite.outbox import SqliteOutbox
from adapters_sqlite.retries import SqliteRetryQueue
from adapters_sqlite.scoring import SqliteScoringStore
from adapters_sqlite.selection import SqliteSelectionStore
from adapters_sqlite.store import SqliteEntryStore
from entrycore.ports import DatastoreRefused, Stores
from entrycore.retry_queues import DEFAULT_VISIBILITY


def open_sqlite(
    source: str | os.PathLike[str] | SqliteEntryStore,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    retry_visibility: float = DEFAULT_VISIBILITY,
) -> Stores:
    """The stores of the SQLite file at ``source`` (created on first use, see ``SqliteEntryStore``), or of a
    ``SqliteEntryStore`` already made (then ``busy_timeout`` is its own). Every port shares the file's connections
    and writer (its ``Database``): the entries and invites are a ``SqliteEntryStore``, which writes an entry's outbox
    messages in the entry's own transaction; the outbox with the attempts (``SqliteOutbox``), the locks, the retry
    queue (hiding a received request ``retry_visibility`` seconds), scoring, selection and audit are objects of
    their own on the same ``Database``. Nothing is opened before the first call (``prepare`` opens and migrates
    the file)."""
    store = source if isinstance(source, SqliteEntryStore) else SqliteEntryStore(source, busy_timeout=busy_timeout)
    database = store.database
    outbox = SqliteOutbox(database)

    def prepare() -> None:
        try:
            store.ping()  # opens the file: migrates it, or refuses one of a newer release (OPS-006)
        except NewerDatabase as exc:
            raise DatastoreRefused(str(exc)) from None

    return Stores(
        entries=store,
        invites=store,
        attempts=outbox,
        locks=SqliteLocks(database),
        outbox=outbox,
        retries=SqliteRetryQueue(database, retry_visibility=retry_visibility),
        scoring=SqliteScoringStore(database),
        selection=SqliteSelectionStore(database),
        audit=SqliteAuditTrail(database),
        draws=SqliteDrawStore(database),
        ping=store.ping,
        prepare=prepare,
        close=store.close,
        write_failure=store.write_failure,
    )
