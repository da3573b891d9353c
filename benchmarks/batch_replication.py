"""Batch replication at bulk speed (SPEC USR-004, issue 22): ``POST /v2/entries`` through the real ``entry-service
serve`` on SQLite, target ≥ 5,000 entries/s at 1,000 items a request.

Phases, each ``--entries`` (20,000) items sent as ``--items`` (1,000)-item requests by ``--clients`` (4) clients
at once, each client on its own keep-alive connection:

  create   replica saves of new fans (distinct valid emails and phones, ranked markets)
  update   replica saves of the same fans again (a changed name and markets: ``entry.updated``)
  mixed    half updates, half deletions of the same fans (deletions: ``entry.deleted``, scoring records erased)

For each phase: entries/s (items answered ok over the phase's wall time), each request's p50 / p99 / max, and
PASS/FAIL against 5,000/s. Before each phase it waits (``--wait-idle``, up to 120 s) for other work to leave the
CPUs, and shows the CPU share of serve and of everything else during the phase (a shared machine skews figures),
and the CPU seconds of each of serve's processes (how the load spread over the workers). Every item must answer
``ok``; after the three phases the entries are counted in the SQLite file and the events of the replicated fans
in the relay's events.jsonl plus the outbox (every saved or deleted item has exactly its event, PUB-002); any
difference fails the run (exit status 1). The bodies are built before the clock starts; the server's log is kept
on failure.

    .nox/tests/bin/python benchmarks/batch_replication.py [--entries 20000] [--items 1000] [--clients 4]
        [--workers 2] [--threads 8] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import bench_data
import cpu
import jwt
from http_entries import Server, base_env, entry_service_command, free_port

TARGET = 5_000  # entries/s (issue 22)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000, help="items per phase (default 20000)")
    parser.add_argument("--items", type=int, default=1_000, help="items per request (default 1000, the maximum)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="serve --threads (default 8)")
    parser.add_argument("--phases", default="create,update,mixed", help="comma list of create,update,mixed")
    parser.add_argument("--wait-idle", type=int, default=120, help="wait up to N s for idle CPUs before a phase")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = parser.parse_args(argv)
    if args.entries < 1 or not 1 <= args.items <= 1_000 or args.clients < 1:
        parser.error("--entries ≥ 1, 1 ≤ --items ≤ 1000, --clients ≥ 1")
    return args


def user(k: int) -> str:
    return f"repl-{k}"


def save_item(k: int, round_: int) -> dict[str, Any]:
    """A replica save of fan ``k``: its whole create submission in round 0, a changed name and markets after."""
    fields = bench_data.fan_fields(k, user(k))
    if round_:
        markets = bench_data.MARKETS
        fields = {"first_name": f"Fan {k} round {round_}", "optional_markets": [markets[(k + round_ + 1) % 5]]}
        fields["market"] = markets[(k + round_) % 5]
    return {"campaignId": bench_data.CAMPAIGN_ID, "userId": user(k), "fields": fields, "locale": "en-US"}


def bodies(phase: str, count: int, per_request: int, first: int = 0) -> list[tuple[bytes, int, int]]:
    """(body, saves, deletions) of each request of the phase, for fans ``first`` … ``first + count - 1``."""
    out = []
    deletions: list[dict[str, str]]
    for start in range(first, first + count, per_request):
        ks = range(start, min(start + per_request, first + count))
        if phase == "create":
            saves, deletions = [save_item(k, 0) for k in ks], []
        elif phase == "update":
            saves, deletions = [save_item(k, 1) for k in ks], []
        else:  # mixed: even fans updated, odd fans deleted
            saves = [save_item(k, 2) for k in ks if k % 2 == 0]
            deletions = [{"campaignId": bench_data.CAMPAIGN_ID, "userId": user(k)} for k in ks if k % 2]
        body = json.dumps({"entries": saves, "deletions": deletions}, separators=(",", ":")).encode()
        out.append((body, len(saves), len(deletions)))
    return out


def send_all(
    port: int, token: str, requests: list[tuple[bytes, int, int]], clients: int
) -> tuple[float, list[float], int, list[str]]:
    """Sends every request from ``clients`` threads; (seconds, per-request ms, ok items, problems)."""
    lock = threading.Lock()
    queue = list(reversed(requests))
    took: list[float] = []
    problems: list[str] = []
    ok_items = 0

    def client() -> None:
        nonlocal ok_items
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        while True:
            with lock:
                if not queue:
                    break
                body, saves, deletions = queue.pop()
            started = time.perf_counter()
            conn.request("POST", "/v2/entries", body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            ms = (time.perf_counter() - started) * 1000
            with lock:
                took.append(ms)
                if response.status != 200:
                    problems.append(f"HTTP {response.status}: {data[:300]!r}")
                    continue
                results = json.loads(data)["results"]
                good = [r for r in results if r["ok"]]
                ok_items += len(good)
                if len(results) != saves + deletions or [r["index"] for r in results] != list(range(len(results))):
                    problems.append(f"{len(results)} results for {saves + deletions} items, or out of order")
                for bad in [r for r in results if not r["ok"]][:3]:
                    problems.append(f"item {bad['index']}: {bad['error']}")
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, took, ok_items, problems


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def event_counts(work: Path, db: Path, wait: float = 120.0) -> dict[str, int]:
    """Events of the replicated fans by type: those the relay delivered (``events.jsonl``) plus those still in the
    outbox, once the outbox has drained (or ``wait`` s have passed)."""
    deadline = time.monotonic() + wait
    while count(db, "SELECT count(*) FROM outbox WHERE kind = 'event'") and time.monotonic() < deadline:
        time.sleep(0.5)
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        pending = [body for (body,) in conn.execute("SELECT body FROM outbox WHERE kind = 'event'")]
    finally:
        conn.close()
    delivered = work / "data" / "events.jsonl"
    lines = delivered.read_text().splitlines() if delivered.exists() else []
    found: dict[str, int] = {}
    for text in [*lines, *pending]:
        message = json.loads(text)
        if str(message.get("entry", {}).get("userId", "")).startswith("repl-"):
            found[message["type"]] = found.get(message["type"], 0) + 1
    return found


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="entry-bench-batch-"))
    secret = secrets.token_hex(40)
    db = work / "entries.db"
    failed = False
    try:
        bench_data.write_campaigns(work / "campaigns.json")
        env = base_env(work, secret)
        token = jwt.encode(
            {"sub": "replicator", "isSupreme": True, "exp": int(time.time()) + 3600}, secret, algorithm="HS256"
        )
        port = free_port()
        command = [
            entry_service_command(), "serve", "--port", str(port),
            "--workers", str(args.workers), "--threads", str(args.threads),
        ]  # fmt: skip
        phases = [p for p in args.phases.split(",") if p]
        odd = args.entries // 2  # the mixed phase deletes the odd fans and updates the even ones
        expected = {"create": args.entries, "update": args.entries, "mixed": args.entries}
        rows: list[str] = []
        with Server("entry-service", command, env, work / "serve.log", port) as server:
            server.wait_ready("/heartbeat")
            warm = [(b.replace(b'"repl-', b'"warm-'), s, d) for b, s, d in bodies("create", 50, 50, first=10**6)]
            send_all(port, token, warm, 1)  # imports, connections, prepared statements: not measured
            for phase in phases:
                requests = bodies(phase, args.entries, args.items)
                waited, busy = cpu.wait_idle(args.wait_idle, 0.10) if args.wait_idle else (0.0, 0.0)
                if busy >= 0.10:
                    print(
                        f"  {phase}: other work kept {busy:.0%} of the CPUs busy after {waited:.0f} s; measuring anyway"
                    )
                meter = cpu.CpuMeter()
                pids = server.pids()
                per_process = [cpu._process_seconds([pid]) for pid in pids]
                meter.start(pids, time.monotonic())
                seconds, took, ok_items, problems = send_all(port, token, requests, args.clients)
                share = meter.stop(time.monotonic())
                per_process = [cpu._process_seconds([pid]) - was for pid, was in zip(pids, per_process, strict=True)]
                rate = ok_items / seconds
                verdict = "PASS" if rate >= TARGET and not problems else "FAIL"
                rows.append(
                    f"{phase:<7} {ok_items:>7,} items in {seconds:6.2f} s = {rate:7,.0f} entries/s   per request"
                    f" p50 {statistics.median(took):6.0f} ms  p99 {percentile(took, 0.99):6.0f} ms"
                    f"  max {max(took):6.0f} ms   {verdict} (≥ {TARGET:,}/s)"
                )
                print(rows[-1], flush=True)
                print(
                    f"        CPU of {os.cpu_count()} cores: server {share.server:.0%}, this script and others"
                    f" {share.other:.0%}; CPU s of serve's processes (main, workers): "
                    + ", ".join(f"{used:.1f}" for used in per_process)
                )
                for problem in problems[:10]:
                    print(f"  !! {problem}")
                failed |= bool(problems) or ok_items != expected[phase]
            if phases == ["create", "update", "mixed"]:  # the store and the events, item by item (PUB-002)
                stored = count(db, "SELECT count(*) FROM entries WHERE user_id LIKE 'repl-%'")
                events = event_counts(work, db)
                want = {
                    "entry.created": args.entries,
                    "entry.updated": args.entries + (args.entries - odd),
                    "entry.deleted": odd,
                }
                check = f"stored {stored:,} (want {args.entries - odd:,}); events {events} (want {want})"
                print(("  " if stored == args.entries - odd and events == want else "  !! ") + check)
                failed |= stored != args.entries - odd or events != want
        print(
            f"\n{args.entries:,} items a phase, {args.items:,} a request, {args.clients} clients; serve"
            f" --workers {args.workers} --threads {args.threads} on SQLite"
        )
        for row in rows:
            print(row)
        if failed:
            print(f"FAILED (server log tail):\n{server.log_tail()}")
    finally:
        if args.keep or failed:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
