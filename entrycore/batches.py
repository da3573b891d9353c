"""Batches: one way to cut a sequence or a stream into bounded pieces (itertools.batched, which Python 3.11 lacks)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import TypeVar

T = TypeVar("T")


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (the last may be shorter; none when ``items`` is empty), in order. A sequence
    is sliced; any other iterable is read lazily, one batch at a time."""
    if size < 1:
        raise ValueError("size must be at least 1")
    if isinstance(items, Sequence):
        for start in range(0, len(items), size):
            yield list(items[start : start + size])
        return
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
