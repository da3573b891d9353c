"""MKT-003 on every store: a transfer moves every entry and scoring record of the campaign by the rule of
entrycore.markets (four cases), in bulk inside the store, each moved entry with its new date.updated, version and
``entry.transferred`` event (entrycore.events.event_body) in the same write; a second identical transfer changes
nothing. Generated preference lists (hypothesis) compare each store with the reference."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import adapters_sqlite.selection
from entrycore.eligibility import EligibilityCriteria
from entrycore.events import TRANSFERRED, event_body
from entrycore.markets import MarketTransfer, transferred
from entrycore.model import Entry, FraudResult
from entrycore.outbox import OutboxMessage
from entrycore.scoring import ScoreRow
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0, an_entry

KINDS = ["fake", "sqlite", "mongomock"]
MARKETS = ("nyc", "bos", "phl", "chi", "lax")
AT = T0 + timedelta(hours=5)
CAMPAIGN = campaign()
LATER = AT + timedelta(seconds=1)


@pytest.fixture(params=KINDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SelectionStores]:
    with open_selection_stores(request.param, tmp_path) as opened:
        yield opened


def move(source: str, target: str, prefix: str = "01TRANSFER") -> MarketTransfer:
    return MarketTransfer.of(CAMPAIGN, source, target, AT, prefix)


def fan(user: str, markets: tuple[str, ...], number: int, **changes: Any) -> Entry:
    """A confirmed fan of c1 ranking ``markets`` in the campaign's market fields."""
    entry = an_entry("c1", user, phone=f"+1212555{number:04d}", confirmed=True)
    fields: dict[str, Any] = {**entry.fields, "market": markets[0] if markets else None}
    fields.pop("optional_markets")
    if markets[1:]:
        fields["optional_markets"] = list(markets[1:])
    if not markets:
        fields.pop("market")
    return attrs.evolve(entry, fields=fields, markets=markets, **changes)


def pending(stores: SelectionStores) -> list[OutboxMessage]:
    claimed = stores.outbox.claim("test", 10_000, LATER, timedelta(minutes=5))
    stores.outbox.delivered("test", [m.id for m in claimed], LATER)
    return list(claimed)


def check_against_reference(stores: SelectionStores, before: list[Entry], plan: MarketTransfer, moved: int) -> None:
    """Each entry is the reference's transferred entry (or untouched), each moved one has exactly one event
    equal to event_body, and no ranked list has duplicates, gaps or more than 4 markets."""
    expected = {e.user_id: transferred(e, plan) or e for e in before}
    assert moved == sum(1 for e in before if transferred(e, plan) is not None)
    for user, entry in expected.items():
        stored = stores.entries.get("c1", user)
        assert stored == entry
        assert len(set(stored.markets)) == len(stored.markets) <= 4
        assert all(isinstance(m, str) and m for m in stored.markets)
        if stored.markets:
            assert stored.fields.get("market") == stored.markets[0]
            assert stored.fields.get("optional_markets", []) == list(stored.markets[1:])
    events = pending(stores)
    assert sorted(m.user_id for m in events) == sorted(e.user_id for e in before if transferred(e, plan))
    for message in events:
        assert message.body == event_body(message.id, TRANSFERRED, CAMPAIGN, expected[message.user_id], AT)
        assert message.id.startswith(plan.event_id(""))
        assert message.created_at == AT
    assert len({m.id for m in events}) == len(events)


# The four cases of MKT-003, transferring nyc → bos.
CASES = [
    ("primary is from, to absent", ("nyc", "phl"), ("bos", "phl")),
    ("primary is from, to among optionals", ("nyc", "phl", "bos", "chi"), ("bos", "phl", "chi")),
    ("optional is from, to present", ("phl", "nyc", "bos"), ("phl", "bos")),
    ("optional is from, to present as primary", ("bos", "nyc"), ("bos",)),
    ("optional is from, to absent", ("phl", "chi", "nyc"), ("phl", "chi", "bos")),
    ("from absent", ("phl", "bos"), ("phl", "bos")),
    ("no markets", (), ()),
]


@pytest.mark.parametrize(("case", "ranked", "after"), CASES, ids=[c[0] for c in CASES])
def test_MKT_003_each_case(stores: SelectionStores, case: str, ranked: tuple[str, ...], after: tuple[str, ...]) -> None:
    entry = fan("u1", ranked, 1, fraud=FraudResult(0.5, "scored"))
    stores.entries.create(entry)
    moved, _ = stores.selection.transfer_entries(move("nyc", "bos"))
    stored = stores.entries.get("c1", "u1")
    assert stored is not None
    assert stored.markets == after
    if after == ranked:
        assert moved == 0
        assert stored == entry
        assert pending(stores) == []
        return
    assert moved == 1
    assert stored.date_updated == AT
    assert stored.version == entry.version + 1
    assert stored.fields["market"] == after[0]
    assert stored.fields.get("optional_markets") == (list(after[1:]) if after[1:] else None)
    assert {k: v for k, v in stored.fields.items() if k not in {"market", "optional_markets"}} == {
        k: v for k, v in entry.fields.items() if k not in {"market", "optional_markets"}
    }
    check_against_reference(stores, [entry], move("nyc", "bos"), moved)


