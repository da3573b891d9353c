"""Bulk changes of many rows (transfers) in short write transactions, so fans' writes go between them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TypeVar

from adapters_sqlite.database import Database
from entrycore.ports import Progress

T = TypeVar("T")
MAX_PASSES = 5  # scans for rows still to change (written meanwhile by others) before the change ends


def in_chunks(
    database: Database,
    candidates: Callable[[], Sequence[T]],
    change: Callable[[sqlite3.Connection, list[T], int], int],
    size: int,
    progress: Progress | None = None,
) -> int:
    """Runs ``change(conn, rows, scan)`` over the rows ``candidates()`` finds, ``size`` rows per write transaction;
    ``change`` re-checks each row and returns how many it changed. Scans again for rows changed meanwhile by
    other writers, until a scan finds none (at most MAX_PASSES scans; ``scan`` counts them from 0: a row changes
    at most once per scan). Returns how many rows changed."""
    done = 0
    for scan in range(MAX_PASSES):
        rows = candidates()
        if not rows:
            break
        total = done + len(rows)
        for start in range(0, len(rows), size):
            chunk = list(rows[start : start + size])
            done += database.write(lambda conn, chunk=chunk, scan=scan: change(conn, chunk, scan))  # type: ignore[misc]
            if progress is not None:
                progress(done, total)
    return done
