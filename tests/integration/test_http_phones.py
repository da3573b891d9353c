"""HTTP: phone confirmation (PHN-001…010) and receipts (PUB-006) through the real app on SQLite."""

from __future__ import annotations

import base64
import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jwt
import pytest

from entrycore.usecases import phones
from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, Api
from tests.integration.test_http_entries import assert_error
from tests.jsonl import json_lines

PHONE = "+12125550123"


def phone_token(
    phone: str = PHONE, campaign: str = "ppc", ttl: int = 600, key: str = PHONE_SECRET, **claims: Any
) -> str:
    body: dict[str, Any] = {
        "phone": phone,
        "campaignId": campaign,
        "iat": int(time.time()),
        "exp": int(time.time()) + ttl,
    }
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm="HS256")


def confirm(api: Api, token: str, user: str = "u2", campaign: str = "ppc") -> Any:
    return api.call("POST", f"/{campaign}/entries/confirm", user=user, body={"phoneJwt": token})


def receipt_lines(api: Api) -> list[dict[str, Any]]:
    api.services.relay.drain()
    path = Path(api.services.settings.data_dir) / "receipts.jsonl"
    return json_lines(path)


def test_PHN_001_full_confirmation_flow(api: Api) -> None:
    created = api.register(VALID_FIELDS, campaign="ppc", user="u2").get_json()
    assert created["phoneConfirmed"] is False and created["needsPhoneConfirmation"] is True
    assert created["dateReceipt"] is None
    answer = confirm(api, phone_token())
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["phoneConfirmed"] is True and body["needsPhoneConfirmation"] is False
    assert body["datePhoneConfirmed"].endswith("Z") and body["dateReceipt"] == body["datePhoneConfirmed"]
    assert "isNew" not in body
    assert api.call("GET", "/ppc/entries", user="u2").get_json()["phoneConfirmed"] is True


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    "make",
    [
        lambda: phone_token(key="another-secret-" + "y" * 64),
        lambda: f"{_b64({'alg': 'none'})}.{_b64({'phone': PHONE, 'campaignId': 'ppc', 'exp': time.time() + 60})}.",
        lambda: phone_token(ttl=-5),
        lambda: phone_token(phone="+12125550199"),
        lambda: phone_token(campaign="c1"),
        lambda: phone_token(sub="u1"),
        lambda: phone_token(phone=None),
        lambda: phone_token(campaign=None),
        lambda: jwt.encode({"phone": PHONE, "campaignId": "ppc"}, PHONE_SECRET, algorithm="HS256"),
        lambda: "garbage",
        lambda: "",
    ],
    ids=[
        "signature",
        "alg-none",
        "expired",
        "phone",
        "campaign",
        "fan",
        "no-phone",
        "no-campaign",
        "no-exp",
        "garbage",
        "empty",
    ],
)
def test_PHN_002_every_token_failure_is_400_and_changes_nothing(api: Api, make: Any) -> None:
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    before = api.call("GET", "/ppc/entries", user="u2").get_json()
    assert_error(confirm(api, make()), 400, "INVALID_PHONE_TOKEN")
    assert api.call("GET", "/ppc/entries", user="u2").get_json() == before


def test_confirm_body_shape_and_errors_in_api_order(api: Api) -> None:
    assert_error(api.call("POST", "/ppc/entries/confirm", user="u2", body={"phoneJwt": 5}), 400, "BAD_REQUEST")
    assert_error(api.call("POST", "/ppc/entries/confirm", user="u2", body={"jwt": "x"}), 400, "BAD_REQUEST")
    assert_error(confirm(api, phone_token(), campaign="nope"), 404, "CAMPAIGN_NOT_FOUND")
    assert_error(confirm(api, phone_token(campaign="closed"), campaign="closed"), 403, "CAMPAIGN_NOT_OPEN")
    assert_error(confirm(api, phone_token()), 404, "ENTRY_NOT_FOUND")
    assert_error(api.call("POST", "/ppc/entries/confirm", user=None, body={"phoneJwt": "x"}), 401, "UNAUTHORIZED")


def test_PHN_003_and_004_one_confirmed_phone_per_campaign(api: Api) -> None:
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    api.register(VALID_FIELDS, campaign="ppc", user="u3")
    assert confirm(api, phone_token(), user="u2").status_code == 200
    assert_error(confirm(api, phone_token(), user="u3"), 409, "PHONE_ALREADY_CONFIRMED")
    assert_error(api.register(VALID_FIELDS, campaign="ppc", user="u4"), 409, "PHONE_ALREADY_CONFIRMED")
    assert_error(api.call("GET", "/ppc/entries", user="u4"), 404, "ENTRY_NOT_FOUND")
    api.register({**VALID_FIELDS, "phone": "+12125550177"}, campaign="ppc", user="u5")
    assert_error(api.register({"phone": "(212) 555-0123"}, campaign="ppc", user="u5"), 409, "PHONE_ALREADY_CONFIRMED")
    api.register(VALID_FIELDS, campaign="c1", user="u3")  # another campaign: free
    assert confirm(api, phone_token(campaign="c1"), user="u3", campaign="c1").status_code == 200


