"""End to end: 32 fans race to confirm one phone against the real server with 2 workers (SPEC PHN-003)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess
from tests.http_app import PHONE_SECRET, make_token

pytestmark = pytest.mark.e2e
FANS = 32


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("serve-phones"), workers=2).start()
    yield process
    process.stop()


def test_PHN_003_32_concurrent_confirmations_one_winner(server: ServeProcess) -> None:
    phone = "+12125550142"
    token = jwt.encode({"phone": phone, "campaignId": "ppc", "exp": int(time.time()) + 600}, PHONE_SECRET)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for i in range(FANS):
            headers = {"Authorization": f"Bearer {make_token(f'racer-{i}')}"}
            answer = client.post("/ppc/entries", json={"fields": {**VALID_FIELDS, "phone": phone}}, headers=headers)
            assert answer.status_code == 201, answer.text
    statuses: list[int] = []
    start = threading.Barrier(FANS)

    def race(i: int) -> None:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            headers = {"Authorization": f"Bearer {make_token(f'racer-{i}')}"}
            start.wait()
            statuses.append(client.post("/ppc/entries/confirm", json={"phoneJwt": token}, headers=headers).status_code)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(FANS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * (FANS - 1)
    receipts = server.folder / "data" / "receipts.jsonl"
    deadline = time.monotonic() + 10  # the relay thread of serve delivers the one receipt
    while time.monotonic() < deadline and not receipts.exists():
        time.sleep(0.1)
    lines = [json.loads(line) for line in receipts.read_text().splitlines()]
    assert [line["campaignId"] for line in lines] == ["ppc"]
