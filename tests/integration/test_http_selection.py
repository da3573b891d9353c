"""Selection routes of API.md §4 on the real wired app (SQLite): codes (SCR-007), blocking (SCR-008), entry lists
(SCR-009), registration counts (SCR-010), the timeline, their events in the event sink and their limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of
from tests.jsonl import json_lines

PAST = "2020-01-01T00:00:00Z"
FUTURE = (datetime.now(UTC) + timedelta(days=30)).isoformat()  # an offset, not Z: read as well


def events(api: Api) -> list[dict[str, Any]]:
    api.services.relay.drain()
    path = Path(api.services.settings.data_dir) / "events.jsonl"
    return json_lines(path)


@pytest.fixture
def scored(api: Api) -> Api:
    """f1 (nyc), f2 (bos, nyc), f3 (nyc) confirmed and scored 50, 70, 90."""
    for k, (market, optional) in enumerate([("nyc", []), ("bos", ["nyc"]), ("nyc", [])], start=1):
        confirmed_fan(api, k, market, optional)
    rows = [{"phone": phone_of(k), "score": score} for k, score in ((1, 50), (2, 70), (3, 90))]
    assert admin(api, "POST", "/ppc/entries/scoring", {"records": rows}).get_json()["inserted"] == 3
    return api


def eligible_ids(api: Api, query: str = "") -> list[str]:
    return [r["userId"] for r in admin(api, "GET", f"/ppc/entries/scoring?{query}").get_json()["list"]]


def test_SCR_007_codes_are_idempotent_selected_and_revealed_on_their_date(scored: Api) -> None:
    items = [
        {"userId": "f3", "code": "EARLY", "codeConfigId": "presale", "date": {"start": PAST}},
        {"userId": "f3", "code": "LATER", "date": {"start": PAST, "revealCode": FUTURE}},
        {"userId": "nobody", "code": "X", "date": {"start": PAST}},
    ]
    answer = admin(scored, "POST", "/ppc/entries/codes", items)
    assert answer.status_code == 200
    assert answer.get_json() == {"input": 3, "assigned": 2, "scoring": 1, "unmatched": ["nobody"]}
    again = admin(scored, "POST", "/ppc/entries/codes", items[:1])
    assert again.get_json() == {"input": 1, "assigned": 0, "scoring": 0, "unmatched": []}  # same code: no-op
    fan = scored.call("GET", "/ppc/entries", user="f3").get_json()
    assert [c["code"] for c in fan["codes"]] == ["EARLY"] and fan["presaleCode"] == "EARLY"  # LATER not revealed
    admin_view = scored.call("GET", "/users/f3/entries", user="admin-1", supreme=True).get_json()["entries"][0]
    assert [c["code"] for c in admin_view["codes"]] == ["EARLY", "LATER"]
    assert eligible_ids(scored) == ["f2", "f1"]  # f3 now selected
    assert eligible_ids(scored, "selectedOnly=true") == ["f3"]
    record = admin(scored, "GET", "/ppc/entries/scoring?selectedOnly=true").get_json()["list"][0]
    assert record["codes"] == [{"code": "EARLY", "codeConfigId": "presale"}, {"code": "LATER", "codeConfigId": None}]
    assigned = [e for e in events(scored) if e["type"] == "entry.codes_assigned"]
    assert [e["entry"]["userId"] for e in assigned] == ["f3"]  # one event for the change, none for the no-op


def test_SCR_008_blocking_excludes_from_selection_but_not_from_counts(scored: Api) -> None:
    answer = admin(
        scored,
        "POST",
        "/ppc/entries/verdicts",
        [{"userId": "f2", "isBlocked": True}, {"userId": "zz", "isBlocked": True}],
    )
    assert answer.get_json() == {"input": 2, "saved": 1, "unmatched": ["zz"]}
    assert eligible_ids(scored, "includeFiltered=true&reassign=true") == ["f3", "f1"]
    assert admin(scored, "GET", "/ppc/entries/eligibility").get_json()["total"] == 2
    counts = admin(scored, "GET", "/ppc/entries/counts").get_json()
    assert counts["total"] == 3 and counts["confirmed"] == 3  # SCR-010 still counts blocked entries
    assert counts["byMarket"][0] == {"marketId": "nyc", "counts": [2, 1, 0, 0]}
    blocked = admin(scored, "GET", "/ppc/entries/blocked").get_json()
    assert [e["userId"] for e in blocked["entries"]] == ["f2"] and blocked["total"] == 1
    assert blocked["entries"][0]["review"]["isBlocked"] is True
    record = admin(scored, "GET", "/ppc/entries/scoring?marketIds=bos&includeFiltered=true").get_json()
    assert record["list"] == []  # blocked: not listed whatever the criteria
    admin(
        scored,
        "POST",
        "/ppc/entries/verdicts",
        [{"userId": "f2", "isBlocked": False, "date": "2026-11-27T12:00:00+01:00"}],
    )
    assert eligible_ids(scored) == ["f3", "f2", "f1"]  # unblocking restores; verdicts were never touched
    types = [(e["type"], e["entry"]["userId"]) for e in events(scored) if e["entry"]["userId"] == "f2"]
    assert types[-2:] == [("entry.blocked", "f2"), ("entry.updated", "f2")]


def test_SCR_009_entry_lists_and_timeline(scored: Api) -> None:
    admin(
        scored,
        "POST",
        "/ppc/entries/codes",
        [{"userId": "f1", "code": "W1", "codeConfigId": "vip", "date": {"start": PAST}}],
    )

    def users(path: str) -> list[str]:
        answer = admin(scored, "GET", path)
        assert answer.status_code == 200, answer.get_json()
        return [e["userId"] for e in answer.get_json()["entries"]]

    assert users("/ppc/entries/winners") == ["f1"]
    assert users("/ppc/entries/codeless") == ["f2", "f3"]
    assert users("/ppc/entries/verified?limit=2") == ["f1", "f2"]
    assert users("/ppc/entries/verified?offset=2") == ["f3"]
    assert users("/ppc/entries/codeless?market=bos") == ["f2"]
    assert users("/ppc/entries/winners?codeConfigId=vip") == ["f1"]
    assert users("/ppc/entries/winners?codeConfigId=other") == []
    assert_error(admin(scored, "GET", "/ppc/entries/verified?limit=0"), 400, "BAD_REQUEST")
    assert_error(admin(scored, "GET", "/ppc/entries/losers"), 404, "NOT_FOUND")
    hours = admin(scored, "GET", "/ppc/entries/timeline").get_json()
    assert hours["bucket"] == "hour" and sum(p["created"] for p in hours["points"]) == 3
    assert sum(p["confirmed"] for p in hours["points"]) == 3 and hours["points"][0]["at"].endswith(":00:00.000Z")
    days = admin(scored, "GET", "/ppc/entries/timeline?bucket=day").get_json()
    assert days["bucket"] == "day" and days["points"][0]["at"].endswith("T00:00:00.000Z")
    assert_error(admin(scored, "GET", "/ppc/entries/timeline?bucket=week"), 400, "BAD_REQUEST")


@pytest.mark.parametrize("route", ["/ppc/entries/codes", "/ppc/entries/verdicts"])
def test_batch_limits_and_bad_items_apply_nothing(scored: Api, route: str) -> None:
    item = (
        {"userId": "f1", "code": "Z", "date": {"start": PAST}}
        if route.endswith("codes")
        else {"userId": "f1", "isBlocked": True}
    )
    assert_error(admin(scored, "POST", route, [item] * 1001), 413, "PAYLOAD_TOO_LARGE")
    assert_error(admin(scored, "POST", route, []), 400, "BAD_REQUEST")
    assert_error(admin(scored, "POST", route, {"items": [item]}), 400, "BAD_REQUEST")
    bad = {**item, "date": {"start": "tomorrow"}} if route.endswith("codes") else {**item, "date": "soon"}
    body = assert_error(admin(scored, "POST", route, [item, bad]), 400, "BAD_REQUEST")
    assert "$[1].date" in json.dumps(body)
    assert_error(admin(scored, "POST", route, [{**item, "extra": 1}]), 400, "BAD_REQUEST")
    assert_error(admin(scored, "POST", route.replace("ppc", "nope"), [item]), 404, "CAMPAIGN_NOT_FOUND")
    listed = admin(scored, "GET", "/ppc/entries/verified").get_json()["entries"]
    assert all(not e["codes"] and not (e["review"] or {}).get("isBlocked") for e in listed)


def test_OPS_002_selection_writes_are_audited(scored: Api) -> None:
    admin(scored, "POST", "/ppc/entries/codes", [{"userId": "f1", "code": "A", "date": {"start": PAST}}])
    admin(scored, "POST", "/ppc/entries/verdicts", [{"userId": "f2", "isBlocked": True}])
    records = scored.services.audit.records("ppc", None, 2)
    assert [(r.action, dict(r.counts)) for r in records] == [
        ("entries.verdicts", {"input": 1, "saved": 1, "unmatched": 0}),
        ("entries.codes", {"input": 1, "assigned": 1, "scoring": 1, "unmatched": 0}),
    ]


def test_bad_parameters_answer_before_the_campaign_is_looked_up(api: Api) -> None:
    """API.md §2: body shape and query parameters (BAD_REQUEST) are checked before the campaign exists."""
    assert_error(admin(api, "GET", "/nope/entries/timeline?bucket=week"), 400, "BAD_REQUEST")
    assert_error(admin(api, "GET", "/nope/entries/scoring?limit=0"), 400, "BAD_REQUEST")
    assert_error(
        admin(api, "POST", "/nope/scoring/tags", {"tagName": "t", "by": "email", "values": ["x"]}), 400, "BAD_REQUEST"
    )
    assert_error(admin(api, "POST", "/nope/scoring/flipVerdicts", {"tagName": "t", "mode": "x"}), 400, "BAD_REQUEST")
    assert_error(
        admin(api, "POST", "/nope/entries/codes", [{"userId": "u", "code": "c", "date": {"start": "x"}}]),
        400,
        "BAD_REQUEST",
    )
    assert_error(admin(api, "GET", "/nope/entries/timeline"), 404, "CAMPAIGN_NOT_FOUND")
    assert_error(admin(api, "GET", "/nope/entries/winners"), 404, "CAMPAIGN_NOT_FOUND")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/ppc/entries/scoring?limit=%C2%B2", None),  # a Unicode digit
        ("GET", "/ppc/entries/winners?offset=%C2%B2", None),
        ("GET", "/ppc/entries/scoring?offset=99999999999999999999999999", None),
        ("POST", "/ppc/entries/codes", [{"userId": "f1", "code": "c", "date": {"start": "0001-01-01T00:00:00+01:00"}}]),
        (
            "POST",
            "/ppc/entries/codes",
            [{"userId": "f1", "code": "c", "date": {"start": PAST, "end": "9999-12-31T23:59:59-01:00"}}],
        ),
        ("POST", "/ppc/entries/verdicts", [{"userId": "f1", "isBlocked": True, "date": "0001-01-01T00:00:00+05:00"}]),
    ],
)
def test_hostile_parameters_and_dates_are_400(api: Api, method: str, path: str, body: Any) -> None:
    assert_error(admin(api, method, path, body), 400, "BAD_REQUEST")


def test_every_bad_parameter_and_field_is_named(api: Api) -> None:
    listed = assert_error(admin(api, "GET", "/ppc/entries/scoring?minScore=x&limit=0"), 400, "BAD_REQUEST")
    assert {e["path"] for e in listed["payload"]["errors"]} == {"query.minScore", "query.limit"}
    tags = assert_error(
        admin(api, "POST", "/ppc/scoring/tags", {"tagName": " ", "by": "x", "values": ["a"]}), 400, "BAD_REQUEST"
    )
    assert {e["path"] for e in tags["payload"]["errors"]} == {"$.tagName", "$.by"}
    flips = assert_error(
        admin(api, "POST", "/ppc/scoring/flipVerdicts", {"tagName": "", "mode": "x"}), 400, "BAD_REQUEST"
    )
    assert {e["path"] for e in flips["payload"]["errors"]} == {"$.tagName", "$.mode"}


def test_tag_names_are_read_without_edge_spaces_everywhere(scored: Api) -> None:
    rows = [{"phone": phone_of(1), "score": 1, "tags": {" vip ": True}}]
    assert admin(scored, "POST", "/ppc/entries/scoring", {"records": rows}).get_json()["updated"] == 1
    admin(scored, "POST", "/ppc/scoring/tags", {"tagName": "gold ", "by": "userId", "values": ["f2"]})
    assert eligible_ids(scored, "tag=vip") == ["f1"] and eligible_ids(scored, "tag=%20vip") == ["f1"]
    assert eligible_ids(scored, "excludeTag=gold") == ["f3", "f1"]
    assert admin(scored, "POST", "/ppc/scoring/flipVerdicts", {"tagName": " gold", "mode": "exclude"}).get_json() == {
        "modified": 1
    }
