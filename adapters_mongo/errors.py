"""The one translation of pymongo failures into the domain's DependencyUnavailable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from typing import Any

import pymongo
from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError, PyMongoError

from entrycore.errors import DependencyUnavailable, Internal

OPERATION_TIMEOUT = 3.0  # seconds a datastore call may take, retries included (the client's timeoutMS)
ADMIN_TIMEOUT = 3600.0  # seconds for an admin operation over a whole campaign (a transfer, counts, an index build):
# one deadline for the whole ``unavailable(admin=True)`` block, which is one adapter method


@contextmanager
def unavailable(*, admin: bool = False) -> Iterator[None]:
    """Every pymongo failure the block does not handle itself is DependencyUnavailable; a document BSON cannot
    encode (text that is not valid Unicode, which the HTTP edge and entrycore refuse first) is Internal. With
    ``admin``, the block's calls may take ADMIN_TIMEOUT together, not the client's OPERATION_TIMEOUT each (never wrap a
    ``yield`` in it: the timeout would leak into the consumer's calls)."""
    try:
        with pymongo.timeout(ADMIN_TIMEOUT) if admin else nullcontext():
            yield
    except PyMongoError as err:
        raise DependencyUnavailable(f"MongoDB store failed: {type(err).__name__}") from err
    except (InvalidDocument, UnicodeEncodeError) as err:
        raise Internal(f"MongoDB cannot store this document: {type(err).__name__}") from err


DUPLICATE_KEY = 11000  # MongoDB's error code for a unique index violation


def inserted_despite_duplicates(err: BulkWriteError) -> int:
    """How many documents an unordered ``insert_many`` stored when some were duplicate keys; re-raises ``err``
    when anything else failed (another write error, a write concern error)."""
    details: Mapping[str, Any] = err.details or {}
    if details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in details.get("writeErrors", ())):
        raise err
    return int(details.get("nInserted", 0))
