"""Ranked market preferences: primary + up to three optionals (SPEC MKT-001/002)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs

from entrycore.errors import InvalidMarket, InvalidTransfer
from entrycore.model import Campaign, Entry

M = TypeVar("M")

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


def transfer(markets: tuple[M, ...], source: M, target: M) -> tuple[M, ...]:
    """Moves ``source`` to ``target`` in a ranked list by the four cases of SPEC MKT-003 (a list without
    ``source`` is returned as is, so a second identical transfer changes nothing). Stores apply it to market
    ids, and SqliteScoringStore to the slots that number them."""
    if source not in markets:
        return markets
    if markets[0] == source:
        rest = tuple(m for m in markets[1:] if m != target)
        return (target, *rest)
    if target in markets:
        return tuple(m for m in markets if m != source)
    return tuple(target if m == source else m for m in markets)


@attrs.frozen
class MarketTransfer:
    """One transfer of a campaign's entries and scoring records from market ``source`` to ``target``
    (MKT-003), as the stores apply it in bulk. ``primary_field`` / ``extra_field`` are the ids of the campaign's
    ``market_select`` / ``additional_markets_select`` preferences, rewritten as the fan route writes them; ``at``
    is every moved entry's new ``date.updated`` and its event's time. Each ``entry.transferred`` event's id is
    ``event_id(unique)``, ``unique`` being the store's own id of the entry (its row, its document)."""

    campaign_id: str
    campaign_name: str
    source: str
    target: str
    primary_field: str | None
    extra_field: str | None
    at: datetime
    event_prefix: str

    @classmethod
    def of(cls, campaign: Campaign, source: str, target: str, at: datetime, event_prefix: str) -> MarketTransfer:
        """The transfer, once checked: ``from == to``, or either not a campaign market, is INVALID_TRANSFER."""
        known = campaign.market_ids()
        if source == target:
            raise InvalidTransfer("fromMarketId and toMarketId are the same market.")
        for name, market in (("fromMarketId", source), ("toMarketId", target)):
            if market not in known:
                raise InvalidTransfer(f"{name} '{market}' is not a market of campaign {campaign.id}.")
        primary = campaign.first_of_type("market_select")
        extra = campaign.first_of_type("additional_markets_select")
        return cls(
            campaign_id=campaign.id,
            campaign_name=campaign.name,
            source=source,
            target=target,
            primary_field=primary.id if primary else None,
            extra_field=extra.id if extra else None,
            at=at,
            event_prefix=event_prefix,
        )

    def event_id(self, unique: object) -> str:
        return f"{self.event_prefix}-{unique}"


def transferred(entry: Entry, move: MarketTransfer) -> Entry | None:
    """The entry after ``move`` (MKT-003): its ranked markets, its market fields as the fan route stores them for
    that list (``ranked_markets``: the primary field, the optional field only when there are optional markets),
    ``date.updated`` and a new version; None when the entry does not rank the source market. The reference the
    stores are checked against."""
    markets = transfer(entry.markets, move.source, move.target)
    if markets == entry.markets:
        return None
    fields = dict(entry.fields)
    if move.primary_field is not None:
        fields[move.primary_field] = markets[0]
    if move.extra_field is not None:
        if len(markets) > 1:
            fields[move.extra_field] = list(markets[1:])
        else:
            fields.pop(move.extra_field, None)
    return attrs.evolve(entry, fields=fields, markets=markets, date_updated=move.at, version=entry.version + 1)
