"""Heartbeat and registration latency of ``entry-service serve`` with 0 and with 200 slow clients (issue 10).

``serve`` with its defaults (granian, 2 workers x 8 threads) on a fresh SQLite store. For each situation —
no slow client; 200 connections that sent an unfinished header block; 200 that sent a valid request whose
body never completes (a fan's token, so the app would read it); 200 idle connections — one client asks
``GET /heartbeat`` and registers a new fan (``POST /{campaignId}/entries``), one after the other, for
``--seconds``; the slow connections are fed a byte a second. Prints the median, p95 and worst latency of each.

    .nox/tests/bin/python benchmarks/slow_clients.py [--seconds 10] [--slow 200]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import secrets
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import bench_data
from http_entries import Server, base_env, entry_service_command, free_port

STARTS = {
    "none": None,
    "headers": "GET /heartbeat HTTP/1.1\r\nHost: x\r\n",
    "body": "POST /{c}/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {t}\r\n"
    "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{",
    "idle": "",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(port: int, secret: str, kind: str, seconds: float, slow: int, first_k: int) -> dict[str, list[float]]:
    start = STARTS[kind]
    sockets: list[socket.socket] = []
    if start is not None:
        text = start.format(c=bench_data.CAMPAIGN_ID, t=bench_data.token(secret, "slowpoke", 3600))
        for _ in range(slow):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            if text:
                sock.sendall(text.encode())
            sockets.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for sock in sockets:
                with contextlib.suppress(OSError):  # closed by the server's timeout: nothing to feed
                    sock.send(b" " if kind != "idle" else b"")

    threading.Thread(target=trickle, daemon=True).start()
    took: dict[str, list[float]] = {"heartbeat": [], "register": []}
    k = first_k
    end = time.monotonic() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        while time.monotonic() < end:
            started = time.monotonic()
            conn.request("GET", "/heartbeat")
            assert conn.getresponse().read()
            took["heartbeat"].append((time.monotonic() - started) * 1000)
            user = f"slow-bench-{k}"
            body = json.dumps({"fields": bench_data.fan_fields(k, user)})
            headers = {"Authorization": f"Bearer {bench_data.token(secret, user, 3600)}"}
            headers["Content-Type"] = "application/json"
            started = time.monotonic()
            conn.request("POST", f"/{bench_data.CAMPAIGN_ID}/entries", body=body, headers=headers)
            answer = conn.getresponse()
            answer.read()
            assert answer.status == 201, answer.status
            took["register"].append((time.monotonic() - started) * 1000)
            k += 1
    finally:
        conn.close()
        stop.set()
        for sock in sockets:
            sock.close()
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--slow", type=int, default=200)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="entry-bench-slow-"))
    secret = secrets.token_hex(40)
    try:
        bench_data.write_campaigns(work / "campaigns.json")
        port = free_port()
        cmd = [entry_service_command(), "serve", "--port", str(port)]
        with Server("entry-service", cmd, base_env(work, secret), work / "serve.log", port) as server:
            server.wait_ready("/heartbeat")
            measure(port, secret, "none", 2, 0, 0)  # warm-up
            print(
                f"serve defaults (granian, 2 workers x 8 threads); {args.slow} slow connections, {args.seconds} s each"
            )
            print(f"{'slow clients':<14}{'heartbeat p50/p95/max ms':>28}{'register p50/p95/max ms':>28}{'n':>6}")
            for number, kind in enumerate(STARTS, start=1):
                took = measure(port, secret, kind, args.seconds, args.slow, number * 100_000)
                cells = [
                    f"{statistics.median(v):.1f} / {percentile(v, 0.95):.1f} / {max(v):.1f}" for v in took.values()
                ]
                label = "0" if kind == "none" else f"{args.slow} {kind}"
                print(f"{label:<14}{cells[0]:>28}{cells[1]:>28}{len(took['register']):>6}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
