"""Integration fixtures: a loopback HTTP peer, and a check that a test leaves no thread behind."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from adapters_http.clients.deadline import make_client
from tests.loopback import LoopbackServer


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A started LoopbackServer, stopped after the test."""
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="session")
def http_client() -> Iterator[httpx.Client]:
    """One httpx client for the session, to inject into adapters (making one costs ~0.1 s: TLS setup); made
    like the adapters' own, so that calls through it keep their total deadline (PUB-007)."""
    with make_client(httpx.Timeout(5.0)) as client:
        yield client


@pytest.fixture
def no_thread_leaks() -> Iterator[None]:
    """Fails the test if it leaves threads running (use with ``pytest.mark.usefixtures``)."""
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 2.0
    while (left := set(threading.enumerate()) - before) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not left, f"threads left running: {sorted(t.name for t in left)}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The fuzzing totals, when tests/integration/test_fuzz.py ran in this process (``python3 run.py fuzz``)."""
    fuzz = next(
        (m for name, m in list(sys.modules.items()) if name.endswith("test_fuzz") and hasattr(m, "CALLS")), None
    )
    if fuzz is not None and fuzz.CALLS:
        terminalreporter.write_line(fuzz.summary())
