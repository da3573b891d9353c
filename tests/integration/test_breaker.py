"""Circuit breakers of the outbound HTTP dependencies (SPEC PUB-007): a dependency that keeps failing or timing
out is skipped at once for a cool-down, then probed one call at a time; state shared by a process's threads."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from adapters_http.clients import HttpxFraudCheck
from adapters_http.clients.breaker import BREAKERS, CLOSED, HALF_OPEN, OPEN, Breaker
from adapters_http.clients.service import JsonService
from entrycore.errors import DependencyUnavailable, EnrichmentFailed
from tests.contract.entries import an_entry
from tests.loopback import Answer, LoopbackServer


class Ticking:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_it_opens_after_consecutive_failures_and_a_success_resets_the_count() -> None:
    clock = Ticking()
    breaker = Breaker("dep", failures=3, cool_down=10, probes=2, clock=clock)
    for _ in range(2):
        breaker.failed(breaker.admit() or 0, "boom")
    breaker.succeeded(breaker.admit() or 0)
    for _ in range(2):
        breaker.failed(breaker.admit() or 0, "boom")
    assert breaker.state == CLOSED
    breaker.failed(breaker.admit() or 0, "boom")
    assert breaker.state == OPEN and breaker.admit() is None and breaker.skipped == 1
    assert BREAKERS["dep"] is breaker


def test_after_the_cool_down_one_probe_at_a_time_and_enough_successes_close_it() -> None:
    clock = Ticking()
    breaker = Breaker("dep", failures=1, cool_down=10, probes=2, clock=clock)
    breaker.failed(breaker.admit() or 0, "boom")
    clock.now = 9.9
    assert breaker.admit() is None
    clock.now = 10.0
    probe = breaker.admit()
    assert probe is not None and breaker.state == HALF_OPEN
    assert breaker.admit() is None  # the probe is out: everyone else skips
    breaker.succeeded(probe)
    second = breaker.admit()
    assert second is not None
    breaker.succeeded(second)
    assert breaker.state == CLOSED and breaker.transitions == {
        "closed->open": 1,
        "open->half-open": 1,
        "half-open->closed": 1,
    }


def test_a_failed_probe_opens_it_again_and_a_call_from_before_changes_nothing() -> None:
    clock = Ticking()
    breaker = Breaker("dep", failures=2, cool_down=5, probes=1, clock=clock)
    early = breaker.admit()
    assert early is not None
    breaker.failed(breaker.admit() or 0, "boom")
    breaker.failed(breaker.admit() or 0, "boom")
    assert breaker.state == OPEN
    breaker.succeeded(early)  # a call still running when it opened: ignored
    assert breaker.state == OPEN
    clock.now = 5
    breaker.failed(breaker.admit() or 0, "still down")
    assert breaker.state == OPEN and breaker.admit() is None


def test_its_state_is_shared_by_threads() -> None:
    breaker = Breaker("dep", failures=50, cool_down=60)
    barrier = threading.Barrier(10)

    def fail() -> None:
        barrier.wait()
        for _ in range(5):
            breaker.failed(breaker.admit() or 0, "boom")

    threads = [threading.Thread(target=fail) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert breaker.state == OPEN and breaker.transitions == {"closed->open": 1}


@pytest.mark.parametrize("bad", [-1, 0])
def test_bad_settings_are_refused(bad: int) -> None:
    with pytest.raises(ValueError, match="breaker"):
        Breaker("dep", failures=bad)


def test_a_slow_dependency_is_skipped_at_once_once_its_circuit_is_open(
    loopback: LoopbackServer, http_client: httpx.Client
) -> None:
    loopback.answer("/score", Answer(body=b'{"score": 10}', delay=1.0), method="POST")
    clock = Ticking()
    fraud = HttpxFraudCheck(f"{loopback.url}/score", timeout=0.2, client=http_client)
    fraud._service.breaker = Breaker("nudetect-test", failures=3, cool_down=30, clock=clock)
    for _ in range(3):
        with pytest.raises(EnrichmentFailed, match="timed out"):
            fraud.check(an_entry(), "VerifiedFanSignUp")
    assert loopback.hits("/score", method="POST") == 3
    started = time.monotonic()
    for _ in range(20):
        with pytest.raises(EnrichmentFailed, match="circuit open"):
            fraud.check(an_entry(), "VerifiedFanSignUp")
    assert time.monotonic() - started < 1.0  # not 20 timeouts: a generous bound that only catches waiting
    assert loopback.hits("/score", method="POST") == 3  # nobody asked the slow service
    loopback.answer("/score", Answer(body=b'{"score": 10}'), method="POST")
    clock.now = 30
    for _ in range(3):  # PROBES successes, one at a time
        assert fraud.check(an_entry(), "VerifiedFanSignUp").score == 10
    assert fraud._service.breaker.state == CLOSED


def test_a_404_is_an_answer_and_does_not_count_against_the_circuit(loopback: LoopbackServer) -> None:
    loopback.fail("/users/nobody", status=404)
    service = JsonService("user-service", loopback.url, timeout=1.0, breaker=Breaker("users-test", failures=1))
    for _ in range(3):
        assert service.get_json("/users/nobody") is None
    assert service.breaker.state == CLOSED
    loopback.fail("/users/boom", status=503)
    with pytest.raises(DependencyUnavailable, match="HTTP 503"):
        service.get_json("/users/boom")
    with pytest.raises(DependencyUnavailable, match="circuit open"):
        service.get_json("/users/nobody")
    service.close()


def test_a_4xx_about_one_request_does_not_count_but_5xx_408_and_429_do(loopback: LoopbackServer) -> None:
    breaker = Breaker("users-4xx", failures=2)
    service = JsonService("user-service", loopback.url, timeout=1.0, breaker=breaker)
    for status in (400, 401, 403, 422, 400):
        loopback.fail("/users/x", status=status)
        with pytest.raises(DependencyUnavailable, match=f"HTTP {status}"):
            service.get_json("/users/x")
    assert breaker.state == CLOSED  # one fan's request, five times: the service is fine
    for status in (429, 503):
        loopback.fail("/users/x", status=status)
        with pytest.raises(DependencyUnavailable, match=f"HTTP {status}"):
            service.get_json("/users/x")
    assert breaker.state == OPEN
    service.close()


def test_a_probe_that_raises_anything_else_is_settled_and_the_circuit_can_close(loopback: LoopbackServer) -> None:
    clock = Ticking()
    breaker = Breaker("closed-client", failures=1, cool_down=1, probes=1, clock=clock)
    client = httpx.Client()
    service = JsonService("user-service", loopback.url, timeout=1.0, client=client, breaker=breaker)
    loopback.fail("/users/x", status=503)
    with pytest.raises(DependencyUnavailable):
        service.get_json("/users/x")
    client.close()
    clock.now = 1
    with pytest.raises(RuntimeError):  # httpx: the client has been closed (not an httpx.HTTPError)
        service.get_json("/users/x")
    assert breaker.state == OPEN  # the probe failed and was settled: not stuck half-open
    healthy = JsonService("user-service", loopback.url, timeout=1.0, breaker=breaker)
    loopback.json("/users/x", {"id": "x"})
    clock.now = 2
    assert healthy.get_json("/users/x") == {"id": "x"} and breaker.state == CLOSED
    healthy.close()
