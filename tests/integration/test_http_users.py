"""HttpxUserSource against a real loopback user-service: accounts, empty accounts, failures and timeouts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters_http.clients import HttpxUserSource
from entrycore.errors import DependencyUnavailable
from entrycore.model import UserAccount
from entrywire.services import read_account
from tests.loopback import LoopbackServer, unused_url

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

TIMEOUT = 0.3

ACCOUNT: dict[str, Any] = {
    "id": "u1",
    "globalUserId": "g-1",
    "memberId": "m-1",
    "email": "a@b.co",
    "firstName": "Ana",
    "lastName": "Lee",
    "phone": {"number": "+12125550123", "verified": True},
    "linkedAccounts": ["SPOTIFY"],
    "cards": [{"brand": "VISA", "issuer": "CHASE", "verified": True, "active": True}],
    "fanscore": 0.87,
    "somethingNew": {"ignored": True},
}


@pytest.fixture
def source(loopback: LoopbackServer, http_client: httpx.Client) -> Iterator[HttpxUserSource]:
    with HttpxUserSource(loopback.url, timeout=TIMEOUT, client=http_client) as users:
        yield users


def unavailable(source: HttpxUserSource, user_id: str = "u1") -> DependencyUnavailable:
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        source.get(user_id)
    assert time.monotonic() - started < 2 * TIMEOUT
    assert type(caught.value) is DependencyUnavailable
    assert "user-service" in caught.value.message
    return caught.value


def test_an_account_is_read(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    loopback.json("/users/u1", ACCOUNT)
    account = source.get("u1")
    assert account == read_account(ACCOUNT)
    assert account.phone == "+12125550123"
    assert account.phone_verified
    assert account.fanscore == 0.87


def test_404_is_an_empty_account(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    assert source.get("nobody") == UserAccount.empty("nobody")
    assert loopback.hits("/users/nobody") == 1


def test_every_call_asks_with_the_callers_authorization(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    loopback.json("/users/u1", ACCOUNT)
    source.get("u1", authorization="Bearer one")
    source.get("u1", authorization="Bearer two")
    assert [r.headers.get("authorization") for r in loopback.requests] == ["Bearer one", "Bearer two"]


def test_a_non_ascii_authorization_is_sent_as_received(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    # WSGI hands headers over decoded as latin-1; they go out as the same bytes.
    assert source.get("u2", authorization="Bearer caf\u00e9") == UserAccount.empty("u2")
    assert loopback.requests[0].headers["authorization"] == "Bearer caf\u00e9"


def test_the_id_is_encoded(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    source.get("auth0|a/b")
    assert [r.path for r in loopback.requests] == ["/users/auth0%7Ca%2Fb"]


def test_a_slow_user_service_is_unavailable(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    loopback.json("/users/u1", ACCOUNT, delay=5)
    assert "timed out" in unavailable(source).message


@pytest.mark.parametrize("status", [500, 502, 403])
def test_an_error_status_is_unavailable(loopback: LoopbackServer, source: HttpxUserSource, status: int) -> None:
    loopback.fail("/users/u1", status=status)
    unavailable(source)


def test_garbage_is_unavailable(loopback: LoopbackServer, source: HttpxUserSource) -> None:
    loopback.garbage("/users/u1", body=b'{"id": "u1",')
    unavailable(source)


@pytest.mark.parametrize(
    "doc",
    [{"email": "a@b.co"}, {"id": None}, {**ACCOUNT, "id": "u2"}, {**ACCOUNT, "cards": "VISA"}, [ACCOUNT]],
)
def test_a_document_of_the_wrong_shape_is_unavailable(
    loopback: LoopbackServer, source: HttpxUserSource, doc: object
) -> None:
    loopback.json("/users/u1", doc)
    assert "malformed" in unavailable(source).message


def test_a_refused_connection_is_unavailable() -> None:
    with HttpxUserSource(unused_url(), timeout=TIMEOUT) as users:
        unavailable(users)


def test_a_bad_base_url_is_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="user-service"):
        HttpxUserSource("file:users.json")