def test_PHN_005_phone_change_clears_confirmation(api: Api) -> None:
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    confirm(api, phone_token())
    changed = api.register({"phone": "+12125550124"}, campaign="ppc", user="u2").get_json()
    assert changed["phoneConfirmed"] is False and changed["needsPhoneConfirmation"] is True
    assert changed["datePhoneConfirmed"] is None


def test_PHN_006_plus_521_token_confirms_plus_52_phone(api: Api) -> None:
    api.register({**VALID_FIELDS, "phone": "+52 55 1234 5678"}, campaign="ppc", user="u2")
    answer = confirm(api, phone_token(phone="+521 (55) 1234-5678"))
    assert answer.status_code == 200 and answer.get_json()["fields"]["phone"] == "+525512345678"


def test_PHN_007_auto_confirmed_with_the_accounts_verified_phone(api: Api) -> None:
    created = api.register(VALID_FIELDS, campaign="ppc", user="u1").get_json()
    assert created["phoneConfirmed"] is True and created["dateReceipt"] == created["dateCreated"]


def test_PHN_008_and_009(api: Api) -> None:
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    assert_error(confirm(api, phone_token(sub="u3")), 400, "INVALID_PHONE_TOKEN")
    first = confirm(api, phone_token(sub="u2")).get_json()
    again = confirm(api, phone_token(sub="u2"))
    assert again.status_code == 200 and again.get_json() == first


def test_PHN_010_too_many_attempts(api: Api) -> None:
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    for _ in range(5):
        assert_error(confirm(api, "garbage"), 400, "INVALID_PHONE_TOKEN")
    assert_error(confirm(api, phone_token()), 429, "TOO_MANY_ATTEMPTS")
    assert api.call("GET", "/ppc/entries", user="u2").get_json()["phoneConfirmed"] is False


def test_PHN_010_parallel_wrong_tokens_never_pass_the_limit(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve wrong tokens at once, each judged slowly (50 ms): exactly five are judged, the rest refused with 429.
    (Checking the count, then recording the failure let all twelve through the check first.)"""
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    judge = phones.verify_phone_token

    def slow_judge(*args: Any, **kwargs: Any) -> None:
        time.sleep(0.05)
        judge(*args, **kwargs)

    monkeypatch.setattr(phones, "verify_phone_token", slow_judge)
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: confirm(api, "garbage"), range(12)))
    codes = sorted((a.status_code, a.get_json()["code"]) for a in answers)
    assert codes == [(400, "INVALID_PHONE_TOKEN")] * 5 + [(429, "TOO_MANY_ATTEMPTS")] * 7
    assert_error(confirm(api, phone_token()), 429, "TOO_MANY_ATTEMPTS")  # a 429 is no attempt: still five


def test_PHN_010_an_attempt_that_did_not_fail_is_not_counted(api: Api) -> None:
    """Only INVALID_PHONE_TOKEN counts: a confirmation (200) and a taken phone (409) leave the count as it was."""
    api.register(VALID_FIELDS, campaign="ppc", user="u2")
    api.register({**VALID_FIELDS}, campaign="ppc", user="u3")
    for _ in range(4):
        assert_error(confirm(api, "garbage"), 400, "INVALID_PHONE_TOKEN")
    assert confirm(api, phone_token(sub="u3"), user="u3").status_code == 200  # u3 holds the phone now
    assert_error(confirm(api, phone_token(sub="u2")), 409, "PHONE_ALREADY_CONFIRMED")
    assert_error(confirm(api, phone_token(sub="u2")), 409, "PHONE_ALREADY_CONFIRMED")  # still not the limit
    assert_error(confirm(api, "garbage"), 400, "INVALID_PHONE_TOKEN")  # the fifth failure
    assert_error(confirm(api, phone_token(sub="u2")), 429, "TOO_MANY_ATTEMPTS")


def test_PUB_006_receipt_counts(api: Api) -> None:
    api.register(VALID_FIELDS, campaign="c1", user="u2")
    api.register({"tickets": 2}, campaign="c1", user="u2")
    api.register({**VALID_FIELDS, "phone": "+12125550124"}, campaign="c1", user="u3")
    lines = receipt_lines(api)
    assert [r["userId"] for r in lines] == ["u2", "u3"]
    assert set(lines[0]) == {"kind", "idempotencyKey", "campaignId", "userId", "email", "locale", "sentAt"}
    assert lines[0]["kind"] == "receipt"
    created = api.call("GET", "/c1/entries", user="u2").get_json()["dateCreated"]
    assert lines[0]["idempotencyKey"] == f"c1:u2:{created}"
    api.register({**VALID_FIELDS, "phone": "+12125550125"}, campaign="ppc", user="u4")
    assert len(receipt_lines(api)) == 2  # PPC on: none at creation
    confirm(api, phone_token(phone="+12125550125"), user="u4")
    assert len(receipt_lines(api)) == 3
    confirm(api, phone_token(phone="+12125550125"), user="u4")
    assert len(receipt_lines(api)) == 3
