"""OPS-006 for SQLite migrations 11 and 12, on files written as those versions wrote them: migration 11 adds the
locks table (MKT-003) and drops the scoring records an earlier version left behind their entries' phone changes
(SCR-001, REQ-006), with their tags; migration 12 moves every entry's ranked markets into columns and each
scoring record into its entry's row (issue 22), keeping scores, random scores, verdicts and tags (true and false)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import attrs

from adapters_sqlite import SqliteEntryStore, SqliteScoringStore, open_sqlite
from adapters_sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from entrycore.eligibility import EligibilityCriteria
from entrycore.scoring import EntryFacts, ScoringRecord, refreshed
from entrywire.documents import documents
from tests.contract.entries import T0
from tests.contract.test_scoring_store import fan, phone
from tests.contract.test_sqlite_store import OLD_INSERT, old_row

_OLD_RECORD = (
    "INSERT INTO scoring (campaign_id, user_id, phone, score, random_score, state, blocked, intl, combo, mask, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?)"
)


def _v10(path: Path) -> None:
    """A file as version 10 left it: two fans with records (u1's tagged vip, and u2's with a false tag), u1's
    record stale (its entry changed phone, which version 10 did not follow), and a fan without a record."""
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:10]:
        for statement in migration:
            raw.execute(statement)
    changed = attrs.evolve(fan(1), phone=phone(11), phone_confirmed=False)
    entries = [changed, fan(2, markets=("phl", "nyc", "bos", "chi")), fan(3)]
    for entry in entries:
        raw.execute(OLD_INSERT, old_row(entry))
    for number, (score, verdict, tags) in {1: (10.0, True, {"vip": True}), 2: (20.0, False, {"vip": False})}.items():
        record = refreshed(
            ScoringRecord("c1", f"u{number}", phone(number), score, number / 10, verdict, tags=tags),
            EntryFacts.of(fan(number)),
        )
        doc = json.dumps(documents.unstructure(record))
        raw.execute(_OLD_RECORD, ("c1", f"u{number}", phone(number), score, number / 10, 2 * verdict, doc))
        record_id = raw.execute("SELECT max(id) FROM scoring").fetchone()[0]
        for tag, value in tags.items():
            if value:
                raw.execute("INSERT INTO scoring_tags (campaign_id, tag, record) VALUES ('c1', ?, ?)", (tag, record_id))
    raw.execute("PRAGMA user_version = 10")
    raw.commit()
    raw.close()


def test_a_file_of_schema_10_is_brought_to_the_current_layout(tmp_path: Path) -> None:
    path = tmp_path / "v10.db"
    _v10(path)
    store = SqliteEntryStore(path)
    scoring = SqliteScoringStore(store.database)
    try:
        assert store.get("c1", "u1") == attrs.evolve(fan(1), phone=phone(11), phone_confirmed=False)
        assert store.get("c1", "u2") == fan(2, markets=("phl", "nyc", "bos", "chi"))
        assert store.get("c1", "u3") == fan(3)
        assert scoring.scoring_record("c1", "u1") is None  # its entry changed phone
        assert scoring.scoring_record("c1", "u3") is None
        kept = scoring.scoring_record("c1", "u2")
        assert kept is not None
        assert (kept.score, kept.random_score, kept.verdict, dict(kept.tags)) == (20.0, 0.2, False, {"vip": False})
        assert kept.markets == ("phl", "nyc", "bos", "chi")
        assert [r.user_id for r in scoring.eligible("c1", EligibilityCriteria(tag="vip"))] == []
        listed = scoring.eligible("c1", EligibilityCriteria(include_filtered=True, market_ids=("chi",)))
        assert [r.user_id for r in listed] == ["u2"]
        assert open_sqlite(store).locks.take_lock("transfer:c1", "me", T0, T0.replace(minute=1))
        with sqlite3.connect(path) as check:
            assert check.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
            tables = {name for (name,) in check.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            assert not tables & {"scoring", "scoring_tags", "scoring_markets", "entries_v12"}
            docs = [json.loads(doc) for (doc,) in check.execute("SELECT doc FROM entries")]
            assert all("markets" not in doc for doc in docs)  # the columns are the one source of truth
        check.close()
    finally:
        store.close()
