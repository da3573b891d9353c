"""SQLite's columnar copy of the entries' admin facts (adapters_sqlite/columns.py, migration 14): a copy built once and
then brought up to date from the log of changed entries answers exactly as a copy read afresh, and as entrycore's
reference over the scoring records, after every kind of write (SCR-001, SCR-004, SCR-005, SCR-010, PHN-005,
MKT-003); a copy further behind than the log keeps is read afresh; the log holds only changes of what the copy reads;
lists ordered in the copy break ties by user id across the runs of equal keys and across pages."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from adapters_sqlite import columns as columns_module
from adapters_sqlite.columns import _LAST, Columns, columns_of
from adapters_sqlite.scoring import SqliteScoringStore
from adapters_sqlite.selection import SqliteSelectionStore
from adapters_sqlite.store import SqliteEntryStore
from entrycore.eligibility import EligibilityCriteria, eligibility_counts, eligible_page, sort_key
from entrycore.markets import MarketTransfer
from entrycore.model import Review
from entrycore.scoring import ScoreRow
from tests.contract.entries import T0, an_entry

MARKETS = ("nyc", "bos", "phl", "chi", "lax")
CRITERIA = (
    EligibilityCriteria(),
    EligibilityCriteria(market_ids=("bos", "chi")),
    EligibilityCriteria(market_ids=("phl",), order_by_preference=True, include_filtered=True, reassign=True),
    EligibilityCriteria(order_by_preference=True),
    EligibilityCriteria(min_score=20.0, max_score=60.0, exclude_intl_phone=True),
    EligibilityCriteria(market_ids=("nyc",), single_market_selection=True, random_selection=True),
    EligibilityCriteria(tag="vip"),
    EligibilityCriteria(exclude_tag="vip", market_ids=("lax",)),
)


@attrs.define
class Admin:
    store: SqliteEntryStore
    scoring: SqliteScoringStore
    selection: SqliteSelectionStore


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    store = SqliteEntryStore(tmp_path / "entries.db")
    try:
        yield Admin(store, SqliteScoringStore(store.database), SqliteSelectionStore(store.database))
    finally:
        store.close()


def phone(k: int) -> str:
    return f"+447911{k:06d}" if k % 5 == 0 else f"+1212555{k:04d}"


def markets_of(k: int) -> tuple[str, ...]:
    """Freely drawn, distinct, 1 to 4 markets."""
    first = MARKETS[k % 5]
    rest = [m for m in MARKETS[(k * 3) % 5 :] + MARKETS[: (k * 3) % 5] if m != first]
    return (first, *rest[: k % 4])


def shuffled(ks: range) -> list[int]:
    return sorted(ks, key=lambda k: (k * 11) % len(ks))


def register(admin: Admin, k: int, *, confirmed: bool = True) -> None:
    markets = markets_of(k)
    entry = an_entry("c1", f"u{k:03d}", phone=phone(k), confirmed=confirmed, code=f"R{k:04d}")
    fields = {**entry.fields, "phone": phone(k), "market": markets[0], "optional_markets": list(markets[1:])}
    admin.store.create(attrs.evolve(entry, markets=markets, fields=fields))


def score(admin: Admin, ks: range, *, base: float = 0.0) -> None:
    rows = [
        ScoreRow(index=k, phone=phone(k), score=float((k * 7 + base) % 100 // 10 * 10), verdict=k % 6 != 0, tags={})
        for k in ks
    ]
    admin.scoring.upsert_scores("c1", rows, [((k * 37) % 100) / 100 for k in ks])


def answers(admin: Admin, scoring: SqliteScoringStore) -> list[Any]:
    """Every question the copy answers, through ``scoring`` (and a selection on the same file)."""
    out: list[Any] = []
    for criteria in CRITERIA:
        out.append(scoring.eligibility_counts("c1", criteria, MARKETS))
        for offset in (0, 3, 11):
            page, total = scoring.eligible_page("c1", criteria, 5, offset)
            out.append(([r.user_id for r in page], total))
        out.append([r.user_id for r in scoring.eligible("c1", criteria)])
    out.append(admin.selection.registration_tally("c1"))
    return out


def reference(admin: Admin) -> list[Any]:
    """The same questions answered by entrycore's reference over every scoring record of the campaign."""
    records = [
        admin.scoring.scoring_record("c1", f"u{k:03d}") for k in range(200) if admin.store.get("c1", f"u{k:03d}")
    ]
    candidates = [r.candidate() for r in records if r is not None]
    out: list[Any] = []
    for criteria in CRITERIA:
        out.append(eligibility_counts(candidates, criteria, MARKETS))
        for offset in (0, 3, 11):
            page, total = eligible_page(candidates, criteria, 5, offset)
            out.append(([c.user_id for c in page], total))
        out.append([c.user_id for c in eligible_page(candidates, criteria, 10_000, 0)[0]])
    return out


