"""HTTP: bearer tokens exactly as API.md §1, and the operations routes."""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from entry_service.logs import JsonFormatter
from entrycore.errors import DependencyUnavailable
from tests.builders import VALID_FIELDS
from tests.http_app import SECRET, Api, make_api, make_token
from tests.integration.test_http_entries import assert_error


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _bearer(api: Api, token: str, body: object = None) -> object:
    return api.call(
        "POST" if body is not None else "GET",
        "/c1/entries",
        user=None,
        body=body,
        headers={"Authorization": f"Bearer {token}"},
    )


def test_missing_or_malformed_authorization(api: Api) -> None:
    assert_error(api.call("GET", "/c1/entries", user=None), 401, "UNAUTHORIZED")
    for header in ["Basic abc", "Bearer", "Bearer not.a.jwt", "Basic " + make_token()]:  # any case of Bearer is fine
        assert_error(api.call("GET", "/c1/entries", user=None, headers={"Authorization": header}), 401, "UNAUTHORIZED")


def test_alg_none_expired_wrong_secret_and_missing_exp_are_refused(api: Api) -> None:
    now = int(time.time())
    none_token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'u1', 'exp': now + 600})}."
    expired = make_token(ttl=-10)
    wrong = make_token(key="another-secret-that-is-long-enough-for-hs256-and-hs512-0123456789abcdef")
    no_exp = jwt.encode({"sub": "u1", "iat": now}, SECRET, algorithm="HS256")
    no_sub = jwt.encode({"exp": now + 60}, SECRET, algorithm="HS256")
    hs512 = jwt.encode({"sub": "u1", "exp": now + 60}, SECRET, algorithm="HS512")
    for token in (none_token, expired, wrong, no_exp, no_sub, hs512):
        assert_error(_bearer(api, token), 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": "{later}"},  # a NumericDate is a JSON number (RFC 7519 §2), not a string of digits
        {"exp": True},
        {"exp": None},
        {"exp": ["{later}"]},
        {"exp": "{later}", "iat": "{now}"},
        {"iat": "{now}"},
        {"nbf": "{now}"},
        {"exp": 10**400},  # a JSON number no float holds
    ],
)
def test_time_claims_that_are_not_numbers_are_refused(api: Api, claims: dict[str, Any]) -> None:
    now = int(time.time())

    def value(v: Any) -> Any:
        if isinstance(v, list):
            return [value(x) for x in v]
        return v.format(now=now, later=now + 600) if isinstance(v, str) else v

    body = {"sub": "u1", "exp": now + 600, **{k: value(v) for k, v in claims.items()}}
    assert_error(_bearer(api, jwt.encode(body, SECRET, algorithm="HS256")), 401, "UNAUTHORIZED")


def test_authentication_happens_before_the_body_is_read(api: Api) -> None:
    answer = api.call("POST", "/c1/entries", user=None, raw=b"garbage")
    assert_error(answer, 401, "UNAUTHORIZED")
    answer = api.call("POST", "/c1/entries", user=None, raw=b"x" * 100_000)
    assert_error(answer, 401, "UNAUTHORIZED")


def test_user_id_claim_and_is_supreme_only_when_true(api: Api) -> None:
    now = int(time.time())
    legacy = jwt.encode({"userId": "u7", "exp": now + 60}, SECRET, algorithm="HS256")
    assert _bearer(api, legacy, {"fields": VALID_FIELDS}).get_json()["userId"] == "u7"
    for fake_supreme in ("true", 1, "yes"):
        token = make_token("u1", isSupreme=fake_supreme)
        answer = api.call(
            "POST", "/c1/invites", user=None, body={"invites": ["x"]}, headers={"Authorization": f"Bearer {token}"}
        )
        assert_error(answer, 403, "FORBIDDEN")


