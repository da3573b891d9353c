"""One total deadline per call to another service (PUB-007): connect, send, headers and body together."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator

import pytest

from adapters_http.clients import HttpxCampaignSource, HttpxReceiptSender, HttpxUserSource, JsonService
from entrycore.errors import DeliveryFailed, DependencyUnavailable
from tests.loopback import Answer, LoopbackServer

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

TIMEOUT = 1.0
# Each header byte arrives well within httpx's per-read timeout (0.3 s < 1 s): only a total deadline stops it.
# Before the fix a call waited for the whole head (about 60 bytes: 18 s or more).
TRICKLE = 0.3
BOUND = TIMEOUT + 1.0  # generous: catches waiting for the head, not scheduling noise


@contextlib.contextmanager
def json_service(name: str, url: str) -> Iterator[JsonService]:
    service = JsonService(name, url, timeout=TIMEOUT)
    try:
        yield service
    finally:
        service.close()


def trickling_head(body: bytes = b"{}") -> Answer:
    return Answer(body=body, head_drip=TRICKLE)


def fails_in_time(call: Callable[[], object], error: type[Exception] = DependencyUnavailable) -> Exception:
    started = time.monotonic()
    with pytest.raises(error) as caught:
        call()
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"returned after {elapsed:.1f} s, the timeout is {TIMEOUT} s"
    return caught.value


def test_get_json_with_headers_trickling_gives_up_at_the_deadline(loopback: LoopbackServer) -> None:
    loopback.answer("/users/u1", trickling_head())
    with json_service("user-service", loopback.url) as service:
        failure = fails_in_time(lambda: service.get_json("/users/u1"))
    assert "timed out" in str(failure)


def test_post_json_with_headers_trickling_gives_up_at_the_deadline(loopback: LoopbackServer) -> None:
    loopback.answer("/score", trickling_head(b'{"score": 1}'), method="POST")
    with json_service("Nudetect", loopback.url) as service:
        failure = fails_in_time(lambda: service.post_json("/score", {"a": 1}))
    assert "timed out" in str(failure)


def test_a_campaign_look_up_on_the_fans_request_is_bounded_too(loopback: LoopbackServer) -> None:
    loopback.answer("/campaigns/c1", trickling_head(json.dumps({"id": "c1"}).encode()))
    with HttpxCampaignSource(loopback.url, timeout=TIMEOUT, cache_seconds=0) as campaigns:
        fails_in_time(lambda: campaigns.get("c1"))


def test_a_user_look_up_is_bounded_too(loopback: LoopbackServer) -> None:
    loopback.answer("/users/u1", trickling_head())
    with HttpxUserSource(loopback.url, timeout=TIMEOUT) as users:
        fails_in_time(lambda: users.get("u1"))


def test_the_email_service_trickling_its_headers_fails_the_delivery_in_time(loopback: LoopbackServer) -> None:
    loopback.answer("/receipts", trickling_head(), method="POST")
    sender = HttpxReceiptSender(f"{loopback.url}/receipts", timeout=TIMEOUT)
    try:
        fails_in_time(lambda: sender.send({"idempotencyKey": "k1", "email": "ana@example.com"}), DeliveryFailed)
    finally:
        sender.close()


def test_a_body_trickling_past_the_deadline_still_fails_and_a_prompt_answer_still_works(
    loopback: LoopbackServer,
) -> None:
    loopback.answer("/slow", Answer(body=b"{}" + b" " * 100, drip=0.05))
    loopback.json("/quick", {"ok": True})
    with json_service("user-service", loopback.url) as service:
        fails_in_time(lambda: service.get_json("/slow"))
        for _ in range(3):  # the deadline is per call: the next calls (one connection, kept alive) get theirs
            assert service.get_json("/quick") == {"ok": True}
