"""The SQL of SPEC §7's lists in the datastore's order (SCR-003, SCR-005): the score, phone and tag criteria and the
listed states over the scored, unblocked entries, walking the index of the order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters_sqlite.columns import TAGGED
from adapters_sqlite.records import RECORD_COLUMNS
from entrycore.eligibility import EligibilityCriteria
from entrycore.eligibility import listed_states as _states

SCORED = "entries.score IS NOT NULL AND entries.blocked = 0"  # every selection query (SCR-008: never a blocked one)


def listed_states(criteria: EligibilityCriteria) -> list[int]:
    """The ``state`` values (2 * verdict + has codes) the list returns (SCR-005)."""
    return sorted(2 * verdict + selected for verdict, selected in _states(criteria))


def _in(values: Sequence[int]) -> str:
    return "(" + ", ".join(str(int(v)) for v in values) + ")"


def _source(criteria: EligibilityCriteria, index: str) -> str:
    """The FROM clause: the walk of ``index`` over the campaign's scored rows, or, with a ``tag`` criterion, the
    tag's rows then each entry by id (cost: the tagged records, not the campaign's)."""
    if criteria.tag is not None:
        return "entry_tags AS tagged CROSS JOIN entries ON entries.id = tagged.entry"
    return f"entries INDEXED BY {index}"


def listing(campaign_id: str, criteria: EligibilityCriteria) -> tuple[str, list[Any]]:
    """The list in the datastore's order, as ``(SELECT of RECORD_COLUMNS, params)``: SCR-003's score, phone and tag
    criteria and the listed states over the scored, unblocked entries, walking the index of the order (no market
    criterion, no preference order: those lists are ranked in the copy)."""
    parts: list[str] = ["entries.campaign_id = ?", SCORED, f"entries.state IN {_in(listed_states(criteria))}"]
    params: list[Any] = [campaign_id]
    if criteria.min_score is not None:
        parts.append("entries.score >= ?")
        params.append(criteria.min_score)
    if criteria.max_score is not None:
        parts.append("entries.score <= ?")
        params.append(criteria.max_score)
    if criteria.exclude_intl_phone:
        parts.append("entries.intl = 0")
    if criteria.tag is not None:  # the records come from the tag's rows (see _source)
        parts.append("tagged.campaign_id = ? AND tagged.tag = ? AND tagged.value = 1")
        params += [campaign_id, criteria.tag]
    if criteria.exclude_tag is not None:
        parts.append(f"entries.id NOT IN ({TAGGED})")
        params += [campaign_id, criteria.exclude_tag]
    if criteria.random_selection:
        index, order = "scored_by_random", "entries.random_score, entries.user_id"
    else:
        index, order = "scored_by_score", "entries.score DESC, entries.user_id"
    sql = f"SELECT {RECORD_COLUMNS} FROM {_source(criteria, index)} WHERE {' AND '.join(parts)} ORDER BY {order}"  # noqa: S608
    return sql, params
