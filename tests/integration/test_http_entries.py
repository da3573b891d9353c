"""HTTP: fan registration routes, the error envelope and every error code of issue 2 (API.md §2-§3)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import VALID_FIELDS
from tests.http_app import Api

FAN_VIEW_KEYS = {
    "campaignId",
    "userId",
    "fields",
    "markets",
    "locale",
    "code",
    "link",
    "referrer",
    "phoneConfirmed",
    "needsPhoneConfirmation",
    "dateCreated",
    "dateUpdated",
    "datePhoneConfirmed",
    "dateReceipt",
    "presaleCode",
    "codes",
    "draws",  # SPEC DRW-004: the fan's draws, [] when none
}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert set(body) == {"status", "code", "message", "payload"}
    assert body["status"] == status and body["code"] == code and isinstance(body["message"], str)
    assert response.headers.get("X-Correlation-Id")
    return body


def assert_nothing_stored(api: Api, campaign: str = "c1", user: str = "u1") -> None:
    assert_error(api.call("GET", f"/{campaign}/entries", user=user), 404, "ENTRY_NOT_FOUND")


def test_ENT_001_create_then_update_same_entry(api: Api) -> None:
    created = api.register(VALID_FIELDS)
    assert created.status_code == 201
    body = created.get_json()
    assert body["isNew"] is True
    assert set(body) == FAN_VIEW_KEYS | {"isNew"}
    assert body["fields"] == {
        "email": "ana@example.com",
        "phone": "+12125550123",
        "first_name": "Ana",
        "market": "nyc",
        "optional_markets": ["bos", "phl"],
    }
    assert body["markets"] == ["nyc", "bos", "phl"]
    assert body["locale"] == "en-US" and body["referrer"] is None
    assert body["link"] == f"https://share.example/{body['code']}"
    assert body["phoneConfirmed"] is False and body["needsPhoneConfirmation"] is False
    assert body["dateCreated"].endswith("Z") and len(body["dateCreated"]) == 24
    updated = api.register({"tickets": 2})
    assert updated.status_code == 200
    again = updated.get_json()
    assert again["isNew"] is False and again["code"] == body["code"]
    assert again["fields"]["tickets"] == 2 and again["fields"]["email"] == "ana@example.com"
    assert again["dateCreated"] == body["dateCreated"]
    fetched = api.call("GET", "/c1/entries")
    assert fetched.status_code == 200
    assert set(fetched.get_json()) == FAN_VIEW_KEYS
    assert fetched.get_json()["fields"]["tickets"] == 2


def test_fan_view_hides_admin_data_and_admin_view_has_it(api: Api) -> None:
    api.register(VALID_FIELDS, headers={"User-Agent": "pytest-agent"})
    for hidden in ("fraud", "fanscore", "origin", "review", "attributes"):
        assert hidden not in api.call("GET", "/c1/entries").get_json()
    admin = api.call("GET", "/users/u1/entries", user="boss", supreme=True).get_json()["entries"][0]
    assert {"fraud", "fanscore", "origin", "review", "attributes"} <= set(admin)
    assert admin["origin"]["ip"] == "127.0.0.1"


def test_ENT_002_unknown_and_closed_campaign(api: Api) -> None:
    assert_error(api.register(VALID_FIELDS, campaign="nope"), 404, "CAMPAIGN_NOT_FOUND")
    assert_error(api.register({"bogus": 1}, campaign="nope"), 404, "CAMPAIGN_NOT_FOUND")
    assert_error(api.register(VALID_FIELDS, campaign="closed"), 403, "CAMPAIGN_NOT_OPEN")
    assert_error(api.call("GET", "/closed/entries"), 404, "ENTRY_NOT_FOUND")
    assert_error(api.call("GET", "/nope/entries"), 404, "CAMPAIGN_NOT_FOUND")


@pytest.mark.parametrize("key", ["phoneConfirmed", "score", "codes", "review", "date", "fraud", "userId"])
def test_ENT_005_server_owned_keys_in_fields_are_refused(api: Api, key: str) -> None:
    body = assert_error(api.register({**VALID_FIELDS, key: True}), 400, "ENTRY_INVALID_FIELD")
    assert body["payload"] == {"field": key}
    assert_nothing_stored(api)


def test_ENT_005_unknown_top_level_keys_are_bad_requests(api: Api) -> None:
    body = assert_error(
        api.call("POST", "/c1/entries", body={"fields": VALID_FIELDS, "phoneConfirmed": True, "userId": "u9"}),
        400,
        "BAD_REQUEST",
    )
    assert {e["path"] for e in body["payload"]["errors"]} == {"$.phoneConfirmed", "$.userId"}
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"fields": ["a"]}, {"$.fields"}),
        ({"fields": "x"}, {"$.fields"}),
        ({}, {"$.fields"}),
        ({"fields": VALID_FIELDS, "locale": 5, "referralCode": ["x"]}, {"$.locale", "$.referralCode"}),
        ([VALID_FIELDS], {"$"}),
    ],
)
def test_wrong_body_shapes_list_every_problem(api: Api, body: Any, paths: set[str]) -> None:
    answer = assert_error(api.call("POST", "/c1/entries", body=body), 400, "BAD_REQUEST")
    assert {e["path"] for e in answer["payload"]["errors"]} == paths
    assert_nothing_stored(api)


@pytest.mark.parametrize("raw", [b"not json", b"{", b"", b"\xff\xfe"])
def test_non_json_body_is_bad_request(api: Api, raw: bytes) -> None:
    assert_error(api.call("POST", "/c1/entries", raw=raw), 400, "BAD_REQUEST")
    assert_nothing_stored(api)


def test_oversized_body_is_413(api: Api) -> None:
    big = {**VALID_FIELDS, "why": "x" * (65 * 1024)}
    assert_error(api.register(big), 413, "PAYLOAD_TOO_LARGE")
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "not-an-email"),
        ("email", 5),
        ("phone", "12"),
        ("phone", "+1 000"),
        ("phone", 2125550123),
        ("first_name", "x" * 101),
        ("first_name", ["Ana"]),
        ("zip", "1" * 21),
        ("tickets", 0),
        ("tickets", 5),
        ("tickets", "2"),
        ("tickets", True),
        ("allow_marketing", "yes"),
        ("vip", 2),
        ("why", "x"),
        ("why", "x" * 11),
        ("genres", ["jazz"]),
        ("genres", "rock"),
    ],
)
def test_invalid_field_values(api: Api, field: str, value: Any) -> None:
    body = assert_error(api.register({**VALID_FIELDS, field: value}), 400, "ENTRY_INVALID_FIELD")
    assert body["payload"] == {"field": field}
    assert_nothing_stored(api)


@pytest.mark.parametrize(
    "fields",
    [
        {"market": "zzz"},
        {"optional_markets": ["bos", "bos"]},
        {"optional_markets": ["bos", "phl", "chi", "lax"]},
        {"optional_markets": ["nyc"]},
        {"optional_markets": ["zzz"]},
        {"market": None, "optional_markets": ["bos"]},
        {"market": ["nyc"]},
    ],
)
def test_MKT_002_invalid_markets(api: Api, fields: dict[str, Any]) -> None:
    merged = {**VALID_FIELDS, **fields}
    if fields.get("market", "x") is None:
        merged.pop("market")
        # a missing required market is reported as missing first (API.md §2 order)
        assert_error(api.register(merged), 400, "ENTRY_MISSING_FIELDS")
        return
    assert_error(api.register(merged), 400, "ENTRY_INVALID_MARKET")
    assert_nothing_stored(api)


def test_ENT_004_missing_fields_listed_at_once(api: Api) -> None:
    body = assert_error(api.register({"email": "a@example.com", "first_name": "  "}), 400, "ENTRY_MISSING_FIELDS")
    assert body["payload"] == {"fields": ["phone", "first_name", "market"]}
    assert_nothing_stored(api)


def test_ENT_004_update_merges_and_null_removes_optional(api: Api) -> None:
    api.register({**VALID_FIELDS, "zip": "10001"})
    body = api.register({"zip": None, "optional_markets": ["chi"]}).get_json()
    assert "zip" not in body["fields"] and body["markets"] == ["nyc", "chi"]
    assert_error(api.register({"email": None}), 400, "ENTRY_MISSING_FIELDS")


def test_ENT_009_referrals(api: Api) -> None:
    code = api.register(VALID_FIELDS, user="u1").get_json()["code"]
    assert_error(
        api.register({**VALID_FIELDS, "phone": "+12125550124"}, user="u2", referralCode="NOPE"),
        400,
        "ENTRY_INVALID_REFERRAL",
    )
    assert_nothing_stored(api, user="u2")
    referred = api.register({**VALID_FIELDS, "phone": "+12125550124"}, user="u2", referralCode=code).get_json()
    assert referred["referrer"] == {"code": code}
    assert api.register({"tickets": 1}, user="u2", referralCode=code).status_code == 200
    assert_error(api.register({"tickets": 1}, user="u2", referralCode=referred["code"]), 400, "ENTRY_INVALID_REFERRAL")
    assert_error(api.register({"tickets": 1}, user="u1", referralCode=referred["code"]), 400, "ENTRY_INVALID_REFERRAL")
    assert_error(api.register(VALID_FIELDS, campaign="referral", user="u3"), 400, "ENTRY_INVALID_REFERRAL")


def test_GATE_002_each_gate_failing_and_passing(api: Api) -> None:
    assert_error(api.register(VALID_FIELDS, campaign="invite"), 403, "NO_INVITE")
    assert_error(api.register(VALID_FIELDS, campaign="linked", user="u2"), 403, "NOT_LINKED")
    assert_error(api.register(VALID_FIELDS, campaign="card", user="u2"), 403, "NO_CARD")
    assert_error(api.register(VALID_FIELDS, campaign="all-gates", user="u3"), 403, "NO_INVITE")
    assert api.register(VALID_FIELDS, campaign="linked", user="u1").status_code == 201
    assert api.register(VALID_FIELDS, campaign="card", user="u1").status_code == 201
    added = api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": ["VIP-001"]})
    assert added.get_json() == {"added": 1}
    assert_error(api.register(VALID_FIELDS, campaign="invite", inviteCode="VIP-002"), 403, "NO_INVITE")
    assert api.register(VALID_FIELDS, campaign="invite", inviteCode="VIP-001").status_code == 201
    api.call("POST", "/invite-email/invites", user="boss", supreme=True, body={"invites": ["Bo@Example.com"]})
    assert api.register(VALID_FIELDS, campaign="invite-email", user="u2").status_code == 201
    assert_error(api.register(VALID_FIELDS, campaign="invite-email", user="u1"), 403, "NO_INVITE")


def test_GATE_003_registration_eligibility(api: Api) -> None:
    def eligibility(campaign: str, user: str = "u1", query: str = "") -> Any:
        return api.call("GET", f"/{campaign}/entries/registrationEligibility{query}", user=user)

    assert eligibility("c1").get_json() == {"eligible": True, "reason": None}
    assert eligibility("closed").get_json() == {"eligible": False, "reason": "CAMPAIGN_NOT_OPEN"}
    assert eligibility("invite").get_json() == {"eligible": False, "reason": "NO_INVITE"}
    assert eligibility("linked", "u2").get_json() == {"eligible": False, "reason": "NOT_LINKED"}
    assert eligibility("card", "u2").get_json() == {"eligible": False, "reason": "NO_CARD"}
    api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": ["VIP-001"]})
    assert eligibility("invite", query="?inviteCode=VIP-001").get_json() == {"eligible": True, "reason": None}
    assert_error(eligibility("nope"), 404, "CAMPAIGN_NOT_FOUND")
    assert_nothing_stored(api, campaign="invite")


def test_USR_001_entries_of_user(api: Api) -> None:
    api.register(VALID_FIELDS, campaign="c1", user="u2")
    api.register(VALID_FIELDS, campaign="ppc", user="u2")  # u2's account has no verified phone
    mine = api.call("GET", "/users/u2/entries", user="u2").get_json()["entries"]
    assert [e["campaignId"] for e in mine] == ["ppc", "c1"]
    assert mine[0]["needsPhoneConfirmation"] is True and "origin" not in mine[0]
    assert_error(api.call("GET", "/users/u2/entries", user="u1"), 403, "FORBIDDEN")
    assert api.call("GET", "/users/u1/entries", user="u1").get_json() == {"entries": []}


def test_invites_route(api: Api) -> None:
    assert_error(api.call("POST", "/invite/invites", body={"invites": ["a"]}), 403, "FORBIDDEN")
    ok = api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": ["a", "b", "a"]})
    assert ok.status_code == 200 and ok.get_json() == {"added": 2}
    again = api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": ["b", "c"]})
    assert again.get_json() == {"added": 1}
    assert_error(
        api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": []}), 400, "BAD_REQUEST"
    )
    assert_error(
        api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": ["x"] * 10_001}),
        413,
        "PAYLOAD_TOO_LARGE",
    )
    assert_error(
        api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": [1]}), 400, "BAD_REQUEST"
    )
    assert_error(
        api.call("POST", "/nope/invites", user="boss", supreme=True, body={"invites": ["a"]}), 404, "CAMPAIGN_NOT_FOUND"
    )


def test_unknown_route_and_method(api: Api) -> None:
    assert_error(api.call("GET", "/c1/nothing/here"), 404, "NOT_FOUND")
    assert_error(api.call("DELETE", "/c1/entries"), 405, "METHOD_NOT_ALLOWED")
    assert_error(api.call("PUT", "/heartbeat", user=None), 405, "METHOD_NOT_ALLOWED")
