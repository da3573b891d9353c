"""The one translation of pymongo failures into the domain's DependencyUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bson.errors import InvalidDocument
from pymongo.errors import PyMongoError

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
