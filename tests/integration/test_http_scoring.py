"""Scoring routes of API.md §4 on the real wired app (SQLite): uploads (SCR-001/002), the ranked list (SCR-003/005),
eligibility counts (SCR-004), tags and verdict flips (SCR-006), limits, authorisation and the audit trail."""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest

from entrywire.documents import documents
from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, Api
from tests.integration.test_http_entries import assert_error


def phone_of(k: int) -> str:
    return f"+1212555{k:04d}"


def confirmed_fan(api: Api, k: int, market: str = "nyc", optional: list[str] | None = None) -> str:
    """Fan ``f{k}`` registered in campaign ``ppc`` through HTTP with phone ``phone_of(k)``, then confirmed."""
    user = f"f{k}"
    fields = {**VALID_FIELDS, "phone": phone_of(k), "market": market, "optional_markets": optional or []}
    assert api.register(fields, campaign="ppc", user=user).status_code == 201
    now = int(time.time())
    token = jwt.encode(
        {"phone": phone_of(k), "campaignId": "ppc", "iat": now, "exp": now + 600}, PHONE_SECRET, algorithm="HS256"
    )
    assert api.call("POST", "/ppc/entries/confirm", user=user, body={"phoneJwt": token}).status_code == 200
    return user


def admin(api: Api, method: str, path: str, body: Any = None) -> Any:
    return api.call(method, path, user="admin-1", supreme=True, body=body)


@pytest.fixture
def scored(api: Api) -> Api:
    """f1 (nyc), f2 (bos, nyc), f3 (nyc) confirmed and scored 50, 70, 90; f4 registered but not confirmed."""
    confirmed_fan(api, 1, "nyc")
    confirmed_fan(api, 2, "bos", ["nyc"])
    confirmed_fan(api, 3, "nyc")
    fields = {**VALID_FIELDS, "phone": phone_of(4)}
    assert api.register(fields, campaign="ppc", user="f4").status_code == 201
    rows = [
        {"phone": "(212) 555-0001", "score": 50},
        {"phone": phone_of(2), "score": 70.5, "randomScore": 0.1, "tags": {"vip": True}},
        {"phone": phone_of(3), "score": 90, "verdict": False},
        {"phone": phone_of(4), "score": 10},  # registered, never confirmed
        {"phone": "not a phone", "score": 1},
        {"phone": phone_of(1), "score": "high"},
    ]
    answer = admin(api, "POST", "/ppc/entries/scoring", {"records": rows})
    assert answer.status_code == 200
    assert answer.get_json() == {
        "received": 6,
        "matched": 3,
        "inserted": 3,
        "updated": 0,
        "unmatched": 1,
        "invalid": 2,
        "rejected": [
            {"index": 3, "reason": "NO_CONFIRMED_ENTRY"},
            {"index": 4, "reason": "INVALID_PHONE"},
            {"index": 5, "reason": "INVALID_SCORE"},
        ],
        "rejectedTruncated": False,
    }
    return api


def test_SCR_001_records_are_enriched_from_the_confirmed_entry(scored: Api) -> None:
    listed = admin(scored, "GET", "/ppc/entries/scoring?reassign=true&includeFiltered=true").get_json()
    assert listed["counts"] == {"total": 3}
    first = listed["list"][0]
    assert first["userId"] == "f3" and first["verdict"] is False
    assert first["name"] == {"first": "Ana", "last": None}
    assert first["email"] == "ana@example.com" and first["phone"] == phone_of(3) and first["locale"] == "en-US"
    assert first["marketIds"] == ["nyc"] and first["codes"] == [] and 0 <= first["randomScore"] < 1
    again = admin(scored, "POST", "/ppc/entries/scoring", {"records": [{"phone": phone_of(2), "score": 1}]})
    assert again.get_json()["updated"] == 1
    record = admin(scored, "GET", "/ppc/entries/scoring?marketIds=bos").get_json()["list"][0]
    assert (record["score"], record["randomScore"], record["tags"]) == (1, 0.1, {"vip": True})


def test_SCR_005_list_order_paging_and_criteria(scored: Api) -> None:
    def ids(query: str) -> list[str]:
        answer = admin(scored, "GET", f"/ppc/entries/scoring?{query}")
        assert answer.status_code == 200, answer.get_json()
        return [r["userId"] for r in answer.get_json()["list"]]

    assert ids("") == ["f2", "f1"]  # f3's verdict is false
    assert ids("includeFiltered=true") == ["f3", "f2", "f1"]
    assert ids("includeFiltered=true&limit=1&offset=1") == ["f2"]
    assert ids("marketIds=nyc&singleMarketSelection=true") == ["f1"]
    assert ids("marketIds=bos,phl") == ["f2"]
    assert ids("minScore=50&maxScore=50") == ["f1"]
    shuffled = admin(scored, "GET", "/ppc/entries/scoring?randomSelection=true&includeFiltered=true").get_json()
    drawn = [r["randomScore"] for r in shuffled["list"]]  # f2's 0.1 was given, the others drawn in [0, 1)
    assert len(drawn) == 3 and drawn == sorted(drawn) and 0.1 in drawn
    assert ids("tag=vip") == ["f2"] and ids("excludeTag=vip") == ["f1"]
    assert ids("unknownParameter=1") == ["f2", "f1"]  # unknown query parameters are ignored