def test_MKT_003_market_fields_are_written_as_the_fan_route_writes_them(stores: SelectionStores) -> None:
    stores.entries.create(fan("u1", ("nyc",), 1))
    stores.entries.create(fan("u2", ("bos", "nyc"), 2))
    assert stores.selection.transfer_entries(move("nyc", "bos"))[0] == 2
    for user in ("u1", "u2"):  # a single market: no optional markets field, added or left empty
        stored = stores.entries.get("c1", user)
        assert stored is not None
        assert stored.markets == ("bos",)
        assert stored.fields["market"] == "bos"
        assert "optional_markets" not in stored.fields


def test_MKT_003_is_idempotent_and_leaves_other_campaigns_alone(stores: SelectionStores) -> None:
    entries = [fan("u1", ("nyc", "bos"), 1), fan("u2", ("phl", "nyc"), 2), fan("u3", ("chi",), 3)]
    other = attrs.evolve(an_entry("c2", "u1", phone="+12125559999"), markets=("nyc",))
    for entry in (*entries, other):
        stores.entries.create(entry)
    assert stores.selection.transfer_entries(move("nyc", "bos"))[0] == 2
    first = [stores.entries.get("c1", e.user_id) for e in entries]
    assert len(pending(stores)) == 2
    assert stores.selection.transfer_entries(move("nyc", "bos", "01AGAIN"))[0] == 0
    assert [stores.entries.get("c1", e.user_id) for e in entries] == first
    assert pending(stores) == []
    assert stores.entries.get("c2", "u1") == other


def test_MKT_003_moves_the_scoring_records_too(stores: SelectionStores) -> None:
    ranked = [("nyc", "phl"), ("phl", "nyc", "bos"), ("chi", "nyc"), ("lax",)]
    for number, markets in enumerate(ranked, start=1):
        stores.entries.create(fan(f"u{number}", markets, number))
    rows = [ScoreRow(i, f"+1212555{n:04d}", 50.0 + n) for i, n in enumerate(range(1, 5))]
    stores.scoring.upsert_scores("c1", rows, [0.1, 0.2, 0.3, 0.4])
    plan = move("nyc", "bos")
    assert stores.selection.transfer_entries(plan) == (3, 3)
    for number, markets in enumerate(ranked, start=1):
        record = stores.scoring.scoring_record("c1", f"u{number}")
        assert record is not None
        expected = transferred(fan("x", markets, 0), plan)
        assert record.markets == (expected.markets if expected else markets)
    assert stores.selection.transfer_entries(plan) == (0, 0)
    # the selection queries see the new markets
    counts = stores.scoring.eligibility_counts("c1", EligibilityCriteria(market_ids=("bos",)), MARKETS)
    assert counts.total == 3
    page, total = stores.scoring.eligible_page("c1", EligibilityCriteria(market_ids=("nyc",)), 10, 0)
    assert (page, total) == ([], 0)


def test_a_deleted_or_absent_campaign_market_moves_nothing(stores: SelectionStores) -> None:
    stores.entries.create(fan("u1", ("phl",), 1))
    assert stores.selection.transfer_entries(move("nyc", "bos")) == (0, 0)


ranked_lists = st.lists(st.sampled_from(MARKETS), min_size=0, max_size=4, unique=True).map(tuple)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lists=st.lists(ranked_lists, min_size=1, max_size=12),
    pair=st.sampled_from(list(itertools.permutations(MARKETS, 2))),
)
@pytest.mark.parametrize("kind", KINDS)
def test_MKT_003_every_store_moves_generated_lists_as_the_reference(
    kind: str, tmp_path_factory: pytest.TempPathFactory, lists: list[tuple[str, ...]], pair: tuple[str, str]
) -> None:
    plan = move(*pair)
    with open_selection_stores(kind, tmp_path_factory.mktemp(kind)) as stores:
        before = [fan(f"u{n}", markets, n) for n, markets in enumerate(lists)]
        for entry in before:
            stores.entries.create(entry)
        rows = [ScoreRow(n, f"+1212555{n:04d}", float(n)) for n, markets in enumerate(lists) if markets]
        if rows:
            stores.scoring.upsert_scores("c1", rows, [0.5] * len(rows))
        moved, records = stores.selection.transfer_entries(plan)
        check_against_reference(stores, before, plan, moved)
        assert records == sum(1 for e in before if e.markets and transferred(e, plan))
        for entry in before:
            record = stores.scoring.scoring_record("c1", entry.user_id)
            if record is not None:
                assert record.markets == (transferred(entry, plan) or entry).markets
        assert stores.selection.transfer_entries(plan) == (0, 0)


