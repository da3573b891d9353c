"""``open_mongo``: every port the MongoDB database implements, as one ``entrycore.ports.Stores``."""

from __future__ import annotations

from typing import Any

from adapters_mongo.attempts import MongoAttemptStore
from adapters_mongo.audit import MongoAuditTrail
from adapters_mongo.client import connect
from adapters_mongo.draws import MongoDrawStore
from adapters_mongo.indexes import IndexConflict, NewerLayout
from adapters_mongo.locks import MongoLocks
from adapters_mongo.outbox import MongoOutbox
from adapters_mongo.retries import MongoRetryQueue
from adapters_mongo.scoring import MongoScoringStore
from adapters_mongo.selection import MongoSelectionStore
from adapters_mongo.store import MongoEntryStore
from entrycore.ports import DatastoreRefused, Stores
from entrycore.retry_queues import DEFAULT_VISIBILITY


def open_mongo(
    source: str | MongoEntryStore | Any, *, database: str | None = None, retry_visibility: float = DEFAULT_VISIBILITY
) -> Stores:
    """The stores of a MongoDB database: ``source`` is a URI (``connect``: the production client settings; the
    database it names, or ``database``; the stores close the client), a ``MongoEntryStore`` already made, or a
    pymongo (or mongomock) database or client of the caller's, which the caller closes. The entries and invites are a
    ``MongoEntryStore``; every other port is an object of its own on the same database (the outbox reads the messages
    MongoEntryStore writes inside each entry document, with the entry). ``retry_visibility``: seconds a received retry
    request stays hidden (MongoRetryQueue). The client connects lazily (``prepare`` ensures the layout and indexes)."""
    if isinstance(source, str):
        store = connect(source, database=database)
    elif isinstance(source, MongoEntryStore):
        store = source
    else:
        store = MongoEntryStore(source)
    db = store.database
    draws = MongoDrawStore(db)

    def prepare() -> None:
        try:
            store.ensure_indexes()
        except IndexConflict as exc:
            raise DatastoreRefused(f"{exc}; drop or rename it, then start again") from None
        except NewerLayout as exc:
            raise DatastoreRefused(str(exc)) from None

    return Stores(
        entries=store,
        invites=store,
        attempts=MongoAttemptStore(db),
        locks=MongoLocks(db),
        outbox=MongoOutbox(db),
        retries=MongoRetryQueue(db, retry_visibility=retry_visibility),
        scoring=MongoScoringStore(db),
        selection=MongoSelectionStore(db),
        audit=MongoAuditTrail(db),
        draws=draws,
        ping=store.ping,
        prepare=prepare,
        close=store.close,
    )
