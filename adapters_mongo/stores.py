"""``open_mongo``: every port the MongoDB database implements, as one ``entrycore.ports.Stores``."""

from __future__ import annotations

from typing import Any

from adapters_mongo.attempts import MongoAttempts
from adapters_mongo.audit import MongoAudit
from adapters_mongo.client import connect
from adapters_mongo.indexes import IndexConflict, NewerLayout
from adapters_mongo.locks import MongoLocks
from adapters_mongo.outbox import MongoOutbox
from adapters_mongo.retries import MongoRetries
from adapters_mongo.scoring import MongoScoring
from adapters_mongo.selection import MongoSelection
from adapters_mongo.store import MongoStore
from entrycore.ports import DatastoreRefused, Stores
from entrycore.retry_queues import DEFAULT_VISIBILITY


def open_mongo(
    source: str | MongoStore | Any, *, database: str | None = None, retry_visibility: float = DEFAULT_VISIBILITY
) -> Stores:
    """The stores of a MongoDB database: ``source`` is a URI (``connect``: the production client settings; the
    database it names, or ``database``; the stores close the client), a ``MongoStore`` already made, or a pymongo (or
    mongomock) database or client of the caller's, which the caller closes. The entries and invites are a
    ``MongoStore``; every other port is an object of its own on the same database (the outbox reads the messages
    MongoStore writes inside each entry document, with the entry). ``retry_visibility``: seconds a received retry
    request stays hidden (MongoRetries). The client connects lazily (``prepare`` ensures the layout and indexes)."""
    if isinstance(source, str):
        store = connect(source, database=database)
    elif isinstance(source, MongoStore):
        store = source
    else:
        store = MongoStore(source)
    db = store.database

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
        attempts=MongoAttempts(db),
        locks=MongoLocks(db),
        outbox=MongoOutbox(db),
        retries=MongoRetries(db, retry_visibility=retry_visibility),
        scoring=MongoScoring(db),
        selection=MongoSelection(db),
        audit=MongoAudit(db),
        ping=store.ping,
        prepare=prepare,
        close=store.close,
    )
