"""SCR-001's last sentences and REQ-006 through HTTP on the real wiring (SQLite), the issue's reproductions: a fan
who changes phone after the upload loses the scoring record (no second record for the old phone once another fan
confirms it), and a fan who changes markets — on the fan route or by batch replication — moves in the
eligibility counts and the lists at once, in step with the registration counts."""

from __future__ import annotations

import time
from typing import Any

import jwt

from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, Api
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of


def upload(api: Api, *phones: str) -> dict[str, Any]:
    answer = admin(api, "POST", "/ppc/entries/scoring", {"records": [{"phone": p, "score": 50} for p in phones]})
    assert answer.status_code == 200
    return dict(answer.get_json())


def confirm(api: Api, user: str, phone: str) -> int:
    now = int(time.time())
    claims = {"phone": phone, "campaignId": "ppc", "iat": now, "exp": now + 600}
    token = jwt.encode(claims, PHONE_SECRET, algorithm="HS256")
    return int(api.call("POST", "/ppc/entries/confirm", user=user, body={"phoneJwt": token}).status_code)


def listed(api: Api, query: str = "") -> list[tuple[str, str, list[str]]]:
    answer = admin(api, "GET", f"/ppc/entries/scoring?limit=100{query}").get_json()
    return sorted((r["userId"], r["phone"], r["marketIds"]) for r in answer["list"])


def test_SCR_001_a_phone_change_after_the_upload_removes_the_record_and_frees_the_phone(api: Api) -> None:
    confirmed_fan(api, 1, "nyc")
    assert upload(api, phone_of(1))["inserted"] == 1
    changed = api.register(
        {**VALID_FIELDS, "phone": phone_of(11), "market": "nyc", "optional_markets": []}, campaign="ppc", user="f1"
    )
    assert changed.status_code == 200 and changed.get_json()["phoneConfirmed"] is False  # PHN-005
    assert listed(api) == []
    assert admin(api, "GET", "/ppc/entries/eligibility").get_json()["available"] == 0
    # another fan takes the old phone, confirms it and is uploaded: one record for it
    fields = {**VALID_FIELDS, "phone": phone_of(1), "market": "bos", "optional_markets": []}
    assert api.register(fields, campaign="ppc", user="f2").status_code == 201
    assert confirm(api, "f2", phone_of(1)) == 200
    assert upload(api, phone_of(1))["inserted"] == 1
    assert listed(api) == [("f2", phone_of(1), ["bos"])]
    tags = admin(api, "POST", "/ppc/scoring/tags", {"tagName": "vip", "by": "phone", "values": [phone_of(1)]})
    assert tags.status_code == 200
    assert admin(api, "GET", "/ppc/entries/eligibility").get_json()["total"] == 1
    # f1 confirms its new phone: the next upload matches it
    assert confirm(api, "f1", phone_of(11)) == 200
    assert upload(api, phone_of(11))["inserted"] == 1
    assert listed(api) == [("f1", phone_of(11), ["nyc"]), ("f2", phone_of(1), ["bos"])]


def test_SCR_001_a_market_change_moves_the_record_at_once_on_the_fan_route_and_by_replication(api: Api) -> None:
    for k in (1, 2):
        confirmed_fan(api, k, "nyc")
    upload(api, phone_of(1), phone_of(2))
    moved = api.register(
        {**VALID_FIELDS, "phone": phone_of(1), "market": "bos", "optional_markets": ["chi"]}, campaign="ppc", user="f1"
    )
    assert moved.status_code == 200
    replica = {
        "campaignId": "ppc",
        "userId": "f2",
        "fields": {**VALID_FIELDS, "phone": phone_of(2), "market": "phl", "optional_markets": []},
    }
    saved = admin(api, "POST", "/v2/entries", {"entries": [replica]}).get_json()["results"]
    assert [r["ok"] for r in saved] == [True]
    assert listed(api) == [("f1", phone_of(1), ["bos", "chi"]), ("f2", phone_of(2), ["phl"])]
    assert listed(api, "&marketIds=nyc") == []
    eligibility = admin(api, "GET", "/ppc/entries/eligibility").get_json()["byMarket"]
    registrations = admin(api, "GET", "/ppc/entries/counts").get_json()["byMarket"]
    assert eligibility == registrations
    assert {m["marketId"]: m["counts"] for m in eligibility}["bos"] == [1, 0, 0, 0]
