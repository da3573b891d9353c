"""Text every store and sink can keep: valid Unicode, i.e. no lone UTF-16 surrogate (JSON's ``"\ud800"``
escapes decode to one, and neither UTF-8 nor BSON has a form for it)."""

from __future__ import annotations

from typing import Any


def is_unicode(text: str) -> bool:
    """Whether ``text`` has a UTF-8 form (it holds no lone surrogate)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def holds_only_unicode(value: Any) -> bool:
    """Whether every string in ``value`` (a string, or a list of values) is valid Unicode."""
    if isinstance(value, str):
        return is_unicode(value)
    if isinstance(value, list | tuple):
        return all(holds_only_unicode(item) for item in value)
    return True
