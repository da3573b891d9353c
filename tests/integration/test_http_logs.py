"""Every log line a request causes carries its correlation id, those written on pool threads too (OPS-001),
and outbound calls add no line of their own (no httpx INFO line per call)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from entry_service.logs import JsonFormatter, configure_logging
from tests.builders import VALID_FIELDS
from tests.http_app import make_api
from tests.loopback import LoopbackServer


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """The JSON lines every logger writes while the test runs, as the service configures them."""
    root = logging.getLogger()
    before = (list(root.handlers), root.level, logging.getLogger("httpx").level)
    configure_logging()
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    root.handlers[:] = [handler]
    yield lines
    root.handlers[:], level, httpx_level = before
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(httpx_level)


def test_every_log_line_of_a_registration_whose_fraud_check_fails_carries_its_correlation_id(
    tmp_path: Path, loopback: LoopbackServer, captured: io.StringIO
) -> None:
    loopback.fail("/nudetect", status=500, method="POST")
    api = make_api(tmp_path, ENTRY_FRAUD=f"{loopback.url}/nudetect")
    try:
        answer = api.register(VALID_FIELDS, headers={"X-Correlation-Id": "fan-trace-7"})
        assert answer.status_code == 201 and answer.headers["X-Correlation-Id"] == "fan-trace-7"
        assert loopback.hits("/nudetect", method="POST") == 1
    finally:
        api.services.close()
    lines = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert any("nudetect" in line["message"] and "HTTP 500" in line["message"] for line in lines), lines
    assert {line["correlationId"] for line in lines} == {"fan-trace-7"}  # the pool thread's line included
    assert not any(line["logger"].startswith(("httpx", "httpcore")) for line in lines)
