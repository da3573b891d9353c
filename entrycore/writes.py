"""Items written one after the other: ``EntryStore.write_together`` for stores whose atomic unit is one item's own
write (MongoDB's single-document writes, the in-memory fake)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def one_by_one(items: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """Runs each item now, in order: what it returned, or the Exception it raised (it never stops the others)."""
    outcomes: list[T | Exception] = []
    for item in items:
        try:
            outcomes.append(item())
        except Exception as error:  # an item's failure is its own answer (USR-004)
            outcomes.append(error)
    return outcomes
