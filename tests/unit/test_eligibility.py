"""The reference meaning of the selection criteria (SPEC SCR-003, SCR-004, SCR-005): the stores are checked
against these functions, so each rule is stated here on small hand-made data."""

from __future__ import annotations

import pytest

from entrycore.eligibility import (
    Candidate,
    EligibilityCriteria,
    MarketCounts,
    best_rank,
    eligibility_counts,
    eligible_page,
    listed,
    matches,
)

MARKETS = ("nyc", "bos", "phl", "chi", "sfo")


def fan(user: str, score: float = 50.0, **changes: object) -> Candidate:
    base: dict[str, object] = {
        "user_id": user,
        "phone": "+12125550100",
        "score": score,
        "random_score": 0.5,
        "markets": ("nyc", "bos"),
    }
    return Candidate(**{**base, **changes})  # type: ignore[arg-type]


def users(candidates: list[Candidate]) -> list[str]:
    return [c.user_id for c in candidates]


def test_SCR_003_score_bounds_are_inclusive() -> None:
    criteria = EligibilityCriteria(min_score=10, max_score=20)
    assert [matches(fan("a", s), criteria) for s in (9.99, 10, 15, 20, 20.01)] == [False, True, True, True, False]


def test_SCR_003_a_market_matches_at_any_rank_and_single_market_selection_only_the_primary() -> None:
    fans = [fan("a", markets=("nyc", "bos")), fan("b", markets=("bos", "nyc")), fan("c", markets=("chi",))]
    assert users([f for f in fans if matches(f, EligibilityCriteria(market_ids=("nyc",)))]) == ["a", "b"]
    single = EligibilityCriteria(market_ids=("nyc",), single_market_selection=True)
    assert users([f for f in fans if matches(f, single)]) == ["a"]
    assert users([f for f in fans if matches(f, EligibilityCriteria())]) == ["a", "b", "c"]  # no market filter


def test_SCR_003_codes_are_excluded_by_default_included_with_reassign_alone_with_selected_only() -> None:
    coded, free = fan("coded", codes=("CODE-1",)), fan("free")
    assert (listed(coded, EligibilityCriteria()), listed(free, EligibilityCriteria())) == (False, True)
    assert (listed(coded, EligibilityCriteria(reassign=True)), listed(free, EligibilityCriteria(reassign=True))) == (
        True,
        True,
    )
    only = EligibilityCriteria(selected_only=True)
    assert (listed(coded, only), listed(free, only)) == (True, False)


def test_SCR_003_verdict_false_is_filtered_unless_include_filtered() -> None:
    filtered = fan("f", verdict=False)
    assert not listed(filtered, EligibilityCriteria())
    assert listed(filtered, EligibilityCriteria(include_filtered=True))
    assert matches(filtered, EligibilityCriteria())  # still counted in total (SCR-004)


def test_SCR_003_blocked_entries_are_always_excluded() -> None:
    blocked = fan("b", blocked=True)
    for criteria in (EligibilityCriteria(), EligibilityCriteria(include_filtered=True, reassign=True)):
        assert not matches(blocked, criteria) and not listed(blocked, criteria)


def test_SCR_003_intl_phones_tags_and_excluded_tags() -> None:
    mx, us = fan("mx", phone="+525512345678"), fan("us")
    assert (matches(mx, EligibilityCriteria(exclude_intl_phone=True)), matches(us, EligibilityCriteria())) == (
        False,
        True,
    )
    vip, plain, false_tag = fan("vip", tags={"vip": True}), fan("plain"), fan("no", tags={"vip": False})
    tagged = EligibilityCriteria(tag="vip")
    assert [matches(f, tagged) for f in (vip, plain, false_tag)] == [True, False, False]
    untagged = EligibilityCriteria(exclude_tag="vip")
    assert [matches(f, untagged) for f in (vip, plain, false_tag)] == [False, True, True]


def test_SCR_005_orders_by_score_desc_then_user_id_and_pages_with_the_total() -> None:
    fans = [fan("c", 10), fan("a", 30), fan("b", 30), fan("d", 20)]
    page, total = eligible_page(fans, EligibilityCriteria(), limit=2, offset=1)
    assert (users(page), total) == (["b", "d"], 4)
    assert users(eligible_page(fans, EligibilityCriteria(), limit=50)[0]) == ["a", "b", "d", "c"]


def test_SCR_005_random_selection_orders_by_random_score_ascending() -> None:
    fans = [fan("a", random_score=0.9), fan("b", random_score=0.1), fan("c", random_score=0.1)]
    assert users(eligible_page(fans, EligibilityCriteria(random_selection=True))[0]) == ["b", "c", "a"]


def test_SCR_005_order_by_preference_puts_the_best_rank_of_the_wanted_markets_first() -> None:
    fans = [
        fan("second", 90, markets=("chi", "nyc")),
        fan("first-low", 10, markets=("nyc",)),
        fan("first-high", 80, markets=("bos", "chi")),
    ]
    criteria = EligibilityCriteria(market_ids=("nyc", "bos"), order_by_preference=True)
    assert users(eligible_page(fans, criteria)[0]) == ["first-high", "first-low", "second"]
    assert best_rank(fans[0], ("nyc",)) == 1 and best_rank(fans[0], ("sfo",)) == 4 and best_rank(fans[0], ()) == 0


@pytest.mark.parametrize(("limit", "offset"), [(0, 0), (10_001, 0), (10, -1)])
def test_SCR_005_limit_and_offset_are_bounded(limit: int, offset: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        eligible_page([], EligibilityCriteria(), limit=limit, offset=offset)


def test_SCR_004_counts_total_verified_selected_available_and_ranks_of_the_listed_records() -> None:
    fans = [
        fan("a", markets=("nyc", "bos")),
        fan("b", markets=("bos", "nyc", "phl")),
        fan("filtered", verdict=False, markets=("nyc",)),
        fan("coded", codes=("C1",), markets=("phl",)),
        fan("blocked", blocked=True, markets=("nyc",)),
        fan("elsewhere", markets=("sfo",)),
    ]
    counts = eligibility_counts(fans, EligibilityCriteria(market_ids=("nyc", "bos", "phl")), MARKETS)
    assert (counts.total, counts.verified, counts.selected, counts.available) == (4, 3, 1, 2)
    assert counts.by_market == (
        MarketCounts("nyc", (1, 1, 0, 0)),  # a at 0, b at 1 (available ones only, by default)
        MarketCounts("bos", (1, 1, 0, 0)),
        MarketCounts("phl", (0, 0, 1, 0)),
        MarketCounts("chi", (0, 0, 0, 0)),
        MarketCounts("sfo", (0, 0, 0, 0)),  # every campaign market, in campaign order
    )
    reassigning = eligibility_counts(fans, EligibilityCriteria(reassign=True), MARKETS)
    assert reassigning.by_market[2] == MarketCounts("phl", (1, 0, 1, 0))  # the coded fan counts now
