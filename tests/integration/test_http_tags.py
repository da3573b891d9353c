"""Tag names and tags over HTTP (SCR-002, SCR-006, SIG-001; issue 21, item 6): a row whose tags are not an object
of tag names to booleans is INVALID_TAGS (never INVALID_SCORE) and the rest of the batch goes on; a tag name is
at most 100 characters with no control or bidirectional character, and `signal:` names only the service's own
signals (refused on the tags route and in rows, allowed in flips and criteria)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin, phone_of, scored  # noqa: F401 - the fixture

LONG = "x" * 101


@pytest.fixture
def tagged(scored: Api) -> Api:  # noqa: F811 - pytest passes the imported fixture by its name
    """test_http_scoring's campaign ``ppc`` with its scored fans f1..f3."""
    return scored


def test_a_bad_tags_row_is_invalid_tags_and_the_others_are_stored(tagged: Api) -> None:
    records = [
        {"phone": phone_of(1), "score": 10, "tags": ["vip"]},
        {"phone": phone_of(2), "score": 20, "tags": {LONG: True}},
        {"phone": phone_of(3), "score": 30, "tags": {"x" * 100: True}},
    ]
    answer = admin(tagged, "POST", "/ppc/entries/scoring", {"records": records}).get_json()
    assert answer["rejected"] == [{"index": 0, "reason": "INVALID_TAGS"}, {"index": 1, "reason": "INVALID_TAGS"}]
    assert answer["invalid"] == 2 and answer["matched"] == 1


@pytest.mark.parametrize("name", [LONG, "x" * 100_000, "v\u0000ip", "\u202evip", "signal:voip_phone", "  "])
def test_the_tags_route_refuses_a_bad_tag_name(tagged: Api, name: str) -> None:
    body = {"tagName": name, "by": "userId", "values": ["f1"]}
    answer = assert_error(admin(tagged, "POST", "/ppc/scoring/tags", body), 400, "BAD_REQUEST")
    assert [e["path"] for e in answer["payload"]["errors"]] == ["$.tagName"]


@pytest.mark.parametrize("name", [LONG, "v\u0000ip"])
def test_flips_refuse_a_bad_tag_name(tagged: Api, name: str) -> None:
    body = {"tagName": name, "mode": "exclude"}
    assert_error(admin(tagged, "POST", "/ppc/scoring/flipVerdicts", body), 400, "BAD_REQUEST")


def test_flips_and_criteria_may_name_a_signal(tagged: Api) -> None:
    flipped = admin(tagged, "POST", "/ppc/scoring/flipVerdicts", {"tagName": "signal:voip_phone", "mode": "exclude"})
    assert flipped.status_code == 200, flipped.data
    assert admin(tagged, "GET", "/ppc/entries/eligibility?tag=signal:voip_phone").status_code == 200


@pytest.mark.parametrize("query", [f"tag={LONG}", f"excludeTag={LONG}", "tag=a%00b"])
def test_criteria_refuse_a_bad_tag_name(tagged: Api, query: str) -> None:
    for path in ("/ppc/entries/eligibility", "/ppc/entries/scoring"):
        answer: Any = assert_error(admin(tagged, "GET", f"{path}?{query}"), 400, "BAD_REQUEST")
        assert answer["payload"]["errors"][0]["path"].startswith("query.")
