"""Ranked market preferences: primary + up to three optionals (SPEC MKT-001/002)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from entrycore.errors import InvalidMarket
from entrycore.model import Campaign

MAX_OPTIONAL = 3
MARKET_TYPES = frozenset({"market_select", "additional_markets_select"})


def ranked_markets(campaign: Campaign, values: Mapping[str, Any]) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The ranked list ``[primary, optional1..3]`` and the stored market field values; raises
    InvalidMarket."""
    primary_pref = campaign.first_of_type("market_select")
    extra_pref = campaign.first_of_type("additional_markets_select")
    known = set(campaign.market_ids())
    primary = values.get(primary_pref.id) if primary_pref else None
    optionals = values.get(extra_pref.id) if extra_pref else None
    stored: dict[str, Any] = {}
    if primary_pref and primary is not None:
        if not isinstance(primary, str) or primary not in known:
            raise InvalidMarket.of(primary_pref.id, "is not a market of this campaign")
        stored[primary_pref.id] = primary
    if extra_pref and optionals not in (None, []):
        limit = extra_pref.additional.get("max", MAX_OPTIONAL)
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            limit = MAX_OPTIONAL
        limit = min(limit, MAX_OPTIONAL)
        field = extra_pref.id
        if not isinstance(optionals, list) or not all(isinstance(m, str) for m in optionals):
            raise InvalidMarket.of(field, "must be a list of market ids")
        if primary is None:
            raise InvalidMarket.of(field, "optional markets need a primary market")
        if len(optionals) > limit:
            raise InvalidMarket.of(field, f"at most {limit} optional markets")
        for market in optionals:
            if market not in known:
                raise InvalidMarket.of(field, f"'{market}' is not a market of this campaign")
        if len(set(optionals)) != len(optionals):
            raise InvalidMarket.of(field, "a market is chosen twice")
        if primary in optionals:
            raise InvalidMarket.of(field, "the primary market is repeated among the optional ones")
        stored[field] = list(optionals)
    optional_ids = stored.get(extra_pref.id, []) if extra_pref else []
    ranked = (primary, *optional_ids) if primary_pref and primary is not None else ()
    return ranked, stored


def transfer(markets: tuple[str, ...], source: str, target: str) -> tuple[str, ...]:
    """Moves ``source`` to ``target`` in a ranked list by the four cases of SPEC MKT-003."""
    if source not in markets:
        return markets
    if markets[0] == source:
        rest = tuple(m for m in markets[1:] if m != target)
        return (target, *rest)
    if target in markets:
        return tuple(m for m in markets if m != source)
    return tuple(target if m == source else m for m in markets)
