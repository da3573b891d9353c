"""End to end: scoring and selection through the real ``entry-service serve`` and the real CLI on one SQLite store —
fans register and confirm over HTTP, the CLI uploads scores, HTTP answers the counts and the list, codes reach
the event sink through the serve process's relay, the CLI exports the ranked list and lists the audit trail."""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator

import httpx
import jwt
import pytest

from tests.builders import VALID_FIELDS
from tests.e2e.serve import ServeProcess, run_cli
from tests.http_app import PHONE_SECRET, make_token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    process = ServeProcess(tmp_path_factory.mktemp("serve-selection"), workers=2).start()
    yield process
    process.stop()


def test_scores_counts_lists_codes_export_and_audit(server: ServeProcess) -> None:
    admin = {"Authorization": f"Bearer {make_token('admin-1', supreme=True)}"}
    with httpx.Client(base_url=server.url, timeout=30) as client:
        for k, market in enumerate(["nyc", "bos", "nyc"], start=1):
            phone = f"+1212555{k:04d}"
            fan = {"Authorization": f"Bearer {make_token(f'e{k}')}"}
            fields = {**VALID_FIELDS, "phone": phone, "market": market, "optional_markets": []}
            assert client.post("/ppc/entries", json={"fields": fields}, headers=fan).status_code == 201
            token = jwt.encode({"phone": phone, "campaignId": "ppc", "exp": int(time.time()) + 600}, PHONE_SECRET)
            assert client.post("/ppc/entries/confirm", json={"phoneJwt": token}, headers=fan).status_code == 200
        scores = server.folder / "scores.csv"
        scores.write_text("phone,score\n+12125550001,10\n+12125550002,30\n+12125550003,20\n+12125550009,99\n")
        uploaded = run_cli("scoring", "upload", str(scores), "--campaign", "ppc", folder=server.folder, env=server.env)
        assert uploaded.returncode == 0, uploaded.stderr
        assert json.loads(uploaded.stdout)["inserted"] == 3 and json.loads(uploaded.stdout)["unmatched"] == 1

        counts = client.get("/ppc/entries/eligibility", headers=admin).json()
        assert (counts["total"], counts["available"]) == (3, 3)
        listed = client.get("/ppc/entries/scoring?marketIds=nyc", headers=admin).json()
        assert [r["userId"] for r in listed["list"]] == ["e3", "e1"] and listed["counts"] == {"total": 2}
        codes = [{"userId": "e2", "code": "GOLD", "date": {"start": "2020-01-01T00:00:00Z"}}]
        assert client.post("/ppc/entries/codes", json=codes, headers=admin).json()["assigned"] == 1
        fan2 = {"Authorization": f"Bearer {make_token('e2')}"}
        assert client.get("/ppc/entries", headers=fan2).json()["presaleCode"] == "GOLD"

    events = server.folder / "data" / "events.jsonl"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "entry.codes_assigned" not in (events.read_text() if events.exists() else ""):
        time.sleep(0.1)
    assert [
        json.loads(line)["entry"]["userId"] for line in events.read_text().splitlines() if "codes_assigned" in line
    ] == ["e2"]
    exported = run_cli("selection", "export", "--campaign", "ppc", folder=server.folder, env=server.env)
    assert exported.returncode == 0, exported.stderr
    assert [row["userId"] for row in csv.DictReader(io.StringIO(exported.stdout))] == ["e3", "e1"]  # e2 selected
    audit = run_cli("audit", "list", "--campaign", "ppc", folder=server.folder, env=server.env)
    assert [line.split("\t")[2] for line in audit.stdout.splitlines()[1:]] == ["entries.codes", "scoring.upload"]
