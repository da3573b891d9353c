"""End to end: the installed ``entry-service serve`` (granian, 2 workers, SQLite) over real HTTP."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import jwt
import pytest

from adapters_sqlite import SqliteEntryStore
from entrycore.outbox import receipt
from tests.builders import VALID_FIELDS
from tests.contract.entries import an_entry
from tests.e2e.serve import SCRIPT, ServeProcess
from tests.http_app import make_token
from tests.loopback import Answer, LoopbackServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("serve")).start()
    yield process
    process.stop()


def auth(user: str, supreme: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user, supreme)}"}


def test_register_and_read_back_over_http(server: ServeProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        created = client.post("/c1/entries", json={"fields": VALID_FIELDS, "locale": "es-mx"}, headers=auth("e2e-1"))
        assert created.status_code == 201, created.text
        assert created.json()["isNew"] is True and created.json()["locale"] == "es_MX"
        updated = client.post("/c1/entries", json={"fields": {"tickets": 3}}, headers=auth("e2e-1"))
        assert updated.status_code == 200 and updated.json()["isNew"] is False
        fetched = client.get("/c1/entries", headers=auth("e2e-1"))
        assert fetched.status_code == 200 and fetched.json()["fields"]["tickets"] == 3
        assert client.get("/c1/entries", headers=auth("e2e-2")).json()["code"] == "ENTRY_NOT_FOUND"
        bad = client.post("/c1/entries", content=b"{", headers=auth("e2e-2"))
        assert bad.status_code == 400 and bad.json()["code"] == "BAD_REQUEST"
        assert client.get("/heartbeat").json()["status"] == "ok"


def test_the_admin_page_is_served_by_the_real_process(server: ServeProcess) -> None:
    """API.md §5 through granian: the page and its script, no token; /admin leads to it."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/admin/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert 'src="admin.js"' in page.text and "script-src 'self'" in page.headers["content-security-policy"]
        script = client.get("/admin/admin.js")
        assert script.status_code == 200 and "const ROUTES" in script.text
        assert client.get("/admin").headers["location"] == "/admin/"
        assert client.get("/admin/nothing.js").json()["code"] == "NOT_FOUND"


