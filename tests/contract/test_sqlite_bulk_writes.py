"""SQLite's bulk writes in short transactions (OPS-005): a scoring upload batch is written _WRITE_ROWS rows per
transaction — a phone repeated across two of them is inserted by the first and updated by the second, as in one
transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters_sqlite import open_sqlite
from adapters_sqlite import scoring as sqlite_scoring
from entrycore.scoring import INSERTED, NO_CONFIRMED_ENTRY, UPDATED, ScoreRow
from tests.contract.test_scoring_store import fan, phone


def test_an_upload_batch_spans_transactions_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stores = open_sqlite(tmp_path / "entries.db")
    stores.prepare()
    try:
        for k in range(1, 8):
            stores.entries.create(fan(k))
        monkeypatch.setattr(sqlite_scoring, "_WRITE_ROWS", 3)
        rows = [ScoreRow(i, phone(k), float(10 * k)) for i, k in enumerate([1, 2, 3, 1, 4, 99, 2, 5])]
        outcomes = stores.scoring.upsert_scores("c1", rows, [0.5] * len(rows))
        assert outcomes == [INSERTED, INSERTED, INSERTED, UPDATED, INSERTED, NO_CONFIRMED_ENTRY, UPDATED, INSERTED]
        scores = dict(
            sqlite3.connect(tmp_path / "entries.db").execute(
                "SELECT user_id, score FROM entries WHERE score IS NOT NULL"
            )
        )
        assert scores == {"u1": 10.0, "u2": 20.0, "u3": 30.0, "u4": 40.0, "u5": 50.0}
    finally:
        stores.close()
