"""End to end: ``GET /{campaignId}/entries/scoring`` with ``Accept: text/csv`` through ``entry-service serve``
(granian, adapters_http.server.rsgi) is streamed — sent chunk by chunk as the store is read, not gathered
first — byte for byte the CLI export, and a client that goes away mid-export frees its thread (OPS-005)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.serve import ServeProcess, run_cli
from tests.http_app import make_api, make_token
from tests.integration.test_http_scoring import confirmed_fan, phone_of

pytestmark = pytest.mark.e2e

FANS = 1_200  # more than two chunks of adapters_http.scoring_csv.CHUNK_ROWS


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    folder = tmp_path_factory.mktemp("export")
    api = make_api(folder)
    for k in range(FANS):
        confirmed_fan(api, k, "nyc")
    records = [{"phone": phone_of(k), "score": k % 97} for k in range(FANS)]
    token = f"Bearer {make_token('admin-1', supreme=True)}"
    answer = api.client.post("/ppc/entries/scoring", json={"records": records}, headers={"Authorization": token})
    assert answer.get_json()["inserted"] == FANS
    api.services.close()
    process = ServeProcess(folder, workers=1).start()
    yield process
    process.stop()


def export(server: ServeProcess) -> httpx.Response:
    headers = {"Authorization": f"Bearer {make_token('admin-1', supreme=True)}", "Accept": "text/csv"}
    return httpx.get(f"{server.url}/ppc/entries/scoring", headers=headers, timeout=30)


def test_the_csv_export_is_streamed_and_the_cli_exports_bytes(server: ServeProcess, tmp_path: Path) -> None:
    answer = export(server)
    assert answer.status_code == 200 and answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers.get("transfer-encoding") == "chunked" and "content-length" not in answer.headers
    assert answer.content.count(b"\n") == FANS + 1
    out = tmp_path / "export.csv"
    done = run_cli("selection", "export", "--campaign", "ppc", "-o", str(out), folder=server.folder, env=server.env)
    assert done.returncode == 0, done.stderr
    assert answer.content == out.read_bytes()


def test_a_client_gone_mid_export_frees_its_thread(server: ServeProcess) -> None:
    token = make_token("admin-1", supreme=True)
    for _ in range(12):  # more than the worker's threads: each must have been given back
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(
                b"GET /ppc/entries/scoring HTTP/1.1\r\nHost: x\r\nAccept: text/csv\r\n"
                b"Authorization: Bearer " + token.encode() + b"\r\n\r\n"
            )
            assert sock.recv(1024).startswith(b"HTTP/1.1 200")
    assert export(server).content.count(b"\n") == FANS + 1
    assert httpx.get(f"{server.url}/heartbeat", timeout=10).status_code == 200
