"""OPS-006 for SQLite migration 11: a file of schema 10 gains the locks table (MKT-003), and loses the scoring
records an earlier version left behind their entries' phone changes (SCR-001, REQ-006), with their tags; every
record still matched stays as it was."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from adapters_sqlite import SqliteScoring, SqliteStore
from adapters_sqlite.schema import SCHEMA_VERSION
from entrycore.eligibility import EligibilityCriteria
from entrycore.scoring import ScoreRow
from tests.contract.entries import T0
from tests.contract.test_scoring_store import fan, phone


def test_a_file_of_schema_10_gains_locks_and_loses_records_of_changed_phones(tmp_path: Path) -> None:
    path = tmp_path / "v10.db"
    store = SqliteStore(path)
    scoring = SqliteScoring(store.database)
    for k in (1, 2):
        store.create(fan(k))
    scoring.upsert_scores(
        "c1", [ScoreRow(0, phone(1), 10.0, tags={"vip": True}), ScoreRow(1, phone(2), 20.0)], [0.1, 0.2]
    )
    kept = scoring.scoring_record("c1", "u2")
    store.close()
    raw = sqlite3.connect(path)  # what version 10 did on a phone change: the entry only
    raw.execute(
        "UPDATE entries SET phone = ?, phone_confirmed = 0, doc = json_set(doc, '$.phone', ?, '$.phoneConfirmed',"
        " json('false')) WHERE user_id = 'u1'",
        (phone(11), phone(11)),
    )
    raw.execute("DROP TABLE locks")
    raw.execute("PRAGMA user_version = 10")
    raw.commit()
    raw.close()
    store = SqliteStore(path)
    scoring = SqliteScoring(store.database)
    try:
        assert scoring.scoring_record("c1", "u1") is None
        assert scoring.scoring_record("c1", "u2") == kept
        assert [r.user_id for r in scoring.eligible("c1", EligibilityCriteria(tag="vip"))] == []
        assert store.take_lock("transfer:c1", "me", T0, T0.replace(minute=1))
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            assert check.execute("SELECT count(*) FROM scoring_tags").fetchone() == (0,)
    finally:
        store.close()