def check(admin: Admin, when: str) -> None:
    caught_up = answers(admin, admin.scoring)
    fresh_scoring = SqliteScoringStore(admin.store.database)
    fresh_scoring._columns = Columns(admin.store.database)  # a copy read afresh, not the kept one
    assert caught_up[:-1] == answers(admin, fresh_scoring)[:-1], when
    assert caught_up[:-1] == reference(admin), when


def test_SCR_004_a_kept_copy_answers_as_a_fresh_one_and_as_the_reference_after_every_write(admin: Admin) -> None:
    for k in shuffled(range(40)):
        register(admin, k, confirmed=k % 9 != 4)
    score(admin, range(30))
    check(admin, "first upload")  # the copy is built here; everything below brings it up to date
    for k in range(40, 55):
        register(admin, k)
    score(admin, range(25, 55), base=3)
    check(admin, "new fans, a re-upload")
    entry = admin.store.get("c1", "u007")
    assert entry is not None
    admin.store.replace(attrs.evolve(entry, phone="+12125559999", version=2), expected_version=1)
    check(admin, "a phone changed (PHN-005: its record goes)")
    entry = admin.store.get("c1", "u008")
    assert entry is not None
    admin.store.replace(attrs.evolve(entry, review=Review(is_blocked=True, date=T0), version=2), expected_version=1)
    check(admin, "a block (SCR-008)")
    admin.scoring.tag("c1", "vip", "userId", [f"u{k:03d}" for k in range(0, 50, 3)])
    admin.scoring.flip_verdicts("c1", "vip", "include")
    check(admin, "tags and a flip (SCR-006)")
    moved, _ = admin.selection.transfer_entries(MarketTransfer("c1", "C1", "bos", "lax", None, None, T0, "t"))
    assert moved > 0
    check(admin, "a transfer (MKT-003)")
    admin.scoring.delete_records("u010", "c1")
    entry = admin.store.get("c1", "u011")
    assert entry is not None
    admin.store.delete("c1", "u011", entry.version)
    check(admin, "a record and an entry removed")


def log_rows(admin: Admin) -> int:
    with sqlite3.connect(admin.store.path) as conn:
        return int(conn.execute("SELECT count(*) FROM entry_changes").fetchone()[0])


def test_only_changes_of_what_the_copy_reads_are_logged(admin: Admin) -> None:
    register(admin, 1)
    assert log_rows(admin) == 1
    entry = admin.store.get("c1", "u001")
    assert entry is not None
    admin.store.replace(attrs.evolve(entry, locale="fr-FR", version=2), expected_version=1)
    assert log_rows(admin) == 1  # nothing the copy holds changed
    score(admin, range(1, 2))
    assert log_rows(admin) == 2
    score(admin, range(1, 2))  # the same score again
    assert log_rows(admin) == 2


def test_a_copy_behind_what_the_log_keeps_is_read_afresh(admin: Admin) -> None:
    for k in range(20):
        register(admin, k)
    score(admin, range(20))
    before = admin.scoring.eligibility_counts("c1", EligibilityCriteria(), MARKETS)
    for k in range(20, 30):
        register(admin, k)
    score(admin, range(20, 30))
    with sqlite3.connect(admin.store.path) as conn:  # what the prune trigger does past 1,000,000 changes
        conn.execute("DELETE FROM entry_changes WHERE seq <= (SELECT max(seq) - 3 FROM entry_changes)")
    after = admin.scoring.eligibility_counts("c1", EligibilityCriteria(), MARKETS)
    assert after.total == before.total + 10
    check(admin, "after the log was pruned past the copy")


