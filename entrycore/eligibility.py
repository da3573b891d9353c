"""What "eligible" means (SPEC SCR-003…005): the criteria of counts and lists, in plain Python.

This is the reference: each store translates ``EligibilityCriteria`` into its own query language for speed,
and the contract suite checks both stores against these functions on generated data (same counts, same
order, same pages). Nothing here touches a store.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import attrs

MAX_RANKS = 4  # [primary, optional1, optional2, optional3] (SPEC MKT-001)
DEFAULT_LIMIT = 50
MAX_LIMIT = 10_000


@attrs.frozen
class Candidate:
    """What selection reads of one scoring record and its entry (SPEC §1: scoring record, blocked)."""

    user_id: str
    phone: str
    score: float
    random_score: float
    verdict: bool = True
    markets: tuple[str, ...] = ()  # ranked: index = rank
    codes: tuple[str, ...] = ()  # assigned codes: any means selected
    tags: Mapping[str, bool] = attrs.field(factory=dict, hash=False)
    blocked: bool = False  # the entry's review.isBlocked: excluded from every selection (SCR-008)

    @property
    def selected(self) -> bool:
        return bool(self.codes)


def _criterion(default: Any, query: str, summary: str, *, flag: str = "") -> Any:
    """A criterion's field, with the names the edges know it by (read by ``criteria()``)."""
    return attrs.field(default=default, metadata={"query": query, "flag": flag, "summary": summary})


@attrs.frozen
class EligibilityCriteria:
    """SCR-003's criteria and SCR-005's orders, as the query string of API.md §4 names them. Each is declared
    here once: its query parameter, its CLI flag and its summary are read from here by every edge (``criteria``)."""

    market_ids: tuple[str, ...] = _criterion(
        (), "marketIds", "Comma list of market ids: a fan matches when any ranked market is among them.", flag="markets"
    )
    min_score: float | None = _criterion(None, "minScore", "Lowest score, inclusive.")
    max_score: float | None = _criterion(None, "maxScore", "Highest score, inclusive.")
    include_filtered: bool = _criterion(False, "includeFiltered", "Also records whose verdict is false.")
    selected_only: bool = _criterion(False, "selectedOnly", "Only fans with a code.")
    reassign: bool = _criterion(False, "reassign", "Also fans with a code.")
    exclude_intl_phone: bool = _criterion(False, "excludeIntlPhone", "Leave out phones not starting +1.")
    single_market_selection: bool = _criterion(
        False, "singleMarketSelection", "Only fans whose primary market is among the market ids."
    )
    tag: str | None = _criterion(None, "tag", "Only records carrying this tag (a `signal:` name too).")
    exclude_tag: str | None = _criterion(
        None, "excludeTag", "Leave out records carrying this tag (a `signal:` name too)."
    )
    random_selection: bool = _criterion(False, "randomSelection", "Order by random score.")
    order_by_preference: bool = _criterion(
        False, "orderByPreference", "Order by best rank among the market ids, then score."
    )


CriterionKind = Literal["markets", "number", "flag", "tag"]


@attrs.frozen
class Criterion:
    """One criterion as the edges name it: the field of EligibilityCriteria, its query parameter (API.md §4),
    its CLI flag (``--`` + this), what kind of value it takes, and its one-line summary."""

    field: str
    query: str
    flag: str
    kind: CriterionKind
    summary: str


_KINDS: dict[Any, CriterionKind] = {
    tuple[str, ...]: "markets",
    float | None: "number",
    bool: "flag",
    str | None: "tag",
}


def market_ids_of(text: str) -> tuple[str, ...]:
    """A ``markets`` criterion as both edges write it: ids separated by commas, blanks and repeats dropped."""
    return tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))


def criteria() -> tuple[Criterion, ...]:
    """Every criterion, in declaration order: what the HTTP parser, the OpenAPI document and the CLI read."""
    return _CRITERIA


def _declared() -> tuple[Criterion, ...]:
    fields = attrs.fields(attrs.resolve_types(EligibilityCriteria))
    return tuple(
        Criterion(
            field.name,
            field.metadata["query"],
            field.metadata["flag"] or re.sub(r"(?<!^)(?=[A-Z])", "-", field.metadata["query"]).lower(),
            _KINDS[field.type],
            field.metadata["summary"],
        )
        for field in fields
    )


_CRITERIA = _declared()


@attrs.frozen
class MarketCounts:
    market_id: str
    counts: tuple[int, int, int, int]  # how many listed records rank the market at 0, 1, 2, 3


@attrs.frozen
class EligibilityCounts:
    """SCR-004: ``total`` matches the market, score, tag and phone criteria (blocked excluded); ``verified``
    of them have verdict true, ``selected`` a code, ``available`` both verified and not selected."""

    total: int
    verified: int
    selected: int
    available: int
    by_market: tuple[MarketCounts, ...]


def matches(candidate: Candidate, criteria: EligibilityCriteria) -> bool:
    """The market, score, tag and phone criteria (what the counts' ``total`` counts); never a blocked entry."""
    if candidate.blocked:
        return False
    if criteria.market_ids:
        wanted = set(criteria.market_ids)
        ranked = candidate.markets[:1] if criteria.single_market_selection else candidate.markets
        if not wanted.intersection(ranked):
            return False
    if criteria.min_score is not None and candidate.score < criteria.min_score:
        return False
    if criteria.max_score is not None and candidate.score > criteria.max_score:
        return False
    if criteria.tag is not None and candidate.tags.get(criteria.tag) is not True:
        return False
    if criteria.exclude_tag is not None and candidate.tags.get(criteria.exclude_tag) is True:
        return False
    return not (criteria.exclude_intl_phone and not candidate.phone.startswith("+1"))


