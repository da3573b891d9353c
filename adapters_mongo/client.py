"""connect(uri): a MongoEntryStore on a MongoClient with the production settings (majority writes, timeouts)."""

from __future__ import annotations

from typing import Any

from pymongo import MongoClient
from pymongo.errors import ConfigurationError

from adapters_mongo.errors import OPERATION_TIMEOUT
from adapters_mongo.store import DEFAULT_DATABASE, MongoEntryStore


def connect(uri: str, *, database: str | None = None) -> MongoEntryStore:
    """A MongoEntryStore on the database the URI names (``database`` overrides; default ``entry_service``).

    The client connects lazily: a server that cannot be reached shows at the first call
    (DependencyUnavailable), after at most 3 s of server selection. Raises ValueError for a bad URI.
    """
    try:
        client: MongoClient[dict[str, Any]] = MongoClient(
            uri,
            w="majority",  # an acknowledged write survives a primary failover
            retryWrites=True,
            retryReads=True,
            serverSelectionTimeoutMS=3000,  # SPEC PUB-007: no dependency holds a request past ~3 s
            connectTimeoutMS=1000,
            # pymongo's client-side operation timeout: each call, its retry included, ends within it — a hung
            # server held a call 10 s, then its retry 10 s more. Admin work over a whole campaign (transfers,
            # counts, index builds) runs under errors.ADMIN_TIMEOUT instead (``unavailable(admin=True)``).
            timeoutMS=OPERATION_TIMEOUT * 1000,
            # ... and for the calls pymongo sends outside that timeout (killCursors when a cursor closes, endSessions
            # when the client closes), which would otherwise wait on a hung server forever
            socketTimeoutMS=10_000,
            appname="entry-service",
            tz_aware=True,
        )
    except ConfigurationError as err:  # includes InvalidURI and failed SRV look-ups
        raise ValueError(f"Bad MongoDB URI: {err}") from None
    db = client[database] if database else client.get_default_database(default=DEFAULT_DATABASE)
    return MongoEntryStore(db, owns_client=True)