def test_a_kept_copy_is_brought_up_to_date_between_questions(admin: Admin, monkeypatch: pytest.MonkeyPatch) -> None:
    """The keeper thread catches a held copy up without a question (the next one finds it current), the answers
    stay those of a fresh copy, and closing the store stops the keeper."""
    monkeypatch.setattr(columns_module, "KEEP_EVERY", 0.02)
    for k in range(20):
        register(admin, k)
    score(admin, range(20))
    admin.scoring.eligibility_counts("c1", EligibilityCriteria(), MARKETS)  # the first question: a copy, a keeper
    kept = columns_of(admin.store.database)._copies
    held = kept["c1"].seq
    for k in range(20, 25):
        register(admin, k)
    score(admin, range(20, 25))
    with sqlite3.connect(admin.store.path) as conn:
        last = conn.execute("SELECT max(seq) FROM entry_changes").fetchone()[0]
    assert last > held
    deadline = time.monotonic() + 10
    while kept["c1"].seq < last and time.monotonic() < deadline:
        time.sleep(0.01)
    assert kept["c1"].seq == last  # caught up by the keeper: no question was asked
    check(admin, "after the keeper caught the copy up")
    admin.store.close()
    assert not [t for t in threading.enumerate() if t.name == "columns-keeper"]


def test_the_log_s_ends_are_read_off_its_key_not_scanned(admin: Admin) -> None:
    """Every question reads where the log starts and ends: a scan of it cost 50 ms at 1,000,000 changes."""
    register(admin, 1)
    with sqlite3.connect(admin.store.path) as conn:
        plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {_LAST}")]
        ends = conn.execute(_LAST).fetchone()
        assert ends == conn.execute("SELECT max(seq), min(seq) FROM entry_changes").fetchone()
    assert plan and "SCAN entry_changes" not in plan, plan


def test_SCR_005_ties_are_ordered_by_user_id_across_runs_and_pages(admin: Admin) -> None:
    for k in shuffled(range(30)):  # ids in another order than user ids: the tie-break is the user id's
        register(admin, k)
    admin.scoring.upsert_scores(
        "c1",
        [ScoreRow(index=k, phone=phone(k), score=float(k % 2), verdict=True, tags={}) for k in range(30)],
        [0.5] * 30,
    )
    for criteria in (
        EligibilityCriteria(market_ids=tuple(MARKETS)),
        EligibilityCriteria(order_by_preference=True),
        EligibilityCriteria(market_ids=tuple(MARKETS), random_selection=True),
    ):
        whole = [r.user_id for r in admin.scoring.eligible("c1", criteria)]
        paged = [
            r.user_id for offset in range(0, 30, 4) for r in admin.scoring.eligible_page("c1", criteria, 4, offset)[0]
        ]
        records = [admin.scoring.scoring_record("c1", f"u{k:03d}") for k in range(30)]
        candidates = [r.candidate() for r in records if r is not None]
        expected = [c.user_id for c in sorted(candidates, key=lambda c: sort_key(c, criteria))]
        assert whole == paged == expected, criteria
        assert len(whole) == 30


def test_one_copy_per_file_in_a_process(admin: Admin) -> None:
    assert columns_of(admin.store.database) is columns_of(admin.store.database)
    assert admin.scoring._columns is columns_of(admin.store.database)


def test_an_id_used_again_after_the_last_entry_was_removed_is_the_new_entry(admin: Admin) -> None:
    for k in range(10):
        register(admin, k)
    score(admin, range(10))
    check(admin, "ten fans")
    last = admin.store.get("c1", "u009")
    assert last is not None
    admin.store.delete("c1", "u009", last.version)  # the row of the highest id: SQLite gives it to the next row
    register(admin, 10)
    score(admin, range(10, 11))
    check(admin, "the highest id removed, then a new fan")
    assert admin.selection.registration_tally("c1").total == 10
