"""API.md §5 ``GET /metrics`` on the real ``entry-service serve`` with two workers: the request histogram by route
template, method and status sums every worker's requests, and the outbox gauges are there."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess
from tests.http_app import make_token

pytestmark = pytest.mark.e2e
CREATED = 'entry_http_request_duration_seconds_count{method="POST",route="/{campaignId}/entries",status="201"}'


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("serve-metrics"), workers=2).start()
    yield process
    process.stop()


def value(text: str, sample: str) -> float:
    found = re.search(re.escape(sample) + r" ([0-9.e+]+)", text)
    assert found, f"{sample} not in /metrics"
    return float(found.group(1))


def test_metrics_sum_every_worker_and_show_the_outbox(server: ServeProcess) -> None:
    fans = 40
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for k in range(fans):  # a connection each: the workers share them
            fan = {"Authorization": f"Bearer {make_token(f'm{k}')}", "Connection": "close"}
            answer = client.post("/c1/entries", json={"fields": {**VALID_FIELDS}}, headers=fan)
            assert answer.status_code == 201
        assert client.get("/c1/entries/nope", headers={"Connection": "close"}).status_code in (401, 404)
        scraped = [client.get("/metrics", headers={"Connection": "close"}) for _ in range(6)]
    for answer in scraped:
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
        assert value(answer.text, CREATED) == fans  # every worker's requests, whichever worker answers
        assert value(answer.text, 'entry_registrations_total{outcome="created"}') == fans
        assert "entry_outbox_backlog " in answer.text and "entry_outbox_dead_letters " in answer.text
        assert (
            'entry_http_request_duration_seconds_bucket{le="0.005",method="POST",route="/{campaignId}/entries"'
            in answer.text
        )
    assert "/c1/entries/nope" not in scraped[-1].text  # routes are templates, never raw paths
    # both workers answered requests (each keeps its histograms in a file of its own): the sums above are theirs
    assert len(list((server.folder / "data" / "metrics").glob("histogram_*.db"))) == 2