def test_an_entry_written_back_during_a_sqlite_transfer_is_moved_again_with_a_new_event_id(tmp_path: Path) -> None:
    """The SQLite transfer scans again for entries fans wrote meanwhile: an entry moved, then given the source
    market again by its fan before the transfer ends, is moved again, and its second event has an id of its own."""
    with open_selection_stores("sqlite", tmp_path) as stores:
        stores.entries.create(fan("u1", ("nyc", "phl"), 1))
        stores.entries.create(fan("u2", ("chi", "nyc"), 2))
        written_back = []

        def fan_writes_back(done: int, total: int) -> None:
            if not written_back:  # after the first chunk: u1 ranks nyc again
                moved = stores.entries.get("c1", "u1")
                assert moved is not None and moved.markets == ("bos", "phl")
                again = attrs.evolve(
                    moved, markets=("nyc",), fields={**moved.fields, "market": "nyc"}, version=moved.version + 1
                )
                again = attrs.evolve(again, fields={k: v for k, v in again.fields.items() if k != "optional_markets"})
                stores.entries.replace(again, moved.version)
                written_back.append(again)

        assert stores.selection.transfer_entries(move("nyc", "bos"), fan_writes_back)[0] == 3
        assert stores.entries.get("c1", "u1").markets == ("bos",)  # type: ignore[union-attr]
        events = pending(stores)
        assert sorted(m.user_id for m in events) == ["u1", "u1", "u2"]
        assert len({m.id for m in events}) == 3


def test_an_entry_changed_after_its_chunk_was_planned_moves_by_its_new_list(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQLite transfer plans each chunk from the scan (the list's shape: the ranks of source and target, the
    length) before its write: a fan whose list changed in between no longer has the planned shape, is left alone by
    that write (never given the target twice), and is moved by the next scan from the list it has now."""
    monkeypatch.setattr(adapters_sqlite.selection, "_TRANSFER_CHUNK", 1)
    with open_selection_stores("sqlite", tmp_path) as stores:
        stores.entries.create(fan("u1", ("chi", "nyc"), 1))
        stores.entries.create(fan("u2", ("phl", "nyc"), 2))
        changed = []

        def fan_changes(done: int, total: int) -> None:
            if not changed:  # u1 moved; u2's chunk planned as (phl, nyc), not yet written
                before = stores.entries.get("c1", "u2")
                assert before is not None
                after = attrs.evolve(fan("u2", ("phl", "nyc", "bos"), 2), version=before.version + 1)
                stores.entries.replace(after, before.version)
                changed.append(after)

        assert stores.selection.transfer_entries(move("nyc", "bos"), fan_changes)[0] == 2
        stored = stores.entries.get("c1", "u2")
        assert stored is not None and stored.markets == ("phl", "bos")
        assert stored.fields == transferred(changed[0], move("nyc", "bos")).fields  # type: ignore[union-attr]


@pytest.mark.parametrize("primary", ['m"k', "m.k", "$mk", "mk"])
def test_MKT_003_market_fields_with_any_id(stores: SelectionStores, primary: str) -> None:
    """The market preferences' ids are the campaign's: quotes, dots or a leading ``$`` move as any other."""
    extra = primary + "+opt"
    chosen = campaign(
        preferences=[
            {"id": "email", "type": "email"},
            {"id": primary, "type": "market_select"},
            {"id": extra, "type": "additional_markets_select", "is_optional": True},
        ]
    )
    plan = MarketTransfer.of(chosen, "nyc", "bos", AT, "01QUOTES")
    before = []
    for number, markets in enumerate([("nyc", "phl"), ("bos", "nyc"), ("phl", "nyc", "chi"), ("nyc",)], start=1):
        entry = an_entry("c1", f"u{number}", phone=f"+1212555{number:04d}")
        fields: dict[str, Any] = {"email": "a@b.co", primary: markets[0]}
        if markets[1:]:
            fields[extra] = list(markets[1:])
        before.append(attrs.evolve(entry, fields=fields, markets=markets))
        stores.entries.create(before[-1])
    assert stores.selection.transfer_entries(plan)[0] == 4
    for entry in before:
        assert stores.entries.get("c1", entry.user_id) == transferred(entry, plan)


def test_a_sqlite_transfer_keeps_the_markets_in_the_columns_only(tmp_path: Path) -> None:
    """The ranked markets live in the row's m0…m3 (migration 12): a transfer writes them there, not into the
    document again (a copy nothing would keep in step)."""
    with open_selection_stores("sqlite", tmp_path) as stores:
        stores.entries.create(fan("u1", ("nyc", "phl"), 1))
        assert stores.selection.transfer_entries(move("nyc", "bos"))[0] == 1
        with stores.entries.database.reading() as conn:  # type: ignore[attr-defined]
            doc, *columns = conn.execute("SELECT doc, m0, m1, m2, m3 FROM entries").fetchone()
        assert "markets" not in json.loads(doc)
        assert columns == ["bos", "phl", None, None]