def test_paths_outside_ascii_reach_the_routes_as_sent(server: ServeProcess) -> None:
    """PEP 3333: PATH_INFO carries the path's bytes as latin-1, which Werkzeug reads back as UTF-8; a user id or
    campaign id with an accent is the same id in the path as in the token (it was mangled into U+FFFD)."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        created = client.post("/c1/entries", json={"fields": VALID_FIELDS}, headers=auth("josé-ñ"))
        assert created.status_code == 201, created.text
        mine = client.get("/users/josé-ñ/entries", headers=auth("josé-ñ"))  # httpx sends %C3%A9…
        assert mine.status_code == 200, mine.text
        assert [e["userId"] for e in mine.json()["entries"]] == ["josé-ñ"]
        missing = client.get("/café/entries", headers=auth("josé-ñ"))
        assert missing.status_code == 404 and "café" in missing.json()["message"], missing.text
        invalid = client.get("/caf%FF/entries", headers=auth("josé-ñ"))  # not UTF-8: an unknown campaign, no 500
        assert invalid.status_code == 404, invalid.text
    # the query string too, sent as raw UTF-8 bytes (httpx would percent-encode it)
    token = make_token("admin-1", True)
    for target in (b"/c1/entries/verified?market=caf\xc3\xa9", b"/c1/entries/verified?market=%C3%A9&limit=\xff"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode())
            sock.sendall(b"\r\nConnection: close\r\n\r\n")
            status = sock.recv(64).split(b" ")[1]
        assert status in (b"200", b"400"), (target, status)


def test_PHN_010_parallel_wrong_phone_tokens_never_pass_the_limit(server: ServeProcess) -> None:
    """Twelve wrong phone tokens at once, across both workers: exactly five are judged (400), the rest get 429 —
    the limit is checked and the attempt recorded in one atomic step."""
    fan = auth("brute-1")
    with httpx.Client(base_url=server.url, timeout=20) as client:
        fields = {**VALID_FIELDS, "phone": "+12125550188"}
        assert client.post("/ppc/entries", json={"fields": fields}, headers=fan).status_code == 201

    def confirm(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            answer = client.post("/ppc/entries/confirm", json={"phoneJwt": "not.a.token"}, headers=fan)
            return answer.status_code, answer.json()["code"]

    with ThreadPoolExecutor(12) as pool:
        answers = sorted(pool.map(confirm, range(12)))
    assert answers == [(400, "INVALID_PHONE_TOKEN")] * 5 + [(429, "TOO_MANY_ATTEMPTS")] * 7


def test_concurrent_first_posts_make_one_entry(server: ServeProcess) -> None:
    def post(_: int) -> int:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            return client.post("/c1/entries", json={"fields": VALID_FIELDS}, headers=auth("racer")).status_code

    with ThreadPoolExecutor(16) as pool:
        statuses = list(pool.map(post, range(16)))
    assert sorted(statuses) == [200] * 15 + [201]
    entries = httpx.get(f"{server.url}/users/racer/entries", headers=auth("racer"), timeout=10).json()["entries"]
    assert len(entries) == 1


def test_a_lost_metrics_folder_never_fails_a_request(tmp_path: Path) -> None:
    """Metrics are best effort: with serve's metrics folder gone (a cleanup, a full disk), registrations are still
    stored and answered, and /metrics still answers, logging that the counts restart with serve."""
    process = ServeProcess(tmp_path).start()
    try:
        shutil.rmtree(tmp_path / "data" / "metrics")
        with httpx.Client(base_url=process.url, timeout=10) as client:
            for k in range(4):  # both workers, each at its first counter and histogram
                created = client.post("/c1/entries", json={"fields": VALID_FIELDS}, headers=auth(f"m-{k}"))
                assert created.status_code == 201, created.text
                assert created.json()["userId"] == f"m-{k}"
            assert client.get("/metrics").status_code == 200
            assert len(client.get("/users/m-0/entries", headers=auth("m-0")).json()["entries"]) == 1
    finally:
        process.stop()
    log = process.log.read_text()
    assert "metrics not recorded" in log and "metrics folder" in log and "was removed" in log


def test_data_folder_is_private(server: ServeProcess) -> None:
    data = server.folder / "data"
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert stat.S_IMODE((data / "entries.db").stat().st_mode) == 0o600


def test_bad_configuration_stops_serve_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ENTRY_STORE": "postgres://x", "ENTRY_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [str(SCRIPT), "serve", "--port", "0"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    assert "ENTRY_STORE" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_token_command_signs_with_the_generated_secret(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENTRY_")}
    env["ENTRY_DATA_DIR"] = str(tmp_path / "data")
    token = subprocess.run(
        [str(SCRIPT), "token", "--user", "fan-9", "--supreme"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()
    again = subprocess.run(
        [str(SCRIPT), "token", "--user", "fan-9"], env=env, capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()
    secrets_file = tmp_path / "data" / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    secret = json.loads(secrets_file.read_text())["authSecret"]
    assert jwt.decode(token, secret, algorithms=["HS256"])["isSupreme"] is True
    assert jwt.decode(again, secret, algorithms=["HS256"])["isSupreme"] is False


def test_sigterm_answers_the_requests_in_flight_then_exits_0(tmp_path: Path) -> None:
    """SIGTERM stops serve gracefully: requests already being handled (here a fraud check taking 0.8 s) are
    answered and stored before the process exits with status 0."""
    with LoopbackServer() as nudetect:
        nudetect.answer("/score", Answer(body=b'{"score": 1}', delay=0.8), method="POST")
        process = ServeProcess(tmp_path, workers=1, ENTRY_FRAUD=f"{nudetect.url}/score").start()
        assert process.process is not None
        answers: list[int] = []

        def register(n: int) -> None:
            fields = {**VALID_FIELDS, "phone": f"+1212555{n:04d}"}
            answer = httpx.post(f"{process.url}/c1/entries", json={"fields": fields}, headers=auth(f"term-{n}"))
            answers.append(answer.status_code)

        with ThreadPoolExecutor(4) as pool:
            for n in range(4):
                pool.submit(register, n)
            time.sleep(0.3)  # the four are in the app, waiting for Nudetect
            os.killpg(process.process.pid, signal.SIGTERM)
            status = process.process.wait(timeout=20)
    assert answers == [201] * 4 and status == 0
    restarted = ServeProcess(tmp_path, workers=1).start()
    try:
        for n in range(4):
            assert httpx.get(f"{restarted.url}/c1/entries", headers=auth(f"term-{n}"), timeout=10).status_code == 200
    finally:
        restarted.stop()


def test_a_port_in_use_is_one_line_and_a_non_zero_exit_at_once(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = ServeProcess(tmp_path)
        started = time.monotonic()
        done = subprocess.run(
            [str(SCRIPT), "serve", "--port", str(port)],
            cwd=tmp_path,
            env=process.env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert done.returncode != 0 and time.monotonic() - started < 10
    lines = done.stderr.strip().splitlines()
    assert lines == [f"Error: cannot listen on 127.0.0.1:{port}: Address already in use"], done.stderr


def test_sigterm_releases_the_relays_claimed_messages(tmp_path: Path) -> None:
    """API.md §6: after SIGTERM the relay's claimed messages are delivered or released — none is left leased
    (another relay would wait out the 30 s lease). Six receipts are pending when serve starts, so its relay claims
    them in one batch; the email service takes 0.5 s for each, so the signal comes in the middle of the batch."""
    store = SqliteEntryStore(tmp_path / "data" / "entries.db")  # serve's store (ENTRY_DATA_DIR is tmp_path/data)
    now = datetime.now(UTC)
    for n in range(6):
        entry = an_entry("c1", f"mail-{n}", phone=f"+1212555{n:04d}")
        store.create(entry, [receipt(entry, f"receipt-{n}", now)])
    store.close()
    with LoopbackServer() as sfmc:
        sfmc.answer("/send", Answer(body=b"{}", delay=0.5), method="POST")
        process = ServeProcess(tmp_path, workers=1, ENTRY_RECEIPTS=f"{sfmc.url}/send").start()
        assert process.process is not None
        deadline = time.monotonic() + 10
        while not sfmc.requests_to("/send", "POST") and time.monotonic() < deadline:
            time.sleep(0.02)
        os.killpg(process.process.pid, signal.SIGTERM)
        assert process.process.wait(timeout=20) == 0
        sent = len(sfmc.requests_to("/send", "POST"))
    assert 1 <= sent < 6
    store = SqliteEntryStore(tmp_path / "data" / "entries.db")
    try:
        with store.database.reading() as conn:
            leased = conn.execute("SELECT count(*) FROM outbox WHERE lease_owner IS NOT NULL").fetchone()[0]
            waiting = conn.execute("SELECT count(*) FROM outbox WHERE kind = 'receipt'").fetchone()[0]
    finally:
        store.close()
    assert leased == 0  # none waits out a lease: the next relay takes them at once
    assert waiting == 6 - sent


def test_sigterm_under_load_loses_no_answered_registration(tmp_path: Path) -> None:
    """SIGTERM while six clients register without pause: serve exits 0, every registration it answered is
    stored, and no outbox message is left leased by its relays."""
    process = ServeProcess(tmp_path, workers=2).start()
    assert process.process is not None
    answered: list[str] = []
    stop = threading.Event()

    def fan(worker: int) -> None:
        with httpx.Client(base_url=process.url, timeout=10) as client:
            for n in itertools.count():
                if stop.is_set():
                    return
                user = f"load-{worker}-{n}"
                fields = {**VALID_FIELDS, "phone": f"+1212{worker}{n:06d}"}
                try:
                    answer = client.post("/c1/entries", json={"fields": fields}, headers=auth(user))
                except httpx.HTTPError:
                    return  # the server has stopped listening
                if answer.status_code == 201:
                    answered.append(user)

    threads = [threading.Thread(target=fan, args=(w,)) for w in range(6)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    os.killpg(process.process.pid, signal.SIGTERM)
    assert process.process.wait(timeout=30) == 0
    stop.set()
    for thread in threads:
        thread.join()
    assert len(answered) >= 20
    store = SqliteEntryStore(tmp_path / "data" / "entries.db")
    try:
        for user in answered:
            assert store.get("c1", user) is not None, user
        with store.database.reading() as conn:
            assert conn.execute("SELECT count(*) FROM outbox WHERE lease_owner IS NOT NULL").fetchone()[0] == 0
    finally:
        store.close()
