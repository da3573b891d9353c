"""Ranked market preferences and the transfer rule (SPEC MKT-001/002/003)."""

from __future__ import annotations

from itertools import permutations
from typing import Any

import pytest

from entrycore import markets
from entrycore.errors import InvalidMarket
from entrycore.markets import ranked_markets, transfer
from tests.builders import campaign
from tests.unit.conftest import World, fields_with

# MKT-001 / MKT-002 -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("primary", "optionals", "ranked"),
    [
        ("nyc", ..., ("nyc",)),
        ("nyc", [], ("nyc",)),
        ("nyc", ["bos"], ("nyc", "bos")),
        ("lax", ["chi", "nyc"], ("lax", "chi", "nyc")),
        ("nyc", ["bos", "phl", "chi"], ("nyc", "bos", "phl", "chi")),
        ("chi", ["phl", "nyc", "bos"], ("chi", "phl", "nyc", "bos")),
    ],
)
def test_MKT_001_up_to_four_ranked_markets_in_the_fans_order(
    world: World, primary: str, optionals: Any, ranked: tuple[str, ...]
) -> None:
    entry, _ = world.register("u1", fields_with(market=primary, optional_markets=optionals))

    assert entry.markets == ranked
    assert entry.fields["market"] == primary
    assert entry.fields.get("optional_markets", []) == list(ranked[1:])
    assert world.stored().markets == ranked


def test_MKT_001_campaign_without_market_select_gives_no_markets(world: World) -> None:
    world.add_campaign(id="t", preferences=[{"id": "email", "type": "email"}])
    entry, _ = world.register("u1", {"email": "a@example.com"}, campaign_id="t")
    assert entry.markets == ()
    assert world.entries.docs[("t", "u1")]["markets"] == []


def test_MKT_001_optional_primary_left_empty_gives_no_markets(world: World) -> None:
    world.add_campaign(id="t", preferences=[{"id": "market", "type": "market_select", "is_optional": True}])
    entry, _ = world.register("u1", {"market": None}, campaign_id="t")
    assert entry.markets == ()


def test_MKT_001_optionals_without_a_primary_are_invalid(world: World) -> None:
    world.add_campaign(
        id="t",
        preferences=[
            {"id": "market", "type": "market_select", "is_optional": True},
            {"id": "more", "type": "additional_markets_select", "is_optional": True},
        ],
    )
    with pytest.raises(InvalidMarket) as raised:
        world.register("u1", {"more": ["bos"]}, campaign_id="t")
    assert raised.value.code == "ENTRY_INVALID_MARKET"
    assert raised.value.payload == {"field": "more"}
    assert world.entries.docs == {}


def test_MKT_001_optionals_in_a_campaign_without_market_select_are_invalid(world: World) -> None:
    world.add_campaign(id="t", preferences=[{"id": "more", "type": "additional_markets_select"}])
    with pytest.raises(InvalidMarket):
        world.register("u1", {"more": ["bos"]}, campaign_id="t")


def test_MKT_001_removing_the_primary_on_update_with_optionals_left_is_invalid(world: World) -> None:
    world.add_campaign(
        preferences=[
            {"id": "market", "type": "market_select", "is_optional": True},
            {"id": "optional_markets", "type": "additional_markets_select", "is_optional": True},
        ]
    )
    world.register("u1", {"market": "nyc", "optional_markets": ["bos"]})
    with pytest.raises(InvalidMarket):
        world.register("u1", {"market": None})


@pytest.mark.parametrize(
    ("primary", "optionals", "field"),
    [
        ("paris", ..., "market"),  # unknown primary
        ("NYC", ..., "market"),  # ids are exact
        (5, ..., "market"),
        (["nyc"], ..., "market"),
        ("nyc", ["paris"], "optional_markets"),  # unknown optional
        ("nyc", ["bos", "bos"], "optional_markets"),  # duplicate
        ("nyc", ["bos", "nyc"], "optional_markets"),  # primary repeated
        ("nyc", ["nyc"], "optional_markets"),
        ("nyc", ["bos", "phl", "chi", "lax"], "optional_markets"),  # too many (5 in all)
        ("nyc", "bos", "optional_markets"),  # not a list
        ("nyc", [5], "optional_markets"),
        ("nyc", [None], "optional_markets"),
    ],
)
def test_MKT_002_invalid_market_choices(world: World, primary: Any, optionals: Any, field: str) -> None:
    with pytest.raises(InvalidMarket) as raised:
        world.register("u1", fields_with(market=primary, optional_markets=optionals))
    assert raised.value.code == "ENTRY_INVALID_MARKET"
    assert raised.value.payload == {"field": field}
    assert world.entries.docs == {}


