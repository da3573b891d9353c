"""Bulk changes of many rows (transfers) in short write transactions, so fans' writes go between them."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from adapters_sqlite.database import Database
from entrycore.batches import batched
from entrycore.ports import Progress

T = TypeVar("T")
P = TypeVar("P")
MAX_PASSES = 5  # scans for rows still to change (written meanwhile by others) before the change ends


def in_chunks(
    database: Database,
    candidates: Callable[[], Sequence[T]],
    change: Callable[[sqlite3.Connection, P, int], int],
    size: int,
    progress: Progress | None = None,
    *,
    plan: Callable[[list[T]], P],
) -> int:
    """Runs ``change(conn, plan(rows), scan)`` over the rows ``candidates()`` finds, ``size`` rows per write
    transaction; ``change`` re-checks each row and returns how many it changed. ``plan`` (pure Python: what to
    write, read from the rows alone) runs outside the write transaction, for the next chunk while the writer
    holds this one, so the writer's turn is the SQL alone. Scans again for rows changed meanwhile by other
    writers, until a scan finds none (at most MAX_PASSES scans; ``scan`` counts them from 0: a row changes at
    most once per scan). Returns how many rows changed."""
    done = 0
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-plan") as planner:
        for scan in range(MAX_PASSES):
            rows = candidates()
            if not rows:
                break
            total = done + len(rows)
            chunks = list(batched(rows, size))
            planned: Future[Any] = planner.submit(plan, chunks[0])
            for index in range(len(chunks)):
                ready = planned.result()
                if index + 1 < len(chunks):
                    planned = planner.submit(plan, chunks[index + 1])
                done += database.write(lambda conn, ready=ready, scan=scan: change(conn, ready, scan))  # type: ignore[misc]
                if progress is not None:
                    progress(done, total)
    return done
