"""Selection criteria and paging from a query string (API.md §4): typed by cattrs, every bad parameter named
in one BAD_REQUEST, unknown parameters ignored (SPEC SCR-003, SCR-005)."""

from __future__ import annotations

import pytest

from adapters_http.server.criteria import Page, criteria_from, page_from
from entrycore.eligibility import EligibilityCriteria
from entrycore.errors import BadRequest


def test_every_criterion_is_read_and_unknown_parameters_are_ignored() -> None:
    query = {
        "marketIds": "nyc, bos,,nyc",
        "minScore": "10",
        "maxScore": "99.5",
        "includeFiltered": "true",
        "selectedOnly": "false",
        "reassign": "true",
        "excludeIntlPhone": "true",
        "singleMarketSelection": "true",
        "tag": "vip",
        "excludeTag": "fraud",
        "randomSelection": "false",
        "orderByPreference": "true",
        "somethingElse": "whatever",
    }
    assert criteria_from(query) == EligibilityCriteria(
        market_ids=("nyc", "bos"),
        min_score=10.0,
        max_score=99.5,
        include_filtered=True,
        reassign=True,
        exclude_intl_phone=True,
        single_market_selection=True,
        tag="vip",
        exclude_tag="fraud",
        order_by_preference=True,
    )
    assert criteria_from({}) == EligibilityCriteria()


def test_every_bad_value_is_named_in_one_bad_request() -> None:
    with pytest.raises(BadRequest) as failed:
        criteria_from({"minScore": "high", "reassign": "yes", "maxScore": "inf", "marketIds": ",", "tag": " "})
    paths = [e["path"] for e in failed.value.payload["errors"]]
    assert paths == ["query.marketIds", "query.maxScore", "query.minScore", "query.reassign", "query.tag"]


@pytest.mark.parametrize(
    ("query", "page"),
    [({}, Page(50, 0)), ({"limit": "10000", "offset": "50000"}, Page(10_000, 50_000)), ({"limit": "1"}, Page(1, 0))],
)
def test_paging(query: dict[str, str], page: Page) -> None:
    assert page_from(query) == page


@pytest.mark.parametrize("query", [{"limit": "0"}, {"limit": "10001"}, {"limit": "ten"}, {"offset": "-1"}])
def test_limit_or_offset_out_of_range_is_a_bad_request_naming_it(query: dict[str, str]) -> None:
    with pytest.raises(BadRequest) as failed:
        page_from(query)
    assert [e["path"] for e in failed.value.payload["errors"]] == [f"query.{next(iter(query))}"]