def listed(candidate: Candidate, criteria: EligibilityCriteria) -> bool:
    """Whether the list returns the candidate (SCR-005): the criteria above, verdict true unless
    ``include_filtered``, and by default no code — with ``reassign`` codes do not matter, with
    ``selected_only`` only fans with a code."""
    if not matches(candidate, criteria):
        return False
    if not criteria.include_filtered and not candidate.verdict:
        return False
    if criteria.selected_only:
        return candidate.selected
    return criteria.reassign or not candidate.selected


def listed_states(criteria: EligibilityCriteria) -> frozenset[tuple[bool, bool]]:
    """The ``(verdict, selected)`` pairs ``listed`` lets through (SCR-005), for stores that group or index by
    them: verdict true unless ``include_filtered``; no code by default, any with ``reassign``, a code with
    ``selected_only``."""
    verdicts = (False, True) if criteria.include_filtered else (True,)
    if criteria.selected_only:
        chosen: tuple[bool, ...] = (True,)
    elif criteria.reassign:
        chosen = (False, True)
    else:
        chosen = (False,)
    return frozenset((verdict, selected) for verdict in verdicts for selected in chosen)


def best_rank(candidate: Candidate, market_ids: Sequence[str]) -> int:
    """The lowest rank at which the candidate ranks one of ``market_ids`` (any market when none given);
    ``MAX_RANKS`` when none of them."""
    wanted = set(market_ids)
    return next((rank for rank, market in enumerate(candidate.markets) if not wanted or market in wanted), MAX_RANKS)


def sort_key(candidate: Candidate, criteria: EligibilityCriteria) -> tuple[float | int | str, ...]:
    """SCR-005: score descending, ties by user id; ``random_selection``: random score ascending, ties by user
    id; ``order_by_preference``: best rank among ``market_ids``, then score descending, then user id."""
    if criteria.random_selection:
        return (candidate.random_score, candidate.user_id)
    if criteria.order_by_preference:
        return (best_rank(candidate, criteria.market_ids), -candidate.score, candidate.user_id)
    return (-candidate.score, candidate.user_id)


def eligible_page(
    candidates: Iterable[Candidate], criteria: EligibilityCriteria, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> tuple[list[Candidate], int]:
    """``(the page, the total under the same criteria)`` of the eligible list (SCR-005)."""
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise ValueError(f"limit must be 1 to {MAX_LIMIT} and offset at least 0")
    chosen = sorted((c for c in candidates if listed(c, criteria)), key=lambda c: sort_key(c, criteria))
    return chosen[offset : offset + limit], len(chosen)


def eligibility_counts(
    candidates: Iterable[Candidate], criteria: EligibilityCriteria, campaign_markets: Sequence[str]
) -> EligibilityCounts:
    """SCR-004's counts; ``by_market`` lists every campaign market in campaign order."""
    total = verified = selected = available = 0
    ranks: dict[str, list[int]] = {market: [0] * MAX_RANKS for market in campaign_markets}
    for candidate in candidates:
        if not matches(candidate, criteria):
            continue
        total += 1
        verified += candidate.verdict
        selected += candidate.selected
        available += candidate.verdict and not candidate.selected
        if listed(candidate, criteria):
            for rank, market in enumerate(candidate.markets[:MAX_RANKS]):
                if market in ranks:
                    ranks[market][rank] += 1
    by_market = tuple(MarketCounts(m, (r[0], r[1], r[2], r[3])) for m, r in ranks.items())
    return EligibilityCounts(total, verified, selected, available, by_market)


def counts_of_ranks(
    states: Mapping[tuple[bool, bool], int], ranks: Mapping[tuple[int, str], int], campaign_markets: Sequence[str]
) -> EligibilityCounts:
    """SCR-004's counts from how many matching records there are per ``(verdict, selected)`` and, among the listed
    ones (``listed_states``), per ``(rank, market)`` — what a store counts when it groups by rank, whatever the
    spread of the ranked lists. ``by_market`` lists every campaign market in campaign order."""
    total = sum(states.values())
    verified = sum(count for (verdict, _), count in states.items() if verdict)
    selected = sum(count for (_, has_code), count in states.items() if has_code)
    available = states.get((True, False), 0)
    by_market = tuple(
        MarketCounts(
            market,
            (
                ranks.get((0, market), 0),
                ranks.get((1, market), 0),
                ranks.get((2, market), 0),
                ranks.get((3, market), 0),
            ),
        )
        for market in campaign_markets
    )
    return EligibilityCounts(total, verified, selected, available, by_market)


def public_criteria(chosen: EligibilityCriteria) -> dict[str, Any]:
    """The criteria that differ from their defaults, JSON-typed under their query names (a draw's ``criteria``,
    DRW-006): ``{"marketIds": ["nyc"], "minScore": 50}``."""
    shown: dict[str, Any] = {}
    defaults = attrs.fields_dict(EligibilityCriteria)
    for criterion in criteria():
        value = getattr(chosen, criterion.field)
        if value == defaults[criterion.field].default:
            continue
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        shown[criterion.query] = value
    return shown
