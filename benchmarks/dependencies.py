"""Registrations per second while the fraud service is healthy, down, or slow (issue 9, SPEC PUB-007).

One run, the same ``entry-service serve`` setup for each scenario (2 sync workers by default, SQLite, a fresh
store each), wrk POSTing creates of new fans (``--connections`` at once) for ``--duration`` seconds after
``--warmup`` seconds of the same load:

  (a) healthy   ENTRY_FRAUD is a loopback Nudetect stub in this process that scores at once;
  (b) refused   ENTRY_FRAUD is a loopback port nothing listens on (connections refused at once);
  (c) slow      the stub sleeps 5 s before answering: far past ENTRY_ENRICHMENT_TIMEOUT (1 s). The warm-up
                opens the circuit (5 timeouts); from then on a registration does not wait for Nudetect, apart
                from one probe per ENTRY_BREAKER_COOLDOWN (10 s) that waits its timeout.

Every answer must be a 201; then the figures: requests/s, p50/p95/p99, how many calls reached the stub,
and the target (c) ≥ 80 % of (a)'s rate. The stub runs in this process and takes CPU in (a) as a real
Nudetect client's TLS and parsing would; wrk, the stub and the server share the machine's cores.

    .nox/tests/bin/python benchmarks/dependencies.py [--duration 20] [--connections 32] [--workers 2]
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import shutil
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import bench_data
import http_entries
from http_entries import Server, WrkResult, base_env, entry_service_command, free_port, measure, require_wrk

TARGET = 0.80


class Stub:
    """A loopback Nudetect: ``delay`` seconds, then ``{"score": 1}``; counts the calls."""

    def __init__(self, delay: float) -> None:
        stub = self
        self.delay, self.calls = delay, 0
        self._lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with stub._lock:
                    stub.calls += 1
                if stub.delay:
                    time.sleep(stub.delay)
                body = b'{"score": 1}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the caller gave up waiting (the slow scenario)
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/score"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=10)
    parser.add_argument("--wait-idle", type=int, default=60)
    parser.add_argument("--busy-retries", type=int, default=1)
    parser.add_argument("--keep", action="store_true")
    return parser.parse_args(argv)


def scenario(
    args: argparse.Namespace, wrk: str, work: Path, secret: str, name: str, fraud_url: str, number: int
) -> WrkResult:
    folder = work / name
    folder.mkdir()
    bench_data.write_campaigns(folder / "campaigns.json")
    env = base_env(folder, secret)
    env["ENTRY_FRAUD"] = fraud_url
    count = 400_000  # more lines than any run sends: every POST creates a new fan
    warm, post = folder / "warm.tsv", folder / "post.tsv"
    mix = (0, args.wrk_threads)
    bench_data.write_requests(warm, bench_data.post_requests(secret, f"w{number}", 0, 20_000, 1, mix, 3600))
    bench_data.write_requests(post, bench_data.post_requests(secret, f"p{number}", 10**6, count, 1, mix, 3600))
    port = free_port()
    cmd = [entry_service_command(), "serve", "--port", str(port), "--workers", str(args.workers)]
    cmd += ["--threads", str(args.threads)]
    with Server(name, cmd, env, folder / "serve.log", port) as server:
        server.wait_ready("/heartbeat")
        http_entries.warm_up(args, wrk, server, warm, name)
        result = measure(args, wrk, server, post, name)
    if result.failed:
        print(f"  !! {name}: {result.non_2xx} non-2xx, socket errors {result.error_kinds}")
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    wrk = require_wrk()
    work = Path(tempfile.mkdtemp(prefix="entry-bench-deps-"))
    secret = secrets.token_hex(32)
    healthy, slow = Stub(0.0), Stub(5.0)
    refused = f"http://127.0.0.1:{free_port()}/score"
    results: dict[str, tuple[WrkResult, int]] = {}
    try:
        for number, (name, url, stub) in enumerate(
            [("(a) healthy", healthy.url, healthy), ("(b) refused", refused, None), ("(c) slow 5 s", slow.url, slow)]
        ):
            before = stub.calls if stub else 0
            result = scenario(args, wrk, work, secret, name.split()[0].strip("()"), url, number)
            results[name] = (result, (stub.calls - before) if stub else 0)
    finally:
        healthy.close()
        slow.close()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    base = results["(a) healthy"][0].rps
    print(f"\n{args.workers} workers x {args.threads} threads, {args.connections} connections, {args.duration} s each")
    print(f"{'scenario':<14}{'req/s':>9}{'vs (a)':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'stub calls':>12}  errors")
    for name, (r, calls) in results.items():
        errors = "none" if not r.failed else f"{r.non_2xx} non-2xx, {r.error_kinds}"
        print(
            f"{name:<14}{r.rps:>9.1f}{r.rps / base:>8.0%}{r.p50_ms:>9.1f}{r.p95_ms:>9.1f}{r.p99_ms:>9.1f}"
            f"{calls:>12}  {errors}"
        )
    slow_ratio = results["(c) slow 5 s"][0].rps / base
    verdict = "PASS" if slow_ratio >= TARGET else "FAIL"
    print(f"\n(c) / (a) = {slow_ratio:.1%} (target ≥ {TARGET:.0%}): {verdict}")
    failed = any(r.failed for r, _ in results.values())
    return 1 if failed or verdict == "FAIL" else 0


if __name__ == "__main__":
    sys.exit(main())
