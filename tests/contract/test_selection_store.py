"""SelectionStore contract (SPEC SCR-009, SCR-010, the timeline) and ScoringStore.copy_entries: every store answers
the entry lists, registration counts and timeline exactly as the reference of entrycore.selection does, on
hand-made and generated campaigns (hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entrycore.choices import FilterType
from entrycore.model import AssignedCode, Campaign, Entry, Review
from entrycore.scoring import ScoreRow
from entrycore.selection import EntryFilter, RegistrationTally, entry_page, registration_counts, timeline
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0, an_entry

KINDS = ["fake", "sqlite", "mongomock"]
MARKETS = ("nyc", "bos", "phl", "chi", "lax")


Stores = SelectionStores
open_selection = open_selection_stores


@pytest.fixture(params=KINDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with open_selection(request.param, tmp_path) as opened:
        yield opened


def code(value: str, config: str | None = "cfg-1") -> AssignedCode:
    return AssignedCode(value, config, T0, None, None, T0)


def fans(ppc: bool) -> tuple[Campaign, list[Entry]]:
    """u1 winner (nyc), u2 codeless confirmed (bos), u3 blocked with a code (nyc), u4 codeless unconfirmed (nyc),
    u5 winner of another code config (phl), created a minute apart, u5 first."""
    chosen = campaign(needsPhoneConfirmation=ppc)
    shapes = [
        ("u5", {"markets": ("phl", "nyc"), "codes": (code("C5", "cfg-2"),)}, True, 0),
        ("u1", {"markets": ("nyc",), "codes": (code("C1"),)}, True, 1),
        ("u2", {"markets": ("bos", "nyc")}, True, 2),
        ("u3", {"markets": ("nyc", "bos"), "codes": (code("C3"),), "review": Review(True, T0)}, True, 3),
        ("u4", {"markets": ("nyc", "bos", "phl")}, False, 4),
    ]
    entries = []
    for user, changes, confirmed, minute in shapes:
        entry = an_entry(
            "c1", user, phone=f"+1212555000{minute}", confirmed=confirmed, created=T0 + timedelta(minutes=minute)
        )
        entries.append(attrs.evolve(entry, **changes))  # type: ignore[arg-type]
    return chosen, entries


@pytest.mark.parametrize("ppc", [False, True])
def test_SCR_009_entry_lists(stores: Stores, ppc: bool) -> None:
    chosen, entries = fans(ppc)
    for entry in entries:
        stores.entries.create(entry)

    def users(filter_type: str, **narrow: str) -> list[str]:
        page, total = stores.selection.entry_page(chosen, EntryFilter(filter_type, **narrow), 50, 0)
        assert total == len(page)
        return [e.user_id for e in page]

    assert users("winners") == ["u5", "u1"]
    assert users("codeless") == ["u2", "u4"]
    assert users("blocked") == ["u3"]
    assert users("verified") == (["u5", "u1", "u2"] if ppc else ["u5", "u1", "u2", "u4"])
    assert users("winners", market="nyc") == ["u1"]
    assert users("winners", code_config_id="cfg-2") == ["u5"]
    assert users("codeless", market="bos") == ["u2"]
    page, total = stores.selection.entry_page(chosen, EntryFilter("verified"), 1, 1)
    assert ([e.user_id for e in page], total) == (["u1"], 3 if ppc else 4)
    assert page[0] == entries[1]  # the whole entry, as stored


@pytest.mark.parametrize("ppc", [False, True])
def test_SCR_010_registration_counts_include_blocked_entries(stores: Stores, ppc: bool) -> None:
    chosen, entries = fans(ppc)
    for entry in entries:
        stores.entries.create(entry)
    counts = registration_counts(stores.selection.registration_tally("c1"), chosen)
    assert (counts.total, counts.confirmed) == (5, 4)
    by_market = dict(counts.by_market)
    if ppc:  # u4 is not confirmed: not counted
        assert by_market["nyc"] == (2, 2, 0, 0) and by_market["phl"] == (1, 0, 0, 0)
    else:
        assert by_market["nyc"] == (3, 2, 0, 0) and by_market["phl"] == (1, 0, 1, 0)
    assert list(by_market) == list(MARKETS)


def test_timeline(stores: Stores) -> None:
    _, entries = fans(False)
    later = attrs.evolve(
        entries[0], user_id="u9", code="U9", phone="+12125550099", date_created=T0 + timedelta(hours=2)
    )
    for entry in [*entries, later]:
        stores.entries.create(entry)
    hours = stores.selection.timeline("c1", "hour")
    start = T0.replace(minute=0, second=0, microsecond=0)
    assert [(p.at, p.created, p.confirmed) for p in hours] == [
        (start, 5, 5),
        (start + timedelta(hours=2), 1, 0),
    ]  # u9 confirmed at T0
    days = stores.selection.timeline("c1", "day")
    assert [(p.at, p.created, p.confirmed) for p in days] == [(start.replace(hour=0), 6, 5)]
    assert stores.selection.timeline("nope", "day") == []


def test_copy_entries_makes_scoring_records_follow_their_entries(stores: Stores) -> None:
    _, entries = fans(False)
    for entry in entries:
        stores.entries.create(entry)
    stores.scoring.upsert_scores("c1", [ScoreRow(0, "+12125550002", 10.0)], [0.5])  # u2 only has a record
    u2 = attrs.evolve(entries[2], codes=(code("NEW"),), review=Review(True, T0), version=entries[2].version + 1)
    stores.entries.replace(u2, entries[2].version)  # selection writes the entry, then copies it
    assert stores.scoring.copy_entries("c1", ["u2", "u1", "nobody"]) == 1
    record = stores.scoring.scoring_record("c1", "u2")
    assert record is not None and record.codes == (("NEW", "cfg-1"),) and record.blocked and record.score == 10.0


fan_shapes = st.lists(
    st.fixed_dictionaries(
        {
            "markets": st.lists(st.sampled_from(MARKETS), min_size=0, max_size=4, unique=True),
            "codes": st.lists(st.sampled_from(["cfg-1", "cfg-2", None]), max_size=2),
            "blocked": st.none() | st.booleans(),
            "confirmed": st.booleans(),
            "minute": st.integers(0, 3000),
        }
    ),
    max_size=10,
)
_campaigns = itertools.count()


@pytest.mark.parametrize("kind", ["sqlite", "mongomock"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shapes=fan_shapes, ppc=st.booleans(), market=st.none() | st.sampled_from(MARKETS), limit=st.integers(1, 4))
def test_every_store_answers_as_the_reference(
    kind: str, tmp_path: Path, shapes: list[dict[str, object]], ppc: bool, market: str | None, limit: int
) -> None:
    campaign_id = f"s{next(_campaigns)}"
    chosen = campaign(id=campaign_id, needsPhoneConfirmation=ppc)
    entries = []
    for k, shape in enumerate(shapes):
        entry = an_entry(
            campaign_id,
            f"u{k:02d}",
            phone=f"+1212555{k:04d}",
            confirmed=bool(shape["confirmed"]),
            created=T0 + timedelta(minutes=shape["minute"]),  # type: ignore[arg-type]
        )
        codes = tuple(code(f"C{k}-{i}", config) for i, config in enumerate(shape["codes"]))  # type: ignore[arg-type]
        review = None if shape["blocked"] is None else Review(bool(shape["blocked"]), T0)
        entries.append(attrs.evolve(entry, markets=tuple(shape["markets"]), codes=codes, review=review))  # type: ignore[arg-type]
    with open_selection(kind, tmp_path / campaign_id) as real:
        for entry in entries:
            real.entries.create(entry)
        for filter_type in FilterType:
            for narrowed in (EntryFilter(filter_type, market), EntryFilter(filter_type, None, "cfg-2")):
                expected, total = entry_page(entries, narrowed, chosen, 100, 0)
                for offset in range(0, total + 1, limit):
                    page, count = real.selection.entry_page(chosen, narrowed, limit, offset)
                    assert count == total
                    assert [e.user_id for e in page] == [e.user_id for e in expected[offset : offset + limit]]
        groups = [(list(e.markets), e.phone_confirmed, 1) for e in entries]
        assert registration_counts(real.selection.registration_tally(campaign_id), chosen) == registration_counts(
            RegistrationTally.of_lists(groups), chosen
        )
        confirmed = [e.date_phone_confirmed for e in entries if e.phone_confirmed and e.date_phone_confirmed]
        for bucket in ("hour", "day"):
            assert real.selection.timeline(campaign_id, bucket) == timeline(
                [e.date_created for e in entries], confirmed, bucket
            )