@pytest.mark.parametrize(
    ("additional", "accepted", "rejected"),
    [
        ({}, 3, 4),  # default 3
        ({"max": 3}, 3, 4),
        ({"max": 5}, 3, 4),  # never above 3
        ({"max": 2}, 2, 3),
        ({"max": 1}, 1, 2),
    ],
)
def test_MKT_002_optional_market_limit(world: World, additional: dict[str, Any], accepted: int, rejected: int) -> None:
    world.add_campaign(
        preferences=[
            {"id": "market", "type": "market_select"},
            {
                "id": "more",
                "type": "additional_markets_select",
                "is_optional": True,
                "additional": additional,
            },
        ]
    )
    others = ["bos", "phl", "chi", "lax"]

    with pytest.raises(InvalidMarket):
        world.register("u1", {"market": "nyc", "more": others[:rejected]})
    entry, _ = world.register("u1", {"market": "nyc", "more": others[:accepted]})

    assert entry.markets == ("nyc", *others[:accepted])


def test_MKT_002_ranked_markets_pure_function() -> None:
    camp = campaign()
    ranked, stored = ranked_markets(camp, {"market": "phl", "optional_markets": ["lax", "nyc"]})
    assert ranked == ("phl", "lax", "nyc")
    assert stored == {"market": "phl", "optional_markets": ["lax", "nyc"]}
    assert markets.MAX_OPTIONAL + 1 == 4


# MKT-003: the pure transfer rule -----------------------------------------------------------------

TRANSFERS = [
    # primary = from, to not among optionals → primary becomes to
    (("nyc", "bos", "phl"), "nyc", "chi", ("chi", "bos", "phl")),
    (("nyc",), "nyc", "chi", ("chi",)),
    # primary = from, to among optionals → primary becomes to, to removed, ranks close up
    (("nyc", "bos", "phl", "chi"), "nyc", "bos", ("bos", "phl", "chi")),
    (("nyc", "bos", "phl", "chi"), "nyc", "phl", ("phl", "bos", "chi")),
    (("nyc", "bos", "phl", "chi"), "nyc", "chi", ("chi", "bos", "phl")),
    # from among optionals, to already present (any rank) → from removed, ranks close up
    (("nyc", "bos", "phl", "chi"), "bos", "nyc", ("nyc", "phl", "chi")),
    (("nyc", "bos", "phl", "chi"), "bos", "chi", ("nyc", "phl", "chi")),
    (("nyc", "bos", "phl", "chi"), "chi", "bos", ("nyc", "bos", "phl")),
    # from among optionals, to absent → from replaced by to at the same rank
    (("nyc", "bos", "phl", "chi"), "phl", "lax", ("nyc", "bos", "lax", "chi")),
    (("nyc", "bos"), "bos", "lax", ("nyc", "lax")),
    # from absent → nothing changes
    (("nyc", "bos"), "lax", "chi", ("nyc", "bos")),
    (("nyc", "bos"), "lax", "nyc", ("nyc", "bos")),
    ((), "nyc", "bos", ()),
]


@pytest.mark.parametrize(("ranked", "source", "target", "expected"), TRANSFERS)
def test_MKT_003_transfer_cases(ranked: tuple[str, ...], source: str, target: str, expected: tuple[str, ...]) -> None:
    assert transfer(ranked, source, target) == expected


@pytest.mark.parametrize(("ranked", "source", "target", "expected"), TRANSFERS)
def test_MKT_003_transfer_is_idempotent_and_leaves_no_gaps_or_duplicates(
    ranked: tuple[str, ...], source: str, target: str, expected: tuple[str, ...]
) -> None:
    once = transfer(ranked, source, target)
    assert transfer(once, source, target) == once
    assert len(set(once)) == len(once)
    assert all(once)
    assert source not in once or source not in ranked
    assert len(once) <= 4


def test_MKT_003_transfer_of_every_arrangement_keeps_the_rules() -> None:
    """Exhaustively over ranked lists of up to 4 of 5 markets and every from ≠ to pair."""
    ids = ["a", "b", "c", "d", "e"]
    for size in range(1, 5):
        for ranked in permutations(ids, size):
            for source in ids:
                for target in ids:
                    if source == target:
                        continue
                    once = transfer(ranked, source, target)
                    assert transfer(once, source, target) == once
                    assert len(set(once)) == len(once)
                    if source in ranked:
                        assert source not in once
                        assert target in once
                        assert len(once) == len(ranked) - (target in ranked)
                        assert once[0] == (target if ranked[0] == source else ranked[0])
                    else:
                        assert once == ranked
