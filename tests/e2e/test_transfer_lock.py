"""MKT-003's one-at-a-time rule end to end: a process that took the campaign's transfer lock in the real serve's
SQLite file and died without releasing it makes the real ``serve`` (either worker) answer 409
TRANSFER_IN_PROGRESS in the envelope and the real CLI exit non-zero, moving nothing; once the dead holder's lease
has lapsed, the transfer runs."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess, run_cli
from tests.http_app import make_token

pytestmark = pytest.mark.e2e
LEASE = 8.0  # the dead holder's, in seconds: longer than the refusals below take on a busy machine


@pytest.fixture
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("serve-transfer-lock"), workers=2).start()
    yield process
    process.stop()


def die_holding_the_lock(server: ServeProcess) -> None:
    """Another process takes ``transfer:c1`` for LEASE seconds and exits without releasing it."""
    script = textwrap.dedent(
        f"""
        from datetime import UTC, datetime, timedelta
        from adapters_sqlite import open_sqlite
        stores = open_sqlite({str(server.folder / "data" / "entries.db")!r})
        now = datetime.now(UTC)
        assert stores.locks.take_lock("transfer:c1", "a process that died", now, now + timedelta(seconds={LEASE}))
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)


def test_MKT_003_a_dead_holders_lock_refuses_transfers_until_it_lapses(server: ServeProcess) -> None:
    admin = {"Authorization": f"Bearer {make_token('admin-1', supreme=True)}"}
    fan = {"Authorization": f"Bearer {make_token('lock-1')}"}
    body = {"fromMarketId": "nyc", "toMarketId": "phl"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        fields = {**VALID_FIELDS, "phone": "+12125550071", "market": "nyc", "optional_markets": []}
        assert client.post("/c1/entries", json={"fields": fields}, headers=fan).status_code == 201
        die_holding_the_lock(server)
        taken = time.monotonic()
        for _ in range(4):  # both workers
            refused = client.post("/c1/entries/transfer", json=body, headers=admin)
            assert refused.status_code == 409
            assert refused.json()["code"] == "TRANSFER_IN_PROGRESS" and refused.json()["status"] == 409
        cli = run_cli(
            "transfer", "--campaign", "c1", "--from", "nyc", "--to", "phl", folder=server.folder, env=server.env
        )
        assert cli.returncode != 0 and "TRANSFER_IN_PROGRESS" in cli.stderr, cli.stderr
        assert client.get("/c1/entries", headers=fan).json()["markets"] == ["nyc"]
        time.sleep(max(0.0, LEASE - (time.monotonic() - taken)) + 0.5)
        moved = client.post("/c1/entries/transfer", json=body, headers=admin)
        assert moved.status_code == 200 and moved.json() == {"modified": 1, "scoring": 0}
    again = run_cli(
        "transfer", "--campaign", "c1", "--from", "nyc", "--to", "phl", folder=server.folder, env=server.env
    )
    assert again.returncode == 0 and json.loads(again.stdout) == {"modified": 0, "scoring": 0}
