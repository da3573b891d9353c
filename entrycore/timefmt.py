"""UTC timestamps as the API writes them (ISO-8601, milliseconds, ``Z``) and reads them (any offset)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_ms(moment: datetime) -> datetime:
    """The moment in UTC, truncated to milliseconds (what the API can represent)."""
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    micro = moment.microsecond
    return moment if micro % 1000 == 0 else moment.replace(microsecond=micro - micro % 1000)


def iso(moment: datetime | None) -> str | None:
    """``2026-11-27T12:00:00.123Z`` or None (on every hot path: kept to one isoformat call)."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.isoformat(timespec="milliseconds")[:-6] + "Z"  # "+00:00" → "Z"; truncates like utc_ms


def parse_iso(text: str) -> datetime:
    """Reads an ISO-8601 timestamp with ``Z`` or an offset; raises ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError("timestamp must be a string")
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    if moment.tzinfo is None:
        raise ValueError("timestamp needs 'Z' or an offset")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+01:00: before the first representable UTC moment
        raise ValueError("timestamp out of range") from None


def parse_iso_opt(text: str | None) -> datetime | None:
    return None if text is None else parse_iso(text)
