"""The one translation of pymongo failures into the domain's DependencyUnavailable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from bson.errors import InvalidDocument
from pymongo.errors import BulkWriteError, PyMongoError

from entrycore.errors import DependencyUnavailable, Internal


@contextmanager
def unavailable() -> Iterator[None]:
    """Every pymongo failure the block does not handle itself is DependencyUnavailable; a document BSON cannot
    encode (text that is not valid Unicode, which the HTTP edge and entrycore refuse first) is Internal."""
    try:
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