@pytest.mark.parametrize(
    ("query", "parameter"),
    [("minScore=abc", "minScore"), ("reassign=yes", "reassign"), ("limit=10001", "limit"), ("offset=-1", "offset")],
)
def test_bad_criteria_are_400_naming_the_parameter(scored: Api, query: str, parameter: str) -> None:
    body = assert_error(admin(scored, "GET", f"/ppc/entries/scoring?{query}"), 400, "BAD_REQUEST")
    assert parameter in str(body)
    if parameter in ("minScore", "reassign"):  # criteria: the counts read them too
        assert parameter in str(
            assert_error(admin(scored, "GET", f"/ppc/entries/eligibility?{query}"), 400, "BAD_REQUEST")
        )


def test_SCR_004_eligibility_counts(scored: Api) -> None:
    answer = admin(scored, "GET", "/ppc/entries/eligibility").get_json()
    assert {k: answer[k] for k in ("total", "verified", "selected", "available")} == {
        "total": 3,
        "verified": 2,
        "selected": 0,
        "available": 2,
    }
    assert answer["byMarket"] == [
        {"marketId": "nyc", "counts": [1, 1, 0, 0]},
        {"marketId": "bos", "counts": [1, 0, 0, 0]},
        {"marketId": "phl", "counts": [0, 0, 0, 0]},
        {"marketId": "chi", "counts": [0, 0, 0, 0]},
        {"marketId": "lax", "counts": [0, 0, 0, 0]},
    ]
    assert admin(scored, "GET", "/ppc/entries/eligibility?marketIds=bos").get_json()["total"] == 1


def test_SCR_006_tags_and_flip_verdicts(scored: Api) -> None:
    tagged = admin(
        scored, "POST", "/ppc/scoring/tags", {"tagName": "late", "by": "phone", "values": ["(212) 555-0001", "x"]}
    )
    assert tagged.get_json() == {"tagged": 1}
    assert admin(
        scored, "POST", "/ppc/scoring/tags", {"tagName": "late", "by": "userId", "values": ["f2"]}
    ).get_json() == {"tagged": 1}
    flipped = admin(scored, "POST", "/ppc/scoring/flipVerdicts", {"tagName": "late", "mode": "include"})
    assert flipped.get_json() == {"modified": 0}  # f3, the only one without the tag, was false already
    flipped = admin(scored, "POST", "/ppc/scoring/flipVerdicts", {"tagName": "vip", "mode": "exclude"})
    assert flipped.get_json() == {"modified": 1}
    assert [r["userId"] for r in admin(scored, "GET", "/ppc/entries/scoring").get_json()["list"]] == ["f1"]
    bad = admin(scored, "POST", "/ppc/scoring/flipVerdicts", {"tagName": "vip", "mode": "sideways"})
    assert_error(bad, 400, "BAD_REQUEST")
    assert_error(
        admin(scored, "POST", "/ppc/scoring/tags", {"tagName": "x", "by": "email", "values": ["a"]}), 400, "BAD_REQUEST"
    )


def test_limits_and_shapes_apply_nothing(scored: Api) -> None:
    too_many = [{"phone": phone_of(1), "score": 1}] * 10_001
    assert_error(admin(scored, "POST", "/ppc/entries/scoring", {"records": too_many}), 413, "PAYLOAD_TOO_LARGE")
    assert_error(admin(scored, "POST", "/ppc/entries/scoring", {"records": []}), 400, "BAD_REQUEST")
    assert_error(admin(scored, "POST", "/ppc/entries/scoring", {"rows": []}), 400, "BAD_REQUEST")
    values = ["f1"] * 10_001
    assert_error(
        admin(scored, "POST", "/ppc/scoring/tags", {"tagName": "t", "by": "userId", "values": values}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    listed = admin(scored, "GET", "/ppc/entries/scoring?includeFiltered=true").get_json()["list"]
    assert {r["userId"]: r["score"] for r in listed} == {"f3": 90, "f2": 70.5, "f1": 50}
    assert all("t" not in r["tags"] for r in listed)
    assert_error(admin(scored, "GET", "/nope/entries/scoring"), 404, "CAMPAIGN_NOT_FOUND")


def test_OPS_002_scoring_writes_are_audited_without_personal_data(scored: Api) -> None:
    admin(scored, "POST", "/ppc/scoring/flipVerdicts", {"tagName": "vip", "mode": "exclude"})
    records = scored.services.audit.records("ppc", None, 10)
    assert [r.action for r in records] == ["scoring.flipVerdicts", "scoring.upload"]
    assert all(r.actor == "admin-1" for r in records)
    assert records[1].counts == {"received": 6, "matched": 3, "inserted": 3, "updated": 0, "unmatched": 1, "invalid": 2}
    assert records[0].parameters == {"tagName": "vip", "mode": "exclude"} and records[0].counts == {"modified": 1}
    assert "+1212" not in str([documents.unstructure(r) for r in records])


def test_AUTH_002_every_admin_route_refuses_fans(api: Api) -> None:
    """Walks the app's URL map: every route of the admin blueprints answers 403 to a fan's token."""
    rules = [
        rule
        for rule in api.client.application.url_map.iter_rules()
        if rule.endpoint.split(".")[0] in {"admin", "scoring", "selection"}
    ]
    assert len(rules) >= 14
    values = {"campaignId": "c1", "userId": "u1", "filterType": "winners"}
    for rule in rules:
        path = re.sub(r"<(?:[^>]*:)?(\w+)>", lambda m: values[m.group(1)], rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = api.call(method, path, user="u1", body={} if method == "POST" else None)
            assert answer.status_code == 403, (method, path, answer.get_json())
            assert answer.get_json()["code"] == "FORBIDDEN"
