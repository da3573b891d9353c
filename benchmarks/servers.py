"""The HTTP servers considered for ``entry-service serve`` (issue 10), on the same routes and load, one run.

For each candidate: the bare Flask ``GET /hello`` (bare_app.py) and our ``GET /{campaignId}/entries`` (a
small preloaded store, 2,000 fans' tokens rotating) under wrk (``--connections`` at once, ``--duration`` s
each), then 200 slow clients of each kind — unfinished headers, bodies that never complete, idle
connections — while ``/heartbeat`` is asked every 0.2 s: its median and worst latency, or how many asks got
no answer within 5 s.

  granian RSGI   what ``serve`` runs: requests read whole on the event loop, then run on 8 threads/worker
  granian WSGI   granian's own WSGI interface, 8 blocking threads/worker (the body is read on the thread)
  waitress       one process, 8 threads (it buffers whole requests; Python-only, one GIL for both cores)
  gunicorn sync  2 sync workers (what ``serve`` ran before)

    .nox/tests/bin/python benchmarks/servers.py [--duration 10] [--connections 32]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
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
from http_entries import Server, base_env, entry_service_command, free_port, require_wrk, run_wrk

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def candidates(port: int, app: str) -> dict[str, list[str]]:
    """name -> command serving ``app`` ("bare" or "entries") on ``port``."""
    bare = app == "bare"
    wsgi_target = "bare_app:create_app" if bare else "entry_service.wsgi:create"
    return {
        "granian RSGI (serve)": (
            [sys.executable, str(HERE / "bare_app.py"), "--port", str(port), "--workers", "2", "--threads", "8"]
            if bare
            else [entry_service_command(), "serve", "--port", str(port), "--workers", "2", "--threads", "8"]
        ),
        "granian WSGI": [
            str(BIN / "granian"), "--interface", "wsgi", "--factory", "--workers", "2", "--blocking-threads", "8",
            "--http", "1", "--port", str(port), "--log-level", "error", wsgi_target,
        ],
        "waitress 1x8": [
            str(BIN / "waitress-serve"), f"--port={port}", "--threads=8", "--call", wsgi_target,
        ],
        "gunicorn sync 2": [
            str(BIN / "gunicorn"), "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
            f"{wsgi_target}()",
        ],
    }  # fmt: skip


def slow_clients(port: int, kind: str, token: str, seconds: float = 6.0, count: int = 200) -> str:
    """Heartbeat latency while ``count`` slow clients of ``kind`` are connected."""
    starts = {
        "headers": b"GET /heartbeat HTTP/1.1\r\nHost: x\r\n",
        "body": (
            f"POST /{bench_data.CAMPAIGN_ID}/entries HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
        ).encode(),
        "idle": b"",
    }
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(starts[kind])
        sockets.append(sock)
    stop = threading.Event()

    def trickle() -> None:
        while not stop.wait(1.0):
            for sock in sockets:
                with contextlib.suppress(OSError):  # the server closed it: nothing more to send
                    sock.send(b" " if kind != "idle" else b"")

    threading.Thread(target=trickle, daemon=True).start()
    took, failed = [], 0
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/heartbeat")
                conn.getresponse().read()
                conn.close()
                took.append((time.monotonic() - started) * 1000)
            except OSError:
                failed += 1
            time.sleep(0.2)
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
    if not took:
        return f"no answer ({failed} asks)"
    shown = f"p50 {statistics.median(took):.1f} ms, max {max(took):.0f} ms"
    return shown + (f", {failed} unanswered" if failed else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    wrk = require_wrk()
    wrk_args = argparse.Namespace(wrk_threads=2, connections=args.connections, timeout=10)
    work = Path(tempfile.mkdtemp(prefix="entry-bench-servers-"))
    secret = secrets.token_hex(40)
    try:
        bench_data.write_campaigns(work / "campaigns.json")
        bench_data.preload(work / "entries.db", 2_000)
        env = base_env(work, secret)
        bare_file, get_file = work / "bare.tsv", work / "get.tsv"
        bench_data.write_requests(bare_file, [("GET", "/hello", "", "")])
        bench_data.write_requests(get_file, bench_data.get_requests(secret, 2_000, 2_000, 3600))
        token = bench_data.token(secret, "slowpoke", 3600)
        rows = []
        for name in candidates(0, "bare"):
            figures = []
            for app, requests, ready in (("bare", bare_file, "/hello"), ("entries", get_file, "/heartbeat")):
                port = free_port()
                with Server(name, candidates(port, app)[name], env, work / "server.log", port) as server:
                    server.wait_ready(ready)
                    run_wrk(wrk_args, wrk, server.url, requests, 3, name)  # warm-up
                    result = run_wrk(wrk_args, wrk, server.url, requests, args.duration, name)
                    figures.append(f"{result.rps:>8.0f}" + (" !!" if result.failed else "   "))
                    if app == "entries":
                        figures += [slow_clients(port, kind, token) for kind in ("headers", "body", "idle")]
            rows.append((name, figures))
            print(f"  {name}: {figures}", flush=True)
        print(f"\n2 CPUs, wrk -c{args.connections} -d{args.duration}s; heartbeat latency with 200 slow clients")
        print(f"{'server':<22}{'bare/s':>11}{'GET/s':>11}   slow headers | slow bodies | idle")
        for name, figures in rows:
            print(f"{name:<22}{figures[0]:>11}{figures[1]:>11}   " + " | ".join(figures[2:]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
