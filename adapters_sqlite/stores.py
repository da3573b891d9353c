"""``open_sqlite``: every port the SQLite file implements, as one ``entrycore.ports.Stores``."""

from __future__ import annotations

import os

from adapters_sqlite.audit import SqliteAudit
from adapters_sqlite.database import DEFAULT_BUSY_TIMEOUT, NewerDatabase
from adapters_sqlite.scoring import SqliteScoring
from adapters_sqlite.selection import SqliteSelection
from adapters_sqlite.store import SqliteStore
from entrycore.ports import DatastoreRefused, Stores
from entrycore.retry_queues import DEFAULT_VISIBILITY


def open_sqlite(
    source: str | os.PathLike[str] | SqliteStore,
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    retry_visibility: float = DEFAULT_VISIBILITY,
) -> Stores:
    """The stores of the SQLite file at ``source`` (created on first use, see ``SqliteStore``), or of a
    ``SqliteStore`` already made (then ``busy_timeout`` and ``retry_visibility`` are its own). Every port shares
    the file's connections and writer: the entries, invites, attempts, locks, outbox and retry queue are one
    ``SqliteStore``; scoring, selection and audit its companions on the same ``Database``. Nothing is opened
    before the first call (``prepare`` opens and migrates the file)."""
    store = (
        source
        if isinstance(source, SqliteStore)
        else SqliteStore(source, busy_timeout=busy_timeout, retry_visibility=retry_visibility)
    )
    database = store.database

    def prepare() -> None:
        try:
            store.ping()  # opens the file: migrates it, or refuses one of a newer release (OPS-006)
        except NewerDatabase as exc:
            raise DatastoreRefused(str(exc)) from None

    return Stores(
        entries=store,
        invites=store,
        attempts=store,
        locks=store,
        outbox=store,
        retries=store,
        scoring=SqliteScoring(database),
        selection=SqliteSelection(database),
        audit=SqliteAudit(database),
        ping=store.ping,
        prepare=prepare,
        close=store.close,
        write_failure=store.write_failure,
    )
