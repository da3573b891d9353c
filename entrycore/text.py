"""Text every store and sink can keep: valid Unicode, i.e. no lone UTF-16 surrogate (JSON's ``"\ud800"``
escapes decode to one, and neither UTF-8 nor BSON has a form for it); and text a fan may submit (SPEC §2, the
string rule under the field-type table): no control or bidirectional override/isolate character, and a name that
shows something."""

from __future__ import annotations

import unicodedata
from typing import Any

# Bidirectional embeddings, overrides and isolates: they reorder what an admin's screen or a CSV shows (a name
# that reads as another, "Trojan Source"-style), and no fan's name needs them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Zero-width characters Unicode does not count as whitespace (str.isspace is False for them), yet show nothing:
# ZERO WIDTH SPACE, NON-JOINER, JOINER, WORD JOINER and the BOM / ZERO WIDTH NO-BREAK SPACE.
ZERO_WIDTH = frozenset("\u200b\u200c\u200d\u2060\ufeff")
LINE_BREAKS = frozenset("\n\r\t")  # the controls free text may hold
_COMBINING = ("Mn", "Mc", "Me")


def forbidden_character(text: str, *, line_breaks: bool = False) -> str | None:
    """The first control character (C0, DEL, C1: category Cc) or bidirectional control in ``text``, or None;
    with ``line_breaks``, line feeds, carriage returns and tabs are allowed."""
    for char in text:
        if char in BIDI_CONTROLS:
            return char
        if unicodedata.category(char) == "Cc" and not (line_breaks and char in LINE_BREAKS):
            return char
    return None


def shows_something(text: str) -> bool:
    """Whether ``text`` has a character that is not whitespace, zero-width or a combining mark."""
    return any(
        not char.isspace() and char not in ZERO_WIDTH and unicodedata.category(char) not in _COMBINING for char in text
    )


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
