"""The one translation of pymongo failures into the domain's DependencyUnavailable."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pymongo.errors import PyMongoError

from entrycore.errors import DependencyUnavailable


@contextmanager
def unavailable() -> Iterator[None]:
    """Every pymongo failure the block does not handle itself is DependencyUnavailable."""
    try:
        yield
    except PyMongoError as err:
        raise DependencyUnavailable(f"MongoDB store failed: {type(err).__name__}") from err
