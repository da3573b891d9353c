"""The closed sets of words the API takes (how records are tagged, a verdict flip's mode, an entry list, a timeline's
bucket) as ``enum.StrEnum``s: every edge reads text into them and names a bad word the same way."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import TypeVar

from entrycore.errors import BadRequest

E = TypeVar("E", bound=enum.StrEnum)


class TagBy(enum.StrEnum):
    """How ``POST …/scoring/tags`` names the scoring records it tags (SCR-006)."""

    PHONE = "phone"
    USER_ID = "userId"


class FlipMode(enum.StrEnum):
    """Which records a verdict flip sets false (SCR-006): those carrying the tag, or all the others."""

    EXCLUDE = "exclude"
    INCLUDE = "include"


class FilterType(enum.StrEnum):
    """SCR-009's entry lists (``GET /{campaignId}/entries/{filterType}``)."""

    WINNERS = "winners"
    CODELESS = "codeless"
    BLOCKED = "blocked"
    VERIFIED = "verified"


class Bucket(enum.StrEnum):
    """The registrations timeline's bucket: an hour or a UTC day."""

    HOUR = "hour"
    DAY = "day"


def words(kind: type[enum.StrEnum]) -> list[str]:
    """The words of ``kind`` in declaration order (the OpenAPI document's ``enum``, the messages below)."""
    return [member.value for member in kind]


def expected(kind: type[enum.StrEnum]) -> str:
    """What a bad word is told: ``must be hour or day`` for two words, ``must be one of a, b, c`` for more."""
    known = words(kind)
    return f"must be {' or '.join(known)}" if len(known) == 2 else f"must be one of {', '.join(known)}"


def read(kind: type[E], text: str, path: str, problems: Sequence[tuple[str, str]] = ()) -> E:
    """``text`` as a member of ``kind`` (a member itself reads as itself); else BadRequest at ``path``, after the
    other ``problems`` found in the same request, so that one answer names every problem (API.md §2)."""
    try:
        return kind(text)
    except ValueError:
        raise BadRequest.at([*problems, (path, expected(kind))]) from None