@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_public_key_tokens(tmp_path: Path, kind: str) -> None:
    key = rsa.generate_private_key(65537, 2048) if kind == "rsa" else ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    api = make_api(tmp_path, ENTRY_AUTH_PUBLIC_KEY=pem.decode(), ENTRY_AUTH_AUDIENCE="fans", ENTRY_AUTH_ISSUER="idp")
    try:
        algorithm = "RS256" if kind == "rsa" else "ES256"
        good = make_token(key=key, algorithm=algorithm, aud="fans", iss="idp")
        assert _bearer(api, good, {"fields": VALID_FIELDS}).status_code == 201
        for bad in (
            make_token(key=key, algorithm=algorithm, aud="others", iss="idp"),
            make_token(key=key, algorithm=algorithm, iss="idp"),
            make_token(key=key, algorithm=algorithm, aud="fans"),
            make_token(aud="fans", iss="idp"),  # HS256 refused when a public key is configured
        ):
            assert_error(_bearer(api, bad), 401, "UNAUTHORIZED")
    finally:
        api.services.close()


def test_heartbeat_needs_no_token_and_echoes_correlation_id(api: Api) -> None:
    answer = api.call("GET", "/heartbeat", user=None, headers={"X-Correlation-Id": "abc-123"})
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["status"] == "ok" and body["version"] and body["timestamp"].endswith("Z")
    assert answer.headers["X-Correlation-Id"] == "abc-123"
    assert len(api.call("GET", "/heartbeat", user=None).headers["X-Correlation-Id"]) >= 16


def test_campaigns_route_is_for_admins(api: Api) -> None:
    assert_error(api.call("GET", "/campaigns"), 403, "FORBIDDEN")
    listed = api.call("GET", "/campaigns", user="boss", supreme=True).get_json()["campaigns"]
    assert listed[0] == {"id": "c1", "name": "Tour 2027", "status": "OPEN"}


def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    api = make_api(tmp_path, ENTRY_CORS_ORIGINS="https://admin.example")
    try:
        allowed = api.call("GET", "/heartbeat", user=None, headers={"Origin": "https://admin.example"})
        assert allowed.headers["Access-Control-Allow-Origin"] == "https://admin.example"
        other = api.call("GET", "/heartbeat", user=None, headers={"Origin": "https://evil.example"})
        assert "Access-Control-Allow-Origin" not in other.headers
    finally:
        api.services.close()


def test_a_remembered_token_is_refused_once_it_expires() -> None:
    from adapters_http.server.auth import TokenVerifier  # noqa: PLC0415
    from entrycore.errors import Unauthorized  # noqa: PLC0415

    verifier = TokenVerifier.for_secret(SECRET)
    token = jwt.encode({"sub": "u1", "exp": time.time() + 1}, SECRET, algorithm="HS256")
    assert verifier.verify(f"Bearer {token}") == ("u1", False)
    assert verifier.verify(f"Bearer {token}") == ("u1", False)  # remembered
    time.sleep(1.1)
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {token}")
    with pytest.raises(Unauthorized):
        verifier.verify(f"Bearer {token[:-2]}xx")  # never a prefix or look-alike of a remembered one


def test_heartbeat_is_503_degraded_when_the_datastore_fails(api: Api) -> None:
    import attrs  # noqa: PLC0415

    from adapters_http.server import HttpConfig, create_app  # noqa: PLC0415
    from entrycore.errors import DependencyUnavailable  # noqa: PLC0415

    def down() -> None:
        raise DependencyUnavailable("SQLite store is unavailable")

    wired = api.services
    broken_store = attrs.evolve(wired, stores=attrs.evolve(wired.stores, ping=down))
    broken = create_app(broken_store, HttpConfig(version="test")).test_client()
    answer = broken.get("/heartbeat")
    assert answer.status_code == 503
    body = answer.get_json()
    assert body["status"] == "degraded" and body["failing"] == {"datastore": "SQLite store is unavailable"}


def test_a_log_line_of_a_request_carries_the_correlation_id_of_its_answer(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_: object) -> None:
        raise DependencyUnavailable("store down")

    monkeypatch.setattr(api.services.stores.entries, "get", down)  # a 503 is logged (OPS-001: JSON, correlation id)
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("entry_service.http")
    logger.addHandler(handler)
    try:
        given = api.call("GET", "/c1/entries", headers={"X-Correlation-Id": "trace-42"})
        made = api.call("GET", "/c1/entries")
    finally:
        logger.removeHandler(handler)
    assert given.status_code == made.status_code == 503
    logged = [json.loads(line)["correlationId"] for line in lines.getvalue().splitlines()]
    assert logged == ["trace-42", made.headers["X-Correlation-Id"]]
    assert given.headers["X-Correlation-Id"] == "trace-42"
