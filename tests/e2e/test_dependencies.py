"""End to end through ``entry-service serve``: a slow or failing dependency does not slow fans down or delay
other channels (SPEC PUB-002, PUB-005, PUB-007)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests.aws_server import AwsServer, read_stream
from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess, free_port, run_cli
from tests.http_app import make_token
from tests.loopback import Answer, LoopbackServer, Received

pytestmark = pytest.mark.e2e


def auth(user: str, supreme: bool = False) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(user, supreme)}"}


def wait_for(check: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout} s")


def fields(n: int) -> dict[str, Any]:
    return {**VALID_FIELDS, "phone": f"+1212555{n:04d}"}


def fraud_of(server: ServeProcess, user: str) -> dict[str, Any]:
    answer = httpx.get(f"{server.url}/users/{user}/entries", headers=auth("boss", True), timeout=10)
    (entry,) = answer.json()["entries"]
    return entry["fraud"]  # type: ignore[no-any-return]


class Nudetect:
    """A loopback Nudetect that sleeps past the fan's timeout while ``slow``, else scores at once."""

    def __init__(self, loopback: LoopbackServer) -> None:
        self.slow = True
        self.asked = 0
        self._lock = threading.Lock()
        loopback.handle("/score", self._answer, method="POST")

    def _answer(self, request: Received) -> Answer:
        with self._lock:
            self.asked += 1
        if self.slow:
            return Answer(body=b'{"score": 42}', delay=5.0)
        return Answer(body=b'{"score": 42}')


def test_PUB_007_a_slow_fraud_service_is_skipped_once_its_circuit_opens_and_scores_are_filled_later(
    tmp_path: Path,
) -> None:
    with LoopbackServer() as loopback:
        nudetect = Nudetect(loopback)
        server = ServeProcess(
            tmp_path,
            workers=1,
            ENTRY_FRAUD=f"{loopback.url}/score",
            ENTRY_ENRICHMENT_TIMEOUT="0.5",
            ENTRY_BREAKER_FAILURES="3",
            ENTRY_BREAKER_COOLDOWN="6",
        ).start()
        try:
            with httpx.Client(base_url=server.url, timeout=20) as client:
                took = []
                for n in range(20):
                    started = time.monotonic()
                    answer = client.post("/c1/entries", json={"fields": fields(n)}, headers=auth(f"fan-{n}"))
                    took.append(time.monotonic() - started)
                    assert answer.status_code == 201, answer.text
                assert nudetect.asked == 3  # then the circuit opened: nobody else waited for Nudetect
                assert sum(took[3:]) < 5.0  # 17 x 0.5 s had they waited: a bound that only catches waiting
                for n in range(20):  # every entry saved unscored (never a pass, PUB-003) ...
                    assert fraud_of(server, f"fan-{n}") == {"score": None, "status": "unknown"}

                nudetect.slow = False  # healthy again: after the cool-down, probes (unwaited) go through
                time.sleep(6.5)
                for n in range(20, 30):
                    assert client.post("/c1/entries", json={"fields": fields(n)}, headers=auth(f"fan-{n}")).is_success
                    time.sleep(0.1)
                assert fraud_of(server, "fan-29") == {"score": 42.0, "status": "scored"}  # closed: waited for again
                unscored = [n for n in range(30) if fraud_of(server, f"fan-{n}")["status"] == "unknown"]
                assert set(range(20)) <= set(unscored)
            log = server.log.read_text()
            assert "circuit of Nudetect open" in log and "circuit of Nudetect closed" in log
        finally:
            server.stop()
        # ... with a retry queued for each: the worker fills the scores now that Nudetect answers.
        worker = run_cli("worker", "--once", folder=tmp_path, env=server.env)
        assert worker.returncode == 0, worker.stderr
        assert f"{len(unscored)} refreshed, 0 still failing" in worker.stdout
        restarted = ServeProcess(tmp_path, workers=1, ENTRY_FRAUD=f"{loopback.url}/score").start()
        try:
            for n in range(30):
                assert fraud_of(restarted, f"fan-{n}") == {"score": 42.0, "status": "scored"}
        finally:
            restarted.stop()


@pytest.fixture
def moto_port() -> Iterator[int]:
    yield free_port()


def start_moto(port: int) -> ThreadedMotoServer:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def test_PUB_002_a_kinesis_outage_delays_no_receipt_and_the_backlog_drains_in_seconds_once_it_is_back(
    tmp_path: Path, moto_port: int
) -> None:
    aws = AwsServer(f"http://127.0.0.1:{moto_port}")
    moto = start_moto(moto_port)
    kinesis = aws.client("kinesis", retries={"mode": "standard", "total_max_attempts": 1})
    kinesis.create_stream(StreamName="campaign-data", ShardCount=1)
    server = ServeProcess(
        tmp_path, workers=1, ENTRY_EVENTS="kinesis:campaign-data", **aws.env(tmp_path / "aws-home")
    ).start()
    receipts = tmp_path / "data" / "receipts.jsonl"

    def receipt_users() -> set[str]:
        return (
            {json.loads(line)["userId"] for line in receipts.read_text().splitlines()} if receipts.exists() else set()
        )

    try:
        with httpx.Client(base_url=server.url, timeout=20) as client:
            assert client.post("/c1/entries", json={"fields": fields(0)}, headers=auth("before")).status_code == 201
            wait_for(lambda: len(read_stream(kinesis, "campaign-data")) == 1, 10)

            moto.stop()  # the stream is gone: Kinesis is down
            fans = [f"during-{n}" for n in range(20)]
            for n, fan in enumerate(fans):
                assert client.post("/c1/entries", json={"fields": fields(n + 1)}, headers=auth(fan)).status_code == 201
            wait_for(lambda: set(fans) <= receipt_users(), 10)  # receipts went out during the outage
            status = client.get("/outbox", headers=auth("boss", True)).json()
            assert status["backlog"] == 20 and status["deadLetters"] == 0  # the events wait for the stream
            time.sleep(8)  # a longer outage: the relay keeps probing, counting nothing against the events

            moto = start_moto(moto_port)  # back on the same address (moto keeps its streams in the process)
            drained = wait_for(lambda: client.get("/outbox", headers=auth("boss", True)).json()["backlog"] == 0, 30)
        events = [json.loads(data) for _, data in read_stream(kinesis, "campaign-data")]
        assert {e["entry"]["userId"] for e in events} >= set(fans)
        print(f"backlog of 20 events drained {drained:.2f} s after the stream was back")
        assert drained < 15, f"backlog drained {drained:.1f} s after the stream was back"
    finally:
        server.stop()
        kinesis.close()
        moto.stop()
