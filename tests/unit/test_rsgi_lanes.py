"""The bridge's lanes (SPEC OPS-005, adapters_http.server.rsgi): requests of supreme tokens run on admin threads of
their own, so admin work that takes long — every admin thread busy, more admins queued — never holds the event loop
(fans' GETs) nor the fans' threads (their writes). Driven through the bridge's RSGI entry point with a stand-in for
granian's scope and protocol objects; the e2e tests serve the same bridge on granian itself."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import jwt
import pytest

from adapters_http.server.rsgi import RsgiBridge, _admin

ADMIN_THREADS = 2


def token(claims: dict[str, Any]) -> str:
    return "Bearer " + jwt.encode({"sub": "u", "exp": time.time() + 60, **claims}, "k" * 32, "HS256")


class Scope:
    def __init__(self, method: str, path: str, authorization: str) -> None:
        self.proto, self.method, self.path, self.query_string = "http", method, path, ""
        self.headers = {"authorization": authorization, "content-length": "2" if method == "POST" else "0"}
        self.server, self.client, self.scheme, self.http_version = "127.0.0.1:80", "127.0.0.1:5000", "http", "1.1"


class Protocol:
    def __init__(self) -> None:
        self.answered: tuple[int, bytes] | None = None
        self.chunks: list[bytes] = []

    async def __call__(self) -> bytes:
        return b"{}"

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answered = (status, body)

    def response_stream(self, status: int, headers: list[tuple[str, str]]) -> Any:
        protocol = self

        class Transport:
            async def send_bytes(self, data: bytes) -> None:
                protocol.chunks.append(data)

        self.answered = (status, b"")
        return Transport()


def make_app(release: threading.Event, running: list[str]) -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/slow":
            running.append(threading.current_thread().name)
            release.wait(10)  # an admin count or export that takes long
        start_response("200 OK", [("content-length", "2")])
        return [b"ok"]

    return app


def test_admin_requests_that_hold_every_admin_thread_leave_fans_answered_at_once() -> None:
    release, running = threading.Event(), list[str]()
    bridge = RsgiBridge(make_app(release, running), threads=2, admin_threads=ADMIN_THREADS)
    admin, fan = token({"isSupreme": True}), token({})

    async def scenario() -> tuple[list[Protocol], float, float, Protocol, Protocol]:
        loop = asyncio.get_running_loop()
        bridge.__rsgi_init__(loop)
        admins = [Protocol() for _ in range(ADMIN_THREADS + 1)]  # one more than the lane: it queues
        tasks = [asyncio.create_task(bridge.__rsgi__(Scope("GET", "/slow", admin), p)) for p in admins]
        while len(running) < ADMIN_THREADS:
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        fan_get = Protocol()
        await bridge.__rsgi__(Scope("GET", "/me", fan), fan_get)  # inline on the event loop
        got = time.perf_counter() - started
        fan_post = Protocol()
        await asyncio.wait_for(bridge.__rsgi__(Scope("POST", "/me", fan), fan_post), 5)  # the fans' threads
        posted = time.perf_counter() - started
        assert all(p.answered is None for p in admins)  # the admins still wait for their slow work
        release.set()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        return admins, got, posted, fan_get, fan_post

    admins, got, posted, fan_get, fan_post = asyncio.run(scenario())
    bridge._pool.shutdown()
    bridge._admin_pool.shutdown()
    assert fan_get.answered == (200, b"ok") and fan_post.answered == (200, b"ok")
    assert got < 1 and posted < 1  # a hang bound only: without the lane, both wait for the admins' 10 s
    assert all(p.answered == (200, b"ok") for p in admins)
    assert {name.split("_")[0] for name in running} == {"admin"}  # admin work ran on the admin threads only


@pytest.mark.parametrize(
    ("authorization", "admin"),
    [
        (token({"isSupreme": True}), True),
        (token({"isSupreme": True}).replace("Bearer", "bearer"), True),
        (token({"isSupreme": False}), False),
        (token({"isSupreme": "true"}), False),
        (token({}), False),
        (None, False),
        ("Basic dXNlcjpwYXNz", False),
        ("Bearer not-a-token", False),
        ("Bearer a.%%%.c", False),
        ("Bearer a." + base64.urlsafe_b64encode(b"[1, 2]").decode().rstrip("=") + ".c", False),
        ("Bearer a." + base64.urlsafe_b64encode(json.dumps({"isSupreme": True}).encode()).decode() + ".c", True),
        ("Bearer " + "x" * 9000, False),
    ],
)
def test_the_lane_is_chosen_by_the_tokens_claim_alone(authorization: str | None, admin: bool) -> None:
    """Read, not verified: a forged claim only puts a fan in the admins' queue, where the app refuses the token."""
    assert _admin(authorization) is admin


@pytest.mark.parametrize("shift", range(12))
def test_the_claim_is_found_at_every_base64_alignment(shift: int) -> None:
    """The quick check (the claim's name in any of its three base64 alignments) never sends an admin to the fans."""
    for spaced in (False, True):
        claims = {"sub": "a" * shift, "isSupreme": True, "n": "b" * (11 - shift)}
        payload = json.dumps(claims, separators=(", ", ": ") if spaced else (",", ":")).encode()
        assert _admin("Bearer h." + base64.urlsafe_b64encode(payload).decode().rstrip("=") + ".s")
