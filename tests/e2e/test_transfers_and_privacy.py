"""End to end through the real ``entry-service serve`` and the real CLI on one SQLite store: a market transfer
(HTTP and CLI), a batch replication and a user's erasure, their events reaching the event sink through the serve
process's relay."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess, run_cli
from tests.http_app import make_token
from tests.jsonl import json_lines

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("serve-transfers"), workers=2).start()
    yield process
    process.stop()


def published(server: ServeProcess, kind: str, count: int) -> list[dict[str, object]]:
    """The events of ``kind`` in the sink, once there are ``count`` of them (or after 15 s)."""
    path = server.folder / "data" / "events.jsonl"
    deadline = time.monotonic() + 15
    while True:
        found = [e for e in json_lines(path) if e["type"] == kind]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_transfer_batch_and_erasure(server: ServeProcess) -> None:
    admin = {"Authorization": f"Bearer {make_token('admin-1', supreme=True)}"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for k, (market, optional) in enumerate([("nyc", ["bos"]), ("bos", ["nyc"]), ("chi", [])], start=1):
            fan = {"Authorization": f"Bearer {make_token(f't{k}')}"}
            fields = {**VALID_FIELDS, "phone": f"+1212555{k:04d}", "market": market, "optional_markets": optional}
            assert client.post("/c1/entries", json={"fields": fields}, headers=fan).status_code == 201
        moved = client.post("/c1/entries/transfer", json={"fromMarketId": "nyc", "toMarketId": "phl"}, headers=admin)
        assert moved.status_code == 200 and moved.json() == {"modified": 2, "scoring": 0}
        t1 = {"Authorization": f"Bearer {make_token('t1')}"}
        assert client.get("/c1/entries", headers=t1).json()["markets"] == ["phl", "bos"]

        batch = {
            "entries": [{"campaignId": "c1", "userId": "r1", "fields": {**VALID_FIELDS, "phone": "+12125550091"}}],
            "deletions": [{"campaignId": "c1", "userId": "t3"}],
        }
        results = client.post("/v2/entries", json=batch, headers=admin).json()["results"]
        assert [(r["index"], r["ok"]) for r in results] == [(0, True), (1, True)]

        erased = client.delete("/users/t2", headers=admin)
        assert erased.json() == {"deleted": {"entries": 1, "scoring": 0}, "userId": "t2"}
        t2 = {"Authorization": f"Bearer {make_token('t2')}"}
        assert client.get("/c1/entries", headers=t2).status_code == 404

    cli = run_cli("transfer", "--campaign", "c1", "--from", "phl", "--to", "nyc", folder=server.folder, env=server.env)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == {"modified": 2, "scoring": 0}  # t1 [phl, bos] and r1 [nyc, bos, phl]

    transferred = published(server, "entry.transferred", 4)
    assert sorted(str(e["entry"]["userId"]) for e in transferred) == ["r1", "t1", "t1", "t2"]
    deleted = published(server, "entry.deleted", 2)
    assert sorted(str(e["entry"]["userId"]) for e in deleted) == ["t2", "t3"]
