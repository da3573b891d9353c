"""The OWASP API Security Top 10 (2023) items that apply, walking the app's URL map so that no route is forgotten
(a route added later is in these tests at once): object- and function-level authorisation, authentication and
token forgery, mass assignment and data exposure, resource limits, misconfiguration (no stack trace, no internal
field in any answer)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters_http.server.openapi import OPERATIONS
from adapters_http.server.routes_page import is_page
from tests.builders import VALID_FIELDS
from tests.http_app import Api, make_api, make_token
from tests.integration.test_http_entries import assert_error

VALUES = {"campaignId": "c1", "userId": "u1", "filterType": "winners", "drawId": "01JDRAW0000000000000000000"}
INTERNAL = ("Traceback", 'File "/', "sqlite3.", "pymongo", "werkzeug", "KeyError", "attrs")


def routes(api: Api) -> Iterator[tuple[str, str, str]]:
    """``(method, concrete path, who)`` of every route of the app (who: public, fan or supreme)."""
    for rule in api.client.application.url_map.iter_rules():
        if is_page(rule.endpoint):
            continue  # the admin page's static files: tests/integration/test_admin_page.py
        path = rule.rule
        for name in rule.arguments:
            path = path.replace(f"<{name}>", VALUES[name])
            for converter in ("campaign", "any(winners, codeless, blocked, verified)"):
                path = path.replace(f"<{converter}:{name}>", VALUES[name])
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield method, path, OPERATIONS[rule.endpoint].who


def call(api: Api, method: str, path: str, token: str | None, body: Any = None, raw: bytes | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.call(method, path, user=None, body=body, raw=raw, headers=headers)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_walk_covers_every_kind_of_route(api: Api) -> None:
    walked = list(routes(api))
    assert len(walked) >= 25  # 26 when written
    assert {who for _, _, who in walked} == {"public", "fan", "supreme"}


# API2:2023 Broken authentication — every route but the public ones needs a valid token; forged ones are refused.


def forged_tokens() -> list[str]:
    now = int(time.time())
    header_none = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    claims = b64(json.dumps({"sub": "u1", "exp": now + 600, "isSupreme": True}).encode())
    return [
        f"{header_none}.{claims}.",  # alg none
        make_token("u1", True, ttl=-60),  # expired
        make_token("u1", True, key="not-the-service-secret-but-long-enough-0123456789abcdef0123"),  # wrong key
        f"{header_none}.{claims}",  # malformed
    ]


def test_API2_every_non_public_route_refuses_missing_and_forged_tokens(api: Api) -> None:
    for method, path, who in routes(api):
        if who == "public":
            continue
        assert_error(call(api, method, path, None), 401, "UNAUTHORIZED")
        for token in forged_tokens():
            assert_error(call(api, method, path, token), 401, "UNAUTHORIZED")


def test_API2_hs256_signed_with_the_public_key_is_refused(tmp_path: Path) -> None:
    """Algorithm confusion: with an RS256 public key configured, a token signed HS256 with that (public) key as
    its HMAC secret must not pass."""
    key = rsa.generate_private_key(65537, 2048)
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    api = make_api(tmp_path, ENTRY_AUTH_PUBLIC_KEY=pem.decode())
    try:
        header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        claims = b64(json.dumps({"sub": "u1", "exp": int(time.time()) + 600, "isSupreme": True}).encode())
        signature = b64(hmac.new(pem, f"{header}.{claims}".encode(), hashlib.sha256).digest())
        for method, path, who in routes(api):
            if who != "public":
                assert_error(call(api, method, path, f"{header}.{claims}.{signature}"), 401, "UNAUTHORIZED")
    finally:
        api.services.close()


# API5:2023 Broken function-level authorisation — every admin route refuses a fan.
# API1:2023 Broken object-level authorisation — a fan never reaches another fan's objects.


def test_API5_every_admin_route_refuses_a_fan_and_changes_nothing(api: Api) -> None:
    assert api.register(VALID_FIELDS, campaign="c1", user="u1").status_code == 201
    before = api.call("GET", "/c1/entries", user="u1").get_json()
    fan = make_token("u2")
    for method, path, who in routes(api):
        if who == "supreme":
            assert_error(call(api, method, path, fan, body={}), 403, "FORBIDDEN")
    assert api.call("GET", "/c1/entries", user="u1").get_json() == before


def test_API1_routes_naming_a_user_refuse_another_fan(api: Api) -> None:
    assert api.register(VALID_FIELDS, campaign="c1", user="u1").status_code == 201
    other = make_token("u2")
    for method, path, _ in routes(api):
        if "/users/u1" in path:
            assert_error(call(api, method, path, other, body={"type": "DO_NOT_SELL"}), 403, "FORBIDDEN")
    # fan routes take the user from the token only: u2 reads and writes its own entry, never u1's
    assert_error(call(api, "GET", "/c1/entries", other), 404, "ENTRY_NOT_FOUND")
    assert api.call("GET", "/c1/entries", user="u1").get_json()["userId"] == "u1"


# API3:2023 Broken object property level authorisation — no mass assignment, no internal field shown to a fan.


@pytest.mark.parametrize("extra", ["userId", "isSupreme", "codes", "review", "fraud", "phoneConfirmed", "version"])
def test_API3_a_fan_cannot_set_protected_properties(api: Api, extra: str) -> None:
    answer = api.call("POST", "/c1/entries", user="u1", body={"fields": VALID_FIELDS, extra: "x"})
    assert_error(answer, 400, "BAD_REQUEST")
    assert_error(api.call("GET", "/c1/entries", user="u1"), 404, "ENTRY_NOT_FOUND")  # nothing stored


def test_API3_a_fan_view_shows_no_internal_field(api: Api) -> None:
    created = api.call("POST", "/c1/entries", user="u1", body={"fields": VALID_FIELDS}).get_json()
    for view in (created, api.call("GET", "/c1/entries", user="u1").get_json()):
        assert not {"fraud", "fanscore", "origin", "attributes", "review", "version", "_id"} & set(view)


# API4:2023 Unrestricted resource consumption — bodies and pages are bounded on every route.


def test_API4_every_route_taking_a_body_refuses_one_over_the_limit(api: Api) -> None:
    admin = make_token("admin-1", True)
    huge = b'{"x": "' + b"a" * (16 * 1024 * 1024 + 10) + b'"}'
    for method, path, who in routes(api):
        if method in ("POST", "PUT", "PATCH") and who != "public":
            token = admin if who == "supreme" else make_token("u1")
            assert_error(call(api, method, path, token, raw=huge), 413, "PAYLOAD_TOO_LARGE")


def test_API4_pages_are_bounded(api: Api) -> None:
    admin = make_token("admin-1", True)
    paged = 0
    for method, path, _ in routes(api):
        if any(p.get("name") == "limit" for p in _query_parameters(path, method, api)):
            assert_error(call(api, method, f"{path}?limit=10001", admin), 400, "BAD_REQUEST")
            assert_error(call(api, method, f"{path}?offset=-1", admin), 400, "BAD_REQUEST")
            paged += 1
    assert paged >= 2  # the scoring list and the entry lists


def _query_parameters(path: str, method: str, api: Api) -> list[dict[str, Any]]:
    adapter = api.client.application.url_map.bind("localhost")
    endpoint, _ = adapter.match(path, method=method)
    return list(OPERATIONS[endpoint].query)


# API8:2023 Security misconfiguration — every answer to a bad request is the envelope, never a trace.


@pytest.mark.parametrize("raw", [b"{", b"[]", b'{"fields": 1}', b"\xff\xfe", b'{"a":' * 50 + b"1" + b"}" * 50])
def test_API8_no_answer_reveals_internals(api: Api, raw: bytes) -> None:
    admin, fan = make_token("admin-1", True), make_token("u1")
    for method, path, who in routes(api):
        token = admin if who == "supreme" else fan
        answer = call(api, method, path, token, raw=raw if method != "GET" else None)
        assert answer.status_code < 500, (method, path, answer.get_data(as_text=True))
        text = answer.get_data(as_text=True)
        assert not any(marker in text for marker in INTERNAL), (method, path, text[:300])
        if answer.status_code >= 400:
            assert set(answer.get_json()) == {"status", "code", "message", "payload"}
        if "/draws" in path and method == "GET":  # SPEC DRW-006: the draws' public reads, to every origin
            assert answer.headers["Access-Control-Allow-Origin"] == "*"
        else:
            assert "Access-Control-Allow-Origin" not in answer.headers  # no CORS unless configured
