"""End to end: clients that send slowly, or nothing, cannot stall ``entry-service serve`` (issue 10). Its
server reads requests on its event loop; the app's threads only ever see complete requests."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess
from tests.http_app import make_token

pytestmark = pytest.mark.e2e

SLOW = 200


@contextmanager
def slow_connections(url: str, kind: str, count: int = SLOW) -> Iterator[list[socket.socket]]:
    """``count`` connections that sent part of a request (``headers``: an unfinished header block;
    ``body``: a valid request whose body never completes) or nothing at all (``idle``)."""
    host, port = url.removeprefix("http://").split(":")
    token = make_token("slowpoke")
    starts = {
        "headers": b"GET /heartbeat HTTP/1.1\r\nHost: x\r\n",
        "body": (
            f"POST /c1/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        ).encode(),
        "idle": b"",
    }
    sockets = []
    try:
        for _ in range(count):
            sock = socket.create_connection((host, int(port)), timeout=5)
            if starts[kind]:
                sock.sendall(starts[kind])
            sockets.append(sock)
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def closed(sock: socket.socket) -> bool:
    """Whether the server let go of the connection: it answered (a 408) or closed it."""
    sock.settimeout(0.05)
    try:
        sock.recv(1024)
    except TimeoutError:
        return False  # nothing yet: still held open
    except OSError:
        pass  # reset: let go
    return True


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("slow")
    process = ServeProcess(folder, workers=2, ENTRY_HEADER_TIMEOUT="2", ENTRY_BODY_TIMEOUT="2").start()
    yield process
    process.stop()


@pytest.mark.parametrize("kind", ["headers", "body", "idle"])
def test_200_slow_connections_do_not_stall_other_fans(server: ServeProcess, kind: str) -> None:
    with slow_connections(server.url, kind) as sockets, httpx.Client(base_url=server.url, timeout=5) as client:
        for n in range(10):
            assert client.get("/heartbeat").status_code == 200
            fan = f"{kind}-fan-{n}"
            answer = client.post(
                "/c1/entries",
                json={"fields": {**VALID_FIELDS, "phone": f"+1212555{n:04d}"}},
                headers={"Authorization": f"Bearer {make_token(fan)}"},
            )
            assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 15  # the 2 s read timeouts, generously: a bound that only catches a hang
        while time.monotonic() < deadline and not all(closed(sock) for sock in sockets):
            time.sleep(0.2)
        assert all(closed(sock) for sock in sockets), "slow connections still held after their read timeout"


def test_a_body_that_never_completes_is_answered_408_in_the_envelope(server: ServeProcess) -> None:
    with slow_connections(server.url, "body", count=1) as (sock,):
        sock.settimeout(10)
        answer = sock.recv(4096)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408")
    assert b'"code": "REQUEST_TIMEOUT"' in body and b'"status": 408' in body


def test_a_chunked_body_is_read_whole(server: ServeProcess, tmp_path: Path) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"fields": '
        yield httpx.Request("POST", "/", json=VALID_FIELDS).content
        yield b"}"

    with httpx.Client(base_url=server.url, timeout=5) as client:
        answer = client.post(
            "/c1/entries", content=chunks(), headers={"Authorization": f"Bearer {make_token('chunky')}"}
        )
    assert answer.status_code == 201, answer.text
