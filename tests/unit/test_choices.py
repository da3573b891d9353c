"""The closed sets of words (entrycore.choices): each edge reads text into them, a bad word named as API.md says."""

from __future__ import annotations

import enum

import pytest

from entrycore import choices
from entrycore.choices import Bucket, FilterType, FlipMode, TagBy
from entrycore.errors import BadRequest


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        (TagBy, "must be phone or userId"),
        (FlipMode, "must be exclude or include"),
        (Bucket, "must be hour or day"),
        (FilterType, "must be one of winners, codeless, blocked, verified"),
    ],
)
def test_a_bad_word_is_told_the_words_of_its_set_as_before_the_enums(kind: type[enum.StrEnum], message: str) -> None:
    assert choices.expected(kind) == message
    with pytest.raises(BadRequest) as raised:
        choices.read(kind, "sideways", "$.x")
    assert raised.value.payload == {"errors": [{"path": "$.x", "message": message}]}


def test_text_and_members_read_as_the_member_and_the_words_keep_their_order() -> None:
    assert choices.read(TagBy, "userId", "$.by") is TagBy.USER_ID
    assert choices.read(Bucket, Bucket.DAY, "query.bucket") is Bucket.DAY
    assert choices.words(FilterType) == ["winners", "codeless", "blocked", "verified"]  # the OpenAPI enum's order


def test_a_bad_word_is_named_after_the_other_problems_of_the_same_request() -> None:
    with pytest.raises(BadRequest) as raised:
        choices.read(FlipMode, "x", "$.mode", [("$.tagName", "must not be blank")])
    assert [e["path"] for e in raised.value.payload["errors"]] == ["$.tagName", "$.mode"]
