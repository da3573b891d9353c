"""Preference fields: names, required-ness and each field type's rule (SPEC ENT-004/005/006, field table)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from entrycore.emails import InvalidEmail, normalize_email
from entrycore.errors import InvalidField, MissingFields
from entrycore.markets import MARKET_TYPES, ranked_markets
from entrycore.model import Campaign, Preference
from entrycore.phones import InvalidPhone, normalize_phone
from entrycore.text import forbidden_character, holds_only_unicode, shows_something

_TRUE = {"true": True, "false": False}


def is_empty(value: Any) -> bool:
    """null, a blank string and ``[]`` are empty; ``false`` and ``0`` are values (ENT-004)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, list | tuple) and len(value) == 0


def check_names(campaign: Campaign, submitted: Mapping[str, Any]) -> None:
    """Every key must be a preference id of the campaign (mass-assignment protection, ENT-005)."""
    known = {p.id for p in campaign.preferences}
    for key in submitted:
        if key not in known:
            raise InvalidField.of(key, "is not a field of this campaign")


def merge(stored: Mapping[str, Any], submitted: Mapping[str, Any]) -> dict[str, Any]:
    """Submitted values over stored ones; an empty submitted value removes the field (ENT-004)."""
    merged = dict(stored)
    for key, value in submitted.items():
        if is_empty(value):
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def check_missing(campaign: Campaign, values: Mapping[str, Any]) -> None:
    """Raises MissingFields naming every required preference that is absent or empty."""
    missing = [p.id for p in campaign.preferences if not p.is_optional and _is_missing(p, values.get(p.id))]
    if missing:
        raise MissingFields.of(missing)


def check_text(campaign: Campaign, submitted: Mapping[str, Any]) -> None:
    """Every string the fan submitted (a value, or an item of a list) holds no control character (free text may
    hold line breaks and tabs) and no bidirectional control, and a name or zip shows something (SPEC §2, the
    string rule); raises InvalidField.
    Only submitted values are judged: a stored value the fan did not send again is kept as it is."""
    types = {p.id: p.type for p in campaign.preferences}
    for key, value in submitted.items():
        for text in _strings(value):
            char = forbidden_character(text, line_breaks=types.get(key) == "freeform_text")
            if char is not None:
                raise InvalidField.of(key, f"holds the character U+{ord(char):04X}, which no field may hold")
            if types.get(key) in ("name", "zip") and text.strip() and not shows_something(text):
                # only zero-width characters or combining marks: a name no one can read
                raise InvalidField.of(key, "must hold a letter, digit or sign, not only invisible characters")


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [item for item in value if isinstance(item, str)]
    return []


def _is_missing(pref: Preference, value: Any) -> bool:
    if is_empty(value):
        return True
    # A checklist drops its blank items, so one holding nothing else would be stored empty.
    return (
        pref.type == "checklist"
        and isinstance(value, list)
        and all(item is None or (isinstance(item, str) and not item.strip()) for item in value)
    )


def normalize(campaign: Campaign, values: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """Validates each non-empty value by its type; returns (stored values, ranked markets)."""
    stored: dict[str, Any] = {}
    for pref in campaign.preferences:
        value = values.get(pref.id)
        if is_empty(value) or pref.type in MARKET_TYPES:
            continue  # a market id that is not valid Unicode is no market of the campaign: ENTRY_INVALID_MARKET
        if not holds_only_unicode(value):  # valid JSON, yet no store or sink could keep it
            raise InvalidField.of(pref.id, "is not valid Unicode text")
        normalized = normalize_value(campaign, pref, value)
        if not is_empty(normalized):
            stored[pref.id] = normalized
    markets, market_values = ranked_markets(campaign, values)
    stored.update(market_values)
    return stored, markets


def normalize_value(campaign: Campaign, pref: Preference, value: Any) -> Any:
    """One non-market value by its preference type; raises InvalidField."""
    extra = pref.additional
    match pref.type:
        case "email":
            try:
                return normalize_email(value)
            except InvalidEmail:
                raise InvalidField.of(pref.id, "is not a valid email address") from None
        case "phone":
            try:
                return normalize_phone(value, campaign.region)
            except InvalidPhone:
                raise InvalidField.of(pref.id, "is not a valid phone number") from None
        case "name":
            return _bounded_text(pref.id, value, 100)
        case "zip":
            return _bounded_text(pref.id, value, 20)
        case "ticket_count":
            low, high = _int(extra.get("min"), 1), _int(extra.get("max"), 8)
            if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
                raise InvalidField.of(pref.id, f"must be a whole number from {low} to {high}")
            return value
        case "boolean_select" | "opt_in":
            return _boolean(pref.id, value)
        case "freeform_text":
            low, high = _int(extra.get("minLength"), 0), _int(extra.get("maxLength"), 1000)
            if not isinstance(value, str) or not low <= len(value) <= high:
                raise InvalidField.of(pref.id, f"must be text of {low} to {high} characters")
            return value
        case "checklist":
            return _checklist(pref, value)
    raise InvalidField.of(pref.id, "has an unsupported type")  # pragma: no cover - types are checked on read


def _bounded_text(field_id: str, value: Any, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > limit:
        raise InvalidField.of(field_id, f"must be non-empty text of at most {limit} characters")
    return value.strip()


def _boolean(field_id: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE:
        return _TRUE[value.strip().lower()]
    raise InvalidField.of(field_id, "must be true or false")


def _checklist(pref: Preference, value: Any) -> list[str]:
    items = pref.additional.get("items")
    allowed = {i.get("id") for i in items if isinstance(i, Mapping)} if isinstance(items, list) else set()
    if not isinstance(value, list) or not all(v is None or isinstance(v, str) for v in value):
        raise InvalidField.of(pref.id, "must be a list of item ids")
    chosen: list[str] = []
    for item in value:
        if item is None or not item.strip():
            continue  # blanks are dropped
        if item not in allowed:
            raise InvalidField.of(pref.id, f"'{item}' is not an item of this list")
        if item not in chosen:
            chosen.append(item)
    return chosen


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
