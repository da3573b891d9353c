"""End to end (SPEC §12, issue 24's "Must show"): the real ``entry-service serve`` on SQLite with a drand chain of the
tests' own (``ENTRY_DRAND_CHAIN``) and a loopback drand relay (``ENTRY_DRAND_URL``). Fans register and confirm over
HTTP, the CLI uploads scores, an admin commits a draw over HTTP, the service fetches the round's signature from the
relay at the reveal; the results equal an independent recomputation from SPEC's formulas; a decline offers the unit
to the right waitlisted fan; ``entry-service draws verify`` says OK, and names the failing check for each tampering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest

from tests.builders import VALID_FIELDS
from tests.drand import TestChain
from tests.e2e.serve import ServeProcess, run_cli
from tests.http_app import PHONE_SECRET, make_token
from tests.loopback import Answer, LoopbackServer, Received

pytestmark = pytest.mark.e2e

CHAIN = TestChain(secret=0xD3A5, genesis=1_600_000_000, period=3)
ADMIN = {"Authorization": f"Bearer {make_token('admin-1', supreme=True)}"}
MARKETS = [("nyc", ["bos"]), ("bos", []), ("nyc", []), ("bos", ["nyc"]), ("nyc", ["bos"]), ("bos", ["nyc"])]


def fan(k: int) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(f'd{k}')}"}


def signed(request: Received) -> Answer:
    """The loopback relay's answer: the tests' chain signs whichever round is asked (a real relay: only past ones)."""
    round_number = int(request.path.rsplit("/", 1)[1])
    signature = CHAIN.sign(round_number)
    body = {"round": round_number, "signature": signature.hex(), "randomness": hashlib.sha256(signature).hexdigest()}
    return Answer(body=json.dumps(body).encode())


@pytest.fixture(scope="module")
def relay() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, relay: LoopbackServer) -> Iterator[ServeProcess]:
    process = ServeProcess(
        tmp_path_factory.mktemp("serve-draws"),
        workers=2,
        ENTRY_DRAND_CHAIN=CHAIN.setting,
        ENTRY_DRAND_URL=relay.url,
        ENTRY_DRAWS_INTERVAL="0.2",
    ).start()
    yield process
    process.stop()


def register_scored_fans(server: ServeProcess, client: httpx.Client) -> None:
    for k, (market, others) in enumerate(MARKETS):
        phone = f"+1212666{k:04d}"
        fields = {**VALID_FIELDS, "phone": phone, "market": market, "optional_markets": others}
        assert client.post("/ppc/entries", json={"fields": fields}, headers=fan(k)).status_code == 201
        token = jwt.encode({"phone": phone, "campaignId": "ppc", "exp": int(time.time()) + 600}, PHONE_SECRET)
        assert client.post("/ppc/entries/confirm", json={"phoneJwt": token}, headers=fan(k)).status_code == 200
    scores = server.folder / "draw-scores.csv"
    scores.write_text("phone,score\n" + "".join(f"+1212666{k:04d},{50 + k}\n" for k in range(len(MARKETS))))
    uploaded = run_cli("scoring", "upload", str(scores), "--campaign", "ppc", folder=server.folder, env=server.env)
    assert uploaded.returncode == 0, uploaded.stderr


def recomputed(entrants: bytes, seed: bytes, capacities: dict[str, int]) -> bytes:
    """SPEC DRW-002/003 written out again: HMAC lottery numbers, draw order, serial dictatorship, canonical lines."""
    lines = [json.loads(line) for line in entrants.splitlines()]
    number = {
        e["ticket"]: int.from_bytes(hmac.new(seed, e["ticket"].encode(), hashlib.sha256).digest(), "big") for e in lines
    }
    order = sorted(lines, key=lambda e: (number[e["ticket"]], e["ticket"]))
    left, out = dict(capacities), []
    for position, entrant in enumerate(order, 1):
        offer = next(((m, r) for r, m in enumerate(entrant["markets"]) if left.get(m, 0) > 0), (None, None))
        if offer[0] is not None:
            left[offer[0]] -= 1
        row = {"lottery": f"{number[entrant['ticket']]:064x}", "marketId": offer[0], "position": position}
        row |= {"rank": offer[1], "ticket": entrant["ticket"]}
        out.append(json.dumps(row, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    return b"".join(out)


def verify(server: ServeProcess, *args: str) -> tuple[int, str]:
    done = run_cli("draws", "verify", *args, folder=server.folder, env=server.env)
    return done.returncode, done.stdout + done.stderr


def test_DRW_a_draw_committed_revealed_rolled_and_verified_end_to_end(
    server: ServeProcess, relay: LoopbackServer, tmp_path: Path
) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        register_scored_fans(server, client)
        round_number = CHAIN.chain.first_round_at_or_after(time.time() + 11 * 60)
        relay.handle(f"/{CHAIN.chain.chain_hash}/public/{round_number}", signed)
        body = {"name": "Presale 1", "criteria": {}, "capacities": {"nyc": 2, "bos": 1}, "beaconRound": round_number}
        committed = client.post("/ppc/draws", json=body, headers=ADMIN)
        assert committed.status_code == 201, committed.text
        draw = committed.json()
        draw_id, commitment = draw["drawId"], draw["commitment"]
        assert draw["rules"]["beaconChain"] == CHAIN.public_key_hex and draw["reveal"] is None

        public = client.get(f"/ppc/draws/{draw_id}/entrants")  # no token
        assert public.status_code == 200 and public.headers["Access-Control-Allow-Origin"] == "*"
        assert public.headers["Content-Type"].startswith("application/x-ndjson")
        entrants = public.content
        assert hashlib.sha256(entrants).hexdigest() == draw["rules"]["entrantsHash"]
        etag = public.headers["ETag"]
        assert client.get(f"/ppc/draws/{draw_id}/entrants", headers={"If-None-Match": etag}).status_code == 304
        packed = client.get(f"/ppc/draws/{draw_id}/entrants", headers={"Accept-Encoding": "gzip"})
        assert packed.headers.get("Content-Encoding") == "gzip" and packed.content == entrants  # httpx decodes
        mine = client.get("/ppc/entries", headers=fan(0)).json()["draws"]
        assert mine[0]["status"] == "committed" and mine[0]["ticket"].encode() in entrants
        assert client.get(f"/ppc/draws/{draw_id}/results").json()["code"] == "DRAW_NOT_REVEALED"

        revealed = client.post(f"/ppc/draws/{draw_id}/reveal", json={}, headers=ADMIN)  # the relay's signature
        assert revealed.status_code == 200, revealed.text
        document = revealed.json()
        assert document["status"] == "revealed" and document["reveal"]["beacon"]["round"] == round_number
        results = client.get(f"/ppc/draws/{draw_id}/results").content
        assert results == recomputed(entrants, bytes.fromhex(document["reveal"]["drawSeed"]), {"bos": 1, "nyc": 2})
        seed = hashlib.sha256(bytes.fromhex(document["reveal"]["beacon"]["randomness"]) + bytes.fromhex(commitment))
        assert seed.hexdigest() == document["reveal"]["drawSeed"]

        rows = [json.loads(line) for line in results.splitlines()]
        tickets = {}
        for k in range(len(MARKETS)):
            (item,) = client.get("/ppc/entries", headers=fan(k)).json()["draws"]
            tickets[item["ticket"]] = (k, item)
        holder = next(r for r in rows if r["marketId"] == "nyc")
        waiting = [r for r in rows if r["marketId"] is None]
        ranked = {json.loads(x)["ticket"]: json.loads(x)["markets"] for x in entrants.splitlines()}
        expected = next(r["ticket"] for r in waiting if "nyc" in ranked[r["ticket"]])
        k, _ = tickets[holder["ticket"]]
        declined = client.post(f"/ppc/draws/{draw_id}/decline", json={}, headers=fan(k))
        assert declined.status_code == 200 and declined.json()["status"] == "declined", declined.text
        taker, _ = tickets[expected]
        (now_offered,) = client.get("/ppc/entries", headers=fan(taker)).json()["draws"]
        assert (now_offered["status"], now_offered["marketId"]) == ("offered", "nyc")
        again = client.post(f"/ppc/draws/{draw_id}/decline", json={}, headers=fan(k))
        assert again.status_code == 409 and again.json()["code"] == "OFFER_NOT_OPEN"
        rolls = client.get(f"/ppc/draws/{draw_id}/rolls").content
        assert json.loads(rolls)["offeredTo"] == expected
        final = client.get(f"/ppc/draws/{draw_id}").json()
        for path in (f"/ppc/draws/{draw_id}", f"/ppc/draws/{draw_id}/entrants", "/ppc/draws"):
            text = client.get(path).text + results.decode() + rolls.decode()
            assert (
                not any(f'"d{k}"' in text for k in range(len(MARKETS)))
                and "@example.com" not in text
                and "+1212666" not in text
            )

    url = ["--url", server.url, "--campaign", "ppc", "--draw", draw_id]
    status, said = verify(server, *url, "--allow-chain", CHAIN.public_key_hex, "--commitment", commitment)
    assert status == 0 and said.splitlines()[0] == "OK" and "6 entrants, 1 rolls recomputed" in said
    status, said = verify(server, *url)
    assert status == 1 and said.startswith("FAIL beacon chain")

    files = {"draw": json.dumps(final).encode(), "entrants": entrants, "results": results, "rolls": rolls}

    def tampered(check: str, **changes: bytes) -> None:
        paths = []
        for name in ("draw", "entrants", "results", "rolls"):
            path = tmp_path / f"{check.replace(' ', '-')}-{name}"
            path.write_bytes(changes.get(name, files[name]))
            paths.append(str(path))
        status, said = verify(
            server,
            *paths,
            "--allow-chain",
            CHAIN.public_key_hex,
            "--commitment",
            changes.get("c", commitment.encode()).decode(),
        )
        assert status == 1 and said.startswith(f"FAIL {check}:"), (check, said)

    result_lines = results.splitlines(keepends=True)
    tampered("draw order", results=b"".join([result_lines[1], result_lines[0], *result_lines[2:]]))
    first = json.loads(result_lines[0])
    first["marketId"] = "bos" if first["marketId"] != "bos" else "nyc"
    edited = json.dumps(first, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    tampered("allocation", results=b"".join([edited, *result_lines[1:]]))
    signature = bytes.fromhex(final["reveal"]["beacon"]["signature"])
    bad = {
        **final,
        "reveal": {
            **final["reveal"],
            "beacon": {
                **final["reveal"]["beacon"],
                "signature": (signature[:5] + bytes([signature[5] ^ 1]) + signature[6:]).hex(),
            },
        },
    }
    tampered("beacon signature", draw=json.dumps(bad).encode())
    more = {**final, "rules": {**final["rules"], "capacities": {"bos": 1, "nyc": 3}}}
    tampered("commitment", draw=json.dumps(more).encode())
    roll = json.loads(rolls)
    roll["offeredTo"] = next(t for t in ranked if t not in (roll["offeredTo"], roll["released"]))
    tampered("roll", rolls=json.dumps(roll, sort_keys=True, separators=(",", ":")).encode() + b"\n")
    tampered("recorded commitment", c=b"0" * 64)

    events = server.folder / "data" / "events.jsonl"
    receipts = server.folder / "data" / "receipts.jsonl"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "entry.offered" not in (receipts.read_text() if receipts.exists() else "") + (
        events.read_text() if events.exists() else ""
    ):
        time.sleep(0.1)
    kinds = [json.loads(x)["type"] for x in events.read_text().splitlines()]
    assert {"draw.committed", "draw.revealed", "entry.offered", "entry.offer_ended"} <= set(kinds)
    committed_event = next(json.loads(x) for x in events.read_text().splitlines() if '"draw.committed"' in x)
    assert committed_event["draw"]["commitment"] == commitment
    notices = [json.loads(x) for x in receipts.read_text().splitlines() if '"offer"' in x]
    assert len(notices) >= 4 and all(n["kind"] == "offer" and n["drawId"] == draw_id for n in notices)
