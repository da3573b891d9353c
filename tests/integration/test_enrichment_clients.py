"""HttpxFraudCheck and HttpxFanscoreSource against a real loopback Nudetect and GraphQL service (PUB-003…007)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from adapters_http.clients import HttpxFanscoreSource, HttpxFraudCheck
from entrycore.errors import EnrichmentFailed
from entrycore.model import Entry, FraudResult, Origin, UserAccount
from tests.loopback import Answer, LoopbackServer, unused_url

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

TIMEOUT = 0.3
NUDETECT = "/v1/score"
GRAPHQL = "/graphql"
QUERY = "query AccountFanscore($userId: ID!) { accountFanscore(userId: $userId) { rawScore } }"
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
ORIGIN = Origin(ip="203.0.113.7", user_agent="Mozilla/5.0 (test)")


def an_entry(origin: Origin | None = ORIGIN) -> Entry:
    return Entry(
        campaign_id="c1",
        user_id="u1",
        fields={"email": "ana@example.com"},
        markets=("nyc", "bos"),
        locale="en-US",
        code="CODE0001",
        link=None,
        date_created=NOW,
        date_updated=NOW,
        email="ana@example.com",
        phone="+12125550123",
        first_name="Ana",
        last_name=None,
        origin=origin,
    )


@pytest.fixture
def fraud(loopback: LoopbackServer, http_client: httpx.Client) -> Iterator[HttpxFraudCheck]:
    with HttpxFraudCheck(loopback.url + NUDETECT, timeout=TIMEOUT, client=http_client) as check:
        yield check


@pytest.fixture
def fanscore(loopback: LoopbackServer, http_client: httpx.Client) -> Iterator[HttpxFanscoreSource]:
    with HttpxFanscoreSource(loopback.url + GRAPHQL, timeout=TIMEOUT, client=http_client) as source:
        yield source


def fails_in_time(call: Callable[[], object]) -> EnrichmentFailed:
    """Asserts ``call`` raises EnrichmentFailed within the generous hang bound of twice the timeout."""
    started = time.monotonic()
    with pytest.raises(EnrichmentFailed) as caught:
        call()
    assert time.monotonic() - started < 2 * TIMEOUT
    return caught.value


def raw(body: bytes) -> Answer:
    return Answer(body=body)


# -- Nudetect ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("score", "stored"), [(0, 0.0), (412, 412.0), (12.5, 12.5), (1000, 1000.0)])
def test_a_score_is_stored_as_scored(
    loopback: LoopbackServer, fraud: HttpxFraudCheck, score: float, stored: float
) -> None:
    loopback.json(NUDETECT, {"score": score, "reasons": ["ignored"]}, method="POST")
    result = fraud.check(an_entry(), "VerifiedFanSignUp")
    assert result == FraudResult(score=stored, status="scored")
    assert type(result.score) is float


def test_nudetect_receives_the_entry_its_origin_and_the_placement(
    loopback: LoopbackServer, fraud: HttpxFraudCheck
) -> None:
    loopback.json(NUDETECT, {"score": 1}, method="POST")
    fraud.check(an_entry(), "VerifiedFanEdit")
    (request,) = loopback.requests_to(NUDETECT, method="POST")
    assert request.headers["content-type"] == "application/json"
    assert "authorization" not in request.headers  # the fan's token is not Nudetect's business
    assert request.json() == {
        "placement": "VerifiedFanEdit",
        "ip": "203.0.113.7",
        "userAgent": "Mozilla/5.0 (test)",
        "entry": {
            "campaignId": "c1",
            "userId": "u1",
            "email": "ana@example.com",
            "phone": "+12125550123",
            "firstName": "Ana",
            "lastName": None,
            "markets": ["nyc", "bos"],
            "locale": "en-US",
        },
    }


def test_an_entry_without_origin_is_sent_with_null_ip_and_user_agent(
    loopback: LoopbackServer, fraud: HttpxFraudCheck
) -> None:
    loopback.json(NUDETECT, {"score": 1}, method="POST")
    fraud.check(an_entry(origin=None), "VerifiedFanSignUp")
    body = loopback.requests_to(NUDETECT, method="POST")[0].json()
    assert (body["placement"], body["ip"], body["userAgent"]) == ("VerifiedFanSignUp", None, None)


def test_a_slow_nudetect_fails(loopback: LoopbackServer, fraud: HttpxFraudCheck) -> None:
    loopback.json(NUDETECT, {"score": 1}, method="POST", delay=2.0)
    fails_in_time(lambda: fraud.check(an_entry(), "VerifiedFanSignUp"))


def test_a_score_trickling_past_the_timeout_fails(loopback: LoopbackServer, fraud: HttpxFraudCheck) -> None:
    loopback.answer(NUDETECT, Answer(body=b'{"score": 1}' + b" " * 100, drip=0.02), method="POST")
    fails_in_time(lambda: fraud.check(an_entry(), "VerifiedFanSignUp"))


@pytest.mark.parametrize("status", [201, 204, 400, 404, 429, 500, 503])
def test_any_status_but_200_fails(loopback: LoopbackServer, fraud: HttpxFraudCheck, status: int) -> None:
    loopback.json(NUDETECT, {"score": 1}, status=status, method="POST")
    failure = fails_in_time(lambda: fraud.check(an_entry(), "VerifiedFanSignUp"))
    assert "Nudetect" in str(failure) and loopback.url not in str(failure)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b"",
        b"[]",
        b'"ok"',
        b"null",
        b"{}",
        b'{"result": "pass"}',
        b'{"score": null}',
        b'{"score": "412"}',
        b'{"score": true}',
        b'{"score": false}',
        b'{"score": [1]}',
        b'{"score": NaN}',
        b'{"score": Infinity}',
        b'{"score": -Infinity}',
        b'{"score": 1e999}',
        b'{"score": -1}',
        b'{"score": -0.001}',
        b'{"score": 1000.001}',
        b'{"score": 1001}',
        b'{"score": 100000000000000000000000000000000000000000000000000}',
    ],
)
def test_a_malformed_answer_is_never_a_pass(loopback: LoopbackServer, fraud: HttpxFraudCheck, body: bytes) -> None:
    loopback.answer(NUDETECT, raw(body), method="POST")
    fails_in_time(lambda: fraud.check(an_entry(), "VerifiedFanSignUp"))


def test_a_refused_connection_fails() -> None:
    with HttpxFraudCheck(unused_url() + NUDETECT, timeout=TIMEOUT) as check:
        fails_in_time(lambda: check.check(an_entry(), "VerifiedFanSignUp"))


@pytest.mark.parametrize("url", ["", "ftp://host/x", "http://", "http://host/x?key=1", "not a url"])
def test_a_bad_url_is_refused_at_construction(url: str) -> None:
    with pytest.raises(ValueError, match="URL"):
        HttpxFraudCheck(url)
    with pytest.raises(ValueError, match="URL"):
        HttpxFanscoreSource(url)


# -- fanscore (GraphQL) -----------------------------------------------------------------------------


def graphql(raw_score: Any) -> dict[str, Any]:
    return {"data": {"accountFanscore": {"rawScore": raw_score}}}


@pytest.mark.parametrize(("raw_score", "expected"), [(0.87, 0.87), (0, 0.0), (42, 42.0), (-3.5, -3.5)])
def test_a_raw_score_is_the_fanscore(
    loopback: LoopbackServer, fanscore: HttpxFanscoreSource, raw_score: float, expected: float
) -> None:
    loopback.json(GRAPHQL, graphql(raw_score), method="POST")
    score = fanscore.fanscore("u1", "Bearer t")
    assert score == expected and type(score) is float


def test_the_query_names_the_user_and_forwards_the_authorization(
    loopback: LoopbackServer, fanscore: HttpxFanscoreSource
) -> None:
    loopback.json(GRAPHQL, graphql(0.5), method="POST")
    fanscore.fanscore("auth0|u/1", "Bearer fan-token")
    fanscore.fanscore("u2", None)
    first, second = loopback.requests_to(GRAPHQL, method="POST")
    assert first.json() == {"query": QUERY, "variables": {"userId": "auth0|u/1"}}
    assert first.headers["authorization"] == "Bearer fan-token"
    assert first.headers["content-type"] == "application/json"
    assert second.json()["variables"] == {"userId": "u2"}
    assert "authorization" not in second.headers


def test_an_account_without_fanscore_is_none(loopback: LoopbackServer, fanscore: HttpxFanscoreSource) -> None:
    loopback.json(GRAPHQL, {"data": {"accountFanscore": None}}, method="POST")
    assert fanscore.fanscore("u1", "Bearer t") is None


def test_the_account_argument_is_ignored(loopback: LoopbackServer, fanscore: HttpxFanscoreSource) -> None:
    loopback.json(GRAPHQL, graphql(0.25), method="POST")
    assert fanscore.fanscore("u1", None, UserAccount(id="u1", fanscore=0.99)) == 0.25
    assert loopback.hits(GRAPHQL, method="POST") == 1


@pytest.mark.parametrize(
    "value",
    [
        {"errors": [{"message": "boom"}], "data": None},
        {"errors": [{"message": "partial"}], "data": {"accountFanscore": {"rawScore": 0.5}}},
        {"errors": [{"message": "no account"}], "data": {"accountFanscore": None}},
    ],
)
def test_graphql_errors_fail(loopback: LoopbackServer, fanscore: HttpxFanscoreSource, value: Any) -> None:
    loopback.json(GRAPHQL, value, method="POST")
    fails_in_time(lambda: fanscore.fanscore("u1", "Bearer t"))


@pytest.mark.parametrize(
    "body",
    [
        b"<html>not json</html>",
        b"",
        b"[]",
        b"null",
        b"{}",
        b'{"data": null}',
        b'{"data": []}',
        b'{"data": {}}',
        b'{"data": {"accountFanscore": 0.5}}',
        b'{"data": {"accountFanscore": {}}}',
        b'{"data": {"accountFanscore": {"rawScore": null}}}',
        b'{"data": {"accountFanscore": {"rawScore": "0.5"}}}',
        b'{"data": {"accountFanscore": {"rawScore": true}}}',
        b'{"data": {"accountFanscore": {"rawScore": [0.5]}}}',
        b'{"data": {"accountFanscore": {"rawScore": NaN}}}',
        b'{"data": {"accountFanscore": {"rawScore": Infinity}}}',
        b'{"data": {"accountFanscore": {"rawScore": 1e999}}}',
        b'{"data": {"accountFanscore": {"rawScore": ' + b"9" * 400 + b"}}}",
    ],
)
def test_a_malformed_fanscore_answer_fails(
    loopback: LoopbackServer, fanscore: HttpxFanscoreSource, body: bytes
) -> None:
    loopback.answer(GRAPHQL, raw(body), method="POST")
    fails_in_time(lambda: fanscore.fanscore("u1", "Bearer t"))


@pytest.mark.parametrize("status", [400, 401, 404, 500, 503])
def test_a_fanscore_status_but_200_fails(loopback: LoopbackServer, fanscore: HttpxFanscoreSource, status: int) -> None:
    loopback.json(GRAPHQL, graphql(0.5), status=status, method="POST")
    failure = fails_in_time(lambda: fanscore.fanscore("u1", "Bearer t"))
    assert "fanscore" in str(failure) and loopback.url not in str(failure)


def test_a_slow_fanscore_service_fails(loopback: LoopbackServer, fanscore: HttpxFanscoreSource) -> None:
    loopback.json(GRAPHQL, graphql(0.5), method="POST", delay=2.0)
    fails_in_time(lambda: fanscore.fanscore("u1", "Bearer t"))


def test_a_fanscore_trickling_past_the_timeout_fails(loopback: LoopbackServer, fanscore: HttpxFanscoreSource) -> None:
    body = json.dumps(graphql(0.5)).encode() + b" " * 100
    loopback.answer(GRAPHQL, Answer(body=body, drip=0.02), method="POST")
    fails_in_time(lambda: fanscore.fanscore("u1", "Bearer t"))


def test_a_refused_fanscore_connection_fails() -> None:
    with HttpxFanscoreSource(unused_url() + GRAPHQL, timeout=TIMEOUT) as source:
        fails_in_time(lambda: source.fanscore("u1", "Bearer t"))
