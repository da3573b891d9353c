"""The selection criteria and paging of API.md §4 from a query string, structured with cattrs: every bad
parameter is named in one BAD_REQUEST (SPEC SCR-003, SCR-005); unknown parameters are ignored."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError

from entrycore.eligibility import DEFAULT_LIMIT, MAX_LIMIT, EligibilityCriteria, criteria, market_ids_of
from entrycore.errors import BadRequest
from entrycore.scoring import tag_name_problem

MAX_OFFSET = 2**62  # no limit of API.md's; the stores' integers (SQLite, BSON skip) are 64-bit
_DIGITS = 20

# query parameter -> EligibilityCriteria field (each criterion is declared once, in entrycore.eligibility)
PARAMETERS = {criterion.query: criterion.field for criterion in criteria()}


@attrs.frozen
class Page:
    limit: int = DEFAULT_LIMIT
    offset: int = 0


def _boolean(value: Any, _: Any) -> bool:
    if value not in ("true", "false"):
        raise ValueError("must be true or false")
    return bool(value == "true")


def _number(value: Any, _: Any) -> float:
    try:
        number = float(value)
    except ValueError:
        raise ValueError("must be a number") from None
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _tag(value: Any, _: Any) -> str:
    """The text criteria are tag names (``tag``, ``excludeTag``): bounded as tags are, signals allowed (SIG-001)."""
    problem = tag_name_problem(value, signals=True)
    if problem is not None:
        raise ValueError(problem)
    return str(value).strip()


def _markets(value: Any, _: Any) -> tuple[str, ...]:
    ids = market_ids_of(str(value))
    if not ids:
        raise ValueError("must list market ids, comma-separated")
    return ids


def make_converter() -> cattrs.Converter:
    """Query strings are text: each field type gets a hook that reads it from text, strictly."""
    converter = cattrs.Converter()
    converter.register_structure_hook(bool, _boolean)
    converter.register_structure_hook(float, _number)
    converter.register_structure_hook(str, _tag)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], _markets)
    return converter


CONVERTER = make_converter()


def query_of(query: Mapping[str, str]) -> tuple[EligibilityCriteria, Page]:
    """The criteria and the page of a list's query string; one BAD_REQUEST naming every bad parameter of both."""
    problems: list[dict[str, str]] = []
    criteria: EligibilityCriteria | None = None
    page: Page | None = None
    try:
        criteria = criteria_from(query)
    except BadRequest as exc:
        problems += exc.payload["errors"]
    try:
        page = page_from(query)
    except BadRequest as exc:
        problems += exc.payload["errors"]
    if criteria is None or page is None:
        raise BadRequest.at([(p["path"], p["message"]) for p in problems])
    return criteria, page


def criteria_from(query: Mapping[str, str]) -> EligibilityCriteria:
    """The criteria of ``query``; BAD_REQUEST naming every parameter with a bad value."""
    given = {field: query[name] for name, field in PARAMETERS.items() if name in query}
    try:
        return CONVERTER.structure(given, EligibilityCriteria)
    except ClassValidationError as exc:
        names = {field: name for name, field in PARAMETERS.items()}
        problems = []
        for sub in exc.exceptions:
            note = next((n for n in getattr(sub, "__notes__", []) if "@ attribute " in str(n)), "")
            field = str(note).rsplit("@ attribute ", 1)[-1]
            problems.append((f"query.{names.get(field, field)}", str(sub) or "is invalid"))
        raise BadRequest.at(sorted(problems)) from None


def page_from(query: Mapping[str, str]) -> Page:
    """``limit`` (1..10,000, default 50) and ``offset`` (from 0); BAD_REQUEST naming each bad one."""
    values: dict[str, int] = {}
    problems: list[tuple[str, str]] = []
    for name, low, high in (("limit", 1, MAX_LIMIT), ("offset", 0, MAX_OFFSET)):
        text = query.get(name)
        if text is None:
            continue
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses
        if not (text.isascii() and text.isdigit() and len(text) <= _DIGITS) or not low <= int(text) <= high:
            problems.append((f"query.{name}", f"must be a whole number from {low} to {high}"))
        else:
            values[name] = int(text)
    if problems:
        raise BadRequest.at(problems)
    return Page(**values)


def criteria_of_json(given: Mapping[str, Any], path: str = "$.criteria") -> EligibilityCriteria:
    """The criteria of a JSON body (a draw's, API.md §4): the query's names and rules, JSON-typed — a list of market
    ids (or their comma list), numbers, ``true``/``false``, tag names. An unknown name is refused here: a draw's
    criteria never change, so a misspelt one must not be ignored as a query's would."""
    kinds = {criterion.query: criterion.kind for criterion in criteria()}
    problems: list[tuple[str, str]] = [(f"{path}.{name}", "unknown criterion") for name in given if name not in kinds]
    text: dict[str, str] = {}
    for name, value in given.items():
        kind = kinds.get(name)
        if kind is None:
            continue
        if kind == "markets" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            text[name] = ",".join(value)
        elif kind == "markets" and isinstance(value, str):
            text[name] = value
        elif kind == "number" and isinstance(value, int | float) and not isinstance(value, bool):
            text[name] = repr(float(value))
        elif kind == "flag" and isinstance(value, bool):
            text[name] = "true" if value else "false"
        elif kind == "tag" and isinstance(value, str):
            text[name] = value
        else:
            expected = {
                "markets": "a list of market ids",
                "number": "a number",
                "flag": "true or false",
                "tag": "a string",
            }
            problems.append((f"{path}.{name}", f"must be {expected[kind]}"))
    try:
        chosen = criteria_from(text)
    except BadRequest as exc:
        problems += [(p["path"].replace("query.", f"{path}.", 1), p["message"]) for p in exc.payload["errors"]]
        chosen = None
    if problems or chosen is None:
        raise BadRequest.at(sorted(problems))
    return chosen
