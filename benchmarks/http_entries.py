"""HTTP benchmark of the entry routes against a bare Flask route on the same server (SPEC §10).

What it measures, in one run, with wrk (p50/p95/p99 latency and requests/s):

  (a) bare   ``GET /hello`` of a bare Flask app (``bare_app.py``) on exactly ``entry-service serve``'s
             server setup (its ``serve()`` is called with the app swapped: granian, same workers, threads,
             RSGI bridge, options); (a') the same app on gunicorn sync workers, for the record;
  (b) GET    ``GET /{campaignId}/entries`` of the real ``entry-service serve`` on SQLite, with
             ``--entries`` (100,000) entries preloaded, rotating over 20,000 tokens of preloaded fans;
  (c) POST   ``POST /{campaignId}/entries``, durable (the real store, every request a real write): mostly
             creates of new fans (distinct valid emails and phones), every ``--update-every``-th request
             an update of a preloaded fan;

  (d) floor  the POST run's requests on the cheapest durable registration (bare_app.py ``--floor-db``) on the
             same server setup;

then the ratios with the targets of SPEC §10 (GET throughput ≥ 50 % of bare, GET p95 ≤ 2 x bare p95, POST
throughput ≥ 80 % of the floor) and PASS/FAIL for each.

How: everything lives in a private temporary folder (removed at the end unless ``--keep``). The store is
preloaded directly through ``adapters_sqlite.SqliteEntryStore`` before the server starts (``bench_data.py``).
Each server is a subprocess on 127.0.0.1 (``entry-service serve --port P --workers W --threads T`` with
ENTRY_DATA_DIR / ENTRY_STORE / ENTRY_CAMPAIGNS / ENTRY_AUTH_SECRET / ENTRY_USERS=none); each target gets
``--warmup`` seconds of load before its measured run (15 by default: long enough for each worker to
have seen every one of the GET run's 20,000 tokens once, so the GET run measures fans polling with a token
the worker has verified before — the steady state; a fan's first request with a new token also pays the
signature check, which a 3-second warm-up left in most of the run's requests). wrk sends pre-generated
requests from files (``rotate.lua``), whose ``done()`` prints a machine-readable line; non-2xx responses
and socket errors are counted and reported loudly (exit status 1). The POST run's creates are proven by counting
the rows of the SQLite file with sqlite3 before and after it. Servers are stopped (SIGTERM, then SIGKILL) on
every exit path. ``--profile`` also samples one worker with py-spy during the GET and POST runs (the
figures of a profiled run are perturbed by the sampler).

Shared machines: the CPU time of the server's processes, of wrk and of everything else is measured for
each run (``cpu.py``, from /proc) and shown next to it. Before each target the benchmark waits (up to
``--wait-idle`` s) for other work to leave the CPUs, and a run during which other processes took more
than 10 % of the CPUs is measured again (``--busy-retries``; POSTs continue in their file, so they stay
creates), keeping the least disturbed run. Figures of a run that stayed disturbed are flagged.

    .nox/tests/bin/python benchmarks/http_entries.py [--workers 2] [--threads 1] [--duration 20]
        [--connections 32] [--entries 100000] [--keep] [--profile]   (--help for the rest)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import bench_data
import cpu
import profiling

HERE = Path(__file__).resolve().parent
LUA = HERE / "rotate.lua"
MIN_REAL_DURATION = 20
GET_TPUT_TARGET, GET_P95_TARGET, POST_FLOOR_TARGET = 0.50, 2.0, 0.80  # SPEC §10
BUSY = 0.10  # share of the CPUs used by other processes above which a run is considered disturbed


@dataclass(frozen=True)
class WrkResult:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int  # connect + read + write + timeout
    error_kinds: str  # "connect 0, read 0, write 0, timeout 0"
    lines: int  # distinct requests in the file
    next_offset: int  # the line after the last one sent: beyond ``lines``, the run re-sent some
    cpu: cpu.CpuShare | None = None
    store_before: int | None = None  # rows of the entries table before and after the run
    store_after: int | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> bool:
        return self.non_2xx > 0 or self.socket_errors > 0


# --- command line, tools, ports -------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="threads per worker (default 8, as serve)")
    parser.add_argument("--duration", type=int, default=20, help="seconds per measured run (≥ 20 for real)")
    parser.add_argument("--connections", type=int, default=32, help="concurrent connections (default 32)")
    parser.add_argument("--entries", type=int, default=100_000, help="entries preloaded (default 100000)")
    parser.add_argument(
        "--warmup", type=int, default=15, help="seconds of load before each measured run (default 15: see above)"
    )
    parser.add_argument("--wrk-threads", type=int, default=2, help="wrk -t (default 2)")
    parser.add_argument("--get-tokens", type=int, default=20_000, help="fans the GET run rotates over")
    parser.add_argument("--update-every", type=int, default=10, help="every N-th POST is an update")
    parser.add_argument(
        "--wait-idle",
        type=int,
        default=120,
        help="before each target, wait up to N s for other work to leave the CPUs (0: don't)",
    )
    parser.add_argument(
        "--busy-retries",
        type=int,
        default=2,
        help="measure a target again when other processes took >10%% of the CPUs (default 2)",
    )
    parser.add_argument(
        "--timeout", type=int, default=10, help="wrk --timeout: slower responses count as errors (default 10 s)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    parser.add_argument("--profile", action="store_true", help="py-spy one worker during GET and POST")
    parser.add_argument(
        "--floor", action="store_true", help="(kept for old command lines: the floor (d) is always measured)"
    )
    args = parser.parse_args(argv)
    if args.entries < 1 or args.duration < 1 or args.connections < 1 or args.warmup < 0:
        parser.error("--entries, --duration and --connections must be positive")
    return args


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    return path


def entry_service_command() -> str:
    beside = Path(sys.executable).parent / "entry-service"
    found = str(beside) if beside.exists() else shutil.which("entry-service")
    if found is None:
        raise SystemExit("entry-service is not installed in this environment (pip install -e .)")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, token: str | None = None) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(url, headers=headers)  # loopback http only
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


# --- servers ----------------------------------------------------------------------------------------


class Server:
    """A server subprocess in its own session, its output in a log file; stopped on every exit path."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log: Path, port: int) -> None:
        self.name, self.cmd, self.env, self.log, self.port = name, cmd, env, log, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                self.cmd,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        return self

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise SystemExit(f"{self.name} server exited at start:\n{self.log_tail()}")
            try:
                if http_get(self.url + path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"{self.name} server not ready after {timeout:.0f} s:\n{self.log_tail()}")

    def workers(self) -> list[int]:
        return profiling.children(self.proc.pid) if self.proc else []

    def pids(self) -> list[int]:
        return [self.proc.pid, *self.workers()] if self.proc else []

    def log_tail(self, lines: int = 400, shown: int = 12) -> str:
        """The last ``shown`` distinct lines among the log's last ``lines`` (JSON logs: level, message and
        the last line of the traceback), in order, each with how often it occurred."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        seen: dict[str, int] = {}
        for line in text.splitlines()[-lines:]:
            try:
                record = json.loads(line)
                error = (record.get("error") or "").strip().splitlines()
                key = f"{record.get('level')} {record.get('message')}" + (f": {error[-1]}" if error else "")
            except (ValueError, AttributeError):
                key = line
            key = key[:300]
            seen[key] = seen.pop(key, 0) + 1  # re-inserted: dict order = order of last occurrence
        return "\n".join(f"  {n:>5} x {key}" for key, n in list(seen.items())[-shown:]) or "  (empty log)"

    def __exit__(self, *exc: object) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)  # gunicorn: graceful stop of the master and its workers
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)  # the session this script started, and only it
            self.proc.wait(timeout=10)


def base_env(work: Path, secret: str) -> dict[str, str]:
    """The process environment without any ENTRY_* of the caller, plus the benchmark's configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENTRY_")}
    env.update(
        {
            "ENTRY_DATA_DIR": str(work / "data"),
            "ENTRY_STORE": f"sqlite:///{work / 'entries.db'}",
            "ENTRY_CAMPAIGNS": f"file:{work / 'campaigns.json'}",
            "ENTRY_AUTH_SECRET": secret,
            "ENTRY_USERS": "none",
        }
    )
    return env


# --- wrk ----------------------------------------------------------------------------------------------


def run_wrk(
    args: argparse.Namespace, wrk: str, url: str, requests: Path, seconds: int, label: str, offset: int = 0
) -> WrkResult:
    """wrk over the lines of ``requests`` from line ``offset`` on (see rotate.lua)."""
    cmd = [
        wrk,
        f"-t{args.wrk_threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        f"--timeout={args.timeout}s",
        "--latency",
        "-s",
        str(LUA),
        url,
        str(requests),
        str(args.wrk_threads),
        str(offset),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, check=False)
    if done.returncode != 0 or "WRK_RESULT" not in done.stdout:
        raise SystemExit(f"wrk failed ({' '.join(cmd)}):\n{done.stdout}\n{done.stderr}")
    return parse_wrk(label, done.stdout, sum(1 for _ in requests.open()))


def parse_wrk(label: str, out: str, lines: int) -> WrkResult:
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    v = {k: float(n) for k, n in re.findall(r"(\w+)=([\d.]+)", line)}
    shown = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)  # wrk's own count, same as v["status"]
    non_2xx = max(int(v["status"]), int(shown[1]) if shown else 0)
    return WrkResult(
        label=label,
        requests=int(v["requests"]),
        seconds=v["duration_us"] / 1e6,
        p50_ms=v["p50_us"] / 1e3,
        p95_ms=v["p95_us"] / 1e3,
        p99_ms=v["p99_us"] / 1e3,
        max_ms=v["max_us"] / 1e3,
        non_2xx=non_2xx,
        socket_errors=int(v["connect"] + v["read"] + v["write"] + v["timeout"]),
        error_kinds=", ".join(f"{kind} {int(v[kind])}" for kind in ("connect", "read", "write", "timeout")),
        lines=lines,
        next_offset=int(v["next_offset"]),
    )


def wait_for_idle_cpus(args: argparse.Namespace, label: str) -> None:
    """Waits (up to ``--wait-idle`` s) until other work has left the CPUs: it would skew the figures."""
    if args.wait_idle:
        waited, busy = cpu.wait_idle(args.wait_idle, BUSY)
        if busy >= BUSY or waited > 3:
            print(f"  {label}: waited {waited:.0f} s for idle CPUs; {busy:.0%} busy before the run")


def warm_up(args: argparse.Namespace, wrk: str, server: Server, requests: Path, label: str) -> None:
    """``--warmup`` seconds of load; reported in one line (loudly if it had errors), not measured."""
    wait_for_idle_cpus(args, label)
    if args.warmup:
        warm = run_wrk(args, wrk, server.url, requests, args.warmup, label + " warm-up")
        print(
            f"  {label}: warm-up {warm.requests:,} requests in {warm.seconds:.1f} s"
            + (f"  !! {warm.non_2xx} non-2xx, socket errors: {warm.error_kinds}" if warm.failed else "")
        )


def measure(
    args: argparse.Namespace,
    wrk: str,
    server: Server,
    requests: Path,
    label: str,
    profile_out: Path | None = None,
    db: Path | None = None,
) -> WrkResult:
    """The measured run (``--duration``). When other processes took over ``BUSY`` of the CPUs during it,
    it is run again (up to ``--busy-retries`` times, continuing in the request file, so POSTs stay
    new) and the least disturbed run is kept. With ``db``, the store's rows are counted around each run."""
    best: WrkResult | None = None
    offset = 0
    retries = 0 if profile_out is not None else args.busy_retries  # py-spy's own CPU shows as "other"
    for attempt in range(1 + retries):
        before = count_entries(db) if db else None
        result = measure_once(args, wrk, server, (requests, offset), label, profile_out)
        result = replace(result, store_before=before, store_after=count_entries(db) if db else None)
        offset = result.next_offset
        if best is None or (result.cpu and best.cpu and result.cpu.other < best.cpu.other):
            best = result
        if result.cpu is None or result.cpu.other < BUSY:
            break
        if attempt < retries:
            print(f"  {label}: other processes used {result.cpu.other:.0%} of the CPUs — measuring again")
            wait_for_idle_cpus(args, label)
    assert best is not None
    return best


def measure_once(
    args: argparse.Namespace, wrk: str, server: Server, requests: tuple[Path, int], label: str, profile_out: Path | None
) -> WrkResult:
    """One run of ``--duration`` s from line ``requests[1]``; py-spy on the first worker with ``profile_out``."""
    spy, meter = None, cpu.CpuMeter()
    if profile_out is not None and server.workers():
        spy = profiling.start(server.workers()[0], min(10, args.duration), profile_out)
    try:
        meter.start(server.pids(), time.monotonic())
        result = run_wrk(args, wrk, server.url, requests[0], args.duration, label, offset=requests[1])
        result = replace(result, cpu=meter.stop(time.monotonic()))
        if spy is not None:
            _, err = spy.communicate(timeout=60)
            if spy.returncode != 0:
                print(f"  py-spy failed: {err.decode(errors='replace').strip()[-300:]}")
    finally:
        if spy is not None and spy.poll() is None:
            spy.kill()
            spy.wait()
    print(f"  {label}: {result.requests:,} requests in {result.seconds:.1f} s; {result.cpu}")
    return result


# --- the three targets ----------------------------------------------------------------------------


def bench_bare_app(
    args: argparse.Namespace,
    wrk: str,
    work: Path,
    env: dict[str, str],
    name: str,
    label: str,
    requests: tuple[Path, Path],
    *options: str,
) -> WrkResult:
    """One target on ``bare_app.py`` with ``options`` (the same gunicorn setup as the service): warm-up on
    the requests of ``requests[0]``, the measured run on those of ``requests[1]``."""
    port = free_port()
    cmd = [sys.executable, str(HERE / "bare_app.py"), "--port", str(port), "--workers", str(args.workers)]
    cmd += ["--threads", str(args.threads), *options]
    with Server(name, cmd, env, work / f"{name}.log", port) as server:
        server.wait_ready("/hello")
        warm_up(args, wrk, server, requests[0], label)
        result = measure(args, wrk, server, requests[1], label)
        log = server.log_tail()
    if result.failed:
        print(f"{name} server log (most frequent lines):\n{log}")
    return result


def bench_bare(
    args: argparse.Namespace, wrk: str, work: Path, env: dict[str, str], server: str = "granian"
) -> tuple[WrkResult, Any]:
    """(a) the bare route on ``serve``'s own server setup (granian), or on gunicorn sync for the record."""
    requests, options = work / "bare.tsv", work / f"bare-{server}-options.json"
    bench_data.write_requests(requests, [("GET", "/hello", "", "")])
    label = "(a) bare GET /hello" if server == "granian" else "(a') bare, gunicorn sync"
    result = bench_bare_app(
        args, wrk, work, env, f"bare-{server}", label, (requests, requests), "--server", server,
        "--options-out", str(options),
    )  # fmt: skip
    return result, json.loads(options.read_text())


def bench_floor(
    args: argparse.Namespace, wrk: str, work: Path, env: dict[str, str], files: dict[str, Path]
) -> WrkResult:
    """(d): the POST run's requests against the cheapest durable registration (bare_app.py ``--floor-db``) on
    the same server setup as ``serve``, into an empty SQLite file of its own."""
    requests = (files["post-warm"], files["post"])
    floor_db = str(work / "floor.db")
    return bench_bare_app(args, wrk, work, env, "floor", "(d) floor POST", requests, "--floor-db", floor_db)


def prepare(args: argparse.Namespace, work: Path, secret: str) -> dict[str, Path]:
    """Campaigns file, preloaded store, and the request files of the GET and POST runs."""
    bench_data.write_campaigns(work / "campaigns.json")
    seconds = bench_data.preload(work / "entries.db", args.entries)
    print(
        f"preloaded {args.entries:,} entries in {seconds:.1f} s (field rules in a process pool, "
        f"{bench_data.BATCH:,} rows per transaction)"
    )
    started, ttl = time.perf_counter(), 6 * 3600 + 10 * args.duration
    files = {name: work / f"{name}.tsv" for name in ("get", "post-warm", "post", "smoke")}
    get_rows = bench_data.get_requests(secret, args.entries, args.get_tokens, ttl)
    bench_data.write_requests(files["get"], get_rows)
    warm_n, post_n = max(5_000, 2_000 * args.warmup), 10_000 + 1_000 * args.duration
    first_k = args.entries  # fan numbers (phones) after the preloaded ones
    for name, prefix, count, every in (
        ("post-warm", "warm", warm_n, args.update_every),
        ("post", "new", post_n, args.update_every),
        ("smoke", "smoke", 1, 0),
    ):
        mix = (every, args.wrk_threads)
        creates = sum(not bench_data.is_update(slot, *mix) for slot in range(count))
        bench_data.check_phones(first_k, first_k + creates)
        bench_data.write_requests(
            files[name], bench_data.post_requests(secret, prefix, first_k, count, args.entries, mix, ttl)
        )
        first_k += creates
    print(
        f"wrote {min(args.get_tokens, args.entries):,} GET and {warm_n + post_n:,} POST requests (tokens; "
        f"phones checked with normalize_phone) in {time.perf_counter() - started:.1f} s"
    )
    return files


def count_entries(db: Path) -> int:
    with sqlite3.connect(db, timeout=10) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])


def smoke_test(server: Server, files: dict[str, Path]) -> None:
    """One GET and one POST (a create) before loading the server: a broken setup or server stops the
    benchmark here, with the server's log, instead of giving a run of 100 % errors."""
    for name, method, expected in (("get", "GET", 200), ("smoke", "POST", 201)):
        _, path, token, body = files[name].open().readline().rstrip("\n").split("\t")
        request = urllib.request.Request(
            server.url + path,
            data=body.encode() or None,
            method=method,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as err:
            status, answer = err.code, err.read()
        if status != expected:
            raise SystemExit(
                f"smoke test: {method} {path} answered {status} (expected {expected}): "
                f"{answer[:300]!r}\nentry-service log:\n{server.log_tail()}"
            )


def bench_entries(
    args: argparse.Namespace, wrk: str, work: Path, env: dict[str, str], files: dict[str, Path]
) -> tuple[WrkResult, WrkResult, int]:
    port, db = free_port(), work / "entries.db"
    cmd = [
        entry_service_command(),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
    ]
    spy = {name: work / f"pyspy-{name}.txt" if args.profile else None for name in ("get", "post")}
    get_label, post_label = "(b) GET  /{c}/entries", "(c) POST /{c}/entries"
    with Server("entry-service", cmd, env, work / "entry-service.log", port) as server:
        server.wait_ready("/heartbeat")
        smoke_test(server, files)
        warm_up(args, wrk, server, files["get"], get_label)
        get = measure(args, wrk, server, files["get"], get_label, spy["get"])
        warm_up(args, wrk, server, files["post-warm"], post_label)
        post = measure(args, wrk, server, files["post"], post_label, spy["post"], db=db)
        log = server.log_tail()
    if get.failed or post.failed:
        print(f"entry-service log (most frequent lines):\n{log}")
    return get, post, count_entries(db)


# --- report -------------------------------------------------------------------------------------------


def print_table(*results: WrkResult) -> None:
    print(
        f"\n{'target':<26}{'req/s':>10}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'requests':>10}{'non-2xx':>9}{'sock err':>9}   CPU server/wrk/other"
    )
    for r in results:
        flag = "  !! ERRORS" if r.failed else ""
        print(
            f"{r.label:<26}{r.rps:>10.1f}{r.p50_ms:>9.2f}{r.p95_ms:>9.2f}{r.p99_ms:>9.2f}{r.max_ms:>9.1f}"
            f"{r.requests:>10,}{r.non_2xx:>9,}{r.socket_errors:>9,}   {_cpu(r)}{flag}"
        )


def _cpu(r: WrkResult) -> str:
    return f"{r.cpu.server:.0%} / {r.cpu.client:.0%} / {r.cpu.other:.0%}" if r.cpu else "-"


def print_post_proof(post: WrkResult, rows_at_end: int) -> None:
    before, after = post.store_before or 0, post.store_after or 0
    ok = post.requests - post.non_2xx
    created = after - before
    print(
        f"\nPOST run: {post.requests:,} requests, {ok:,} answered 2xx. Entries in the store (sqlite3 "
        f"COUNT(*)): {before:,} before the run, {after:,} after it, {rows_at_end:,} after the server stopped "
        f"(+ requests in flight when wrk stopped, + discarded disturbed runs)."
        f"\n  → {created:,} creates, ~{ok - created:,} updates ({100 * created / max(ok, 1):.0f} % creates)"
    )
    if post.next_offset > post.lines:
        print(f"  note: the run went past the {post.lines:,} requests of its file: later creates were updates")


def verdicts(bare: WrkResult, get: WrkResult, post: WrkResult, floor: WrkResult) -> list[tuple[str, str, str, bool]]:
    get_share, post_share = get.rps / bare.rps, post.rps / floor.rps
    p95_ratio = get.p95_ms / bare.p95_ms if bare.p95_ms else float("inf")
    return [
        (
            "GET throughput",
            f"{100 * get_share:.1f} % of bare",
            f"≥ {100 * GET_TPUT_TARGET:.0f} %",
            get_share >= GET_TPUT_TARGET,
        ),
        ("GET p95", f"{p95_ratio:.2f} x bare p95", f"≤ {GET_P95_TARGET} x", p95_ratio <= GET_P95_TARGET),
        (
            "POST throughput",
            f"{100 * post_share:.1f} % of floor",
            f"≥ {100 * POST_FLOOR_TARGET:.0f} %",
            post_share >= POST_FLOOR_TARGET,
        ),
    ]


def print_report(
    args: argparse.Namespace,
    results: tuple[WrkResult, WrkResult, WrkResult, WrkResult, WrkResult],
    rows_at_end: int,
    options: dict[str, Any],
) -> None:
    bare, bare_sync, get, post, floor = results
    print("\n" + "=" * 100)
    print(
        f"entry-service HTTP benchmark — {os.cpu_count()} CPUs, wrk -t{args.wrk_threads} "
        f"-c{args.connections} -d{args.duration}s (after {args.warmup} s warm-up each), "
        f"SQLite with {args.entries:,} entries preloaded"
    )
    print(
        "granian (options of adapters_cli.serve.serve, the same for bare, floor and entry-service): "
        + ", ".join(f"{k}={options.get(k)}" for k in ("workers", "threads", "interface", "backpressure", "backlog"))
    )
    print_table(bare, bare_sync, get, post, floor)
    print_post_proof(post, rows_at_end)
    print(f"\n{'ratio':<18}{'measured':>24}{'target':>12}  verdict")
    for name, measured, target, ok in verdicts(bare, get, post, floor):
        print(f"{name:<18}{measured:>24}{target:>12}  {'PASS' if ok else 'FAIL'}")
    print(
        f"(record) granian bare / gunicorn-sync bare = {bare.rps / bare_sync.rps:.2f} x; "
        f"floor = {100 * floor.rps / bare.rps:.1f} % of the bare route"
    )
    print(
        "CPU columns: share of all cores used by the server's processes, by wrk, and by anything else on "
        "the machine\n(a large 'other' share means the figures were taken on a busy machine)"
    )
    print_warnings(args, results)
    print("=" * 100)


def print_warnings(args: argparse.Namespace, results: tuple[WrkResult, ...]) -> None:
    """Everything that makes the figures doubtful, loudly: other load, short runs, profiling, errors."""
    busy = [f"{r.label} ({r.cpu.other:.0%})" for r in results if r.cpu and r.cpu.other >= BUSY]
    if busy:
        print(f"\n!! other processes used over 10 % of the CPUs during: {', '.join(busy)} — figures skewed")
    if args.duration < MIN_REAL_DURATION:
        print(f"\n!! SHORT RUN (--duration {args.duration} < {MIN_REAL_DURATION}): not the real figures")
    if args.profile:
        print("\n!! --profile: py-spy sampled a worker during GET and POST; their figures are perturbed")
    failed = [r.label for r in results if r.failed]
    for r in results:
        if r.socket_errors:
            print(f"\n!! socket errors of {r.label}: {r.error_kinds} (timeout = no answer within {args.timeout} s)")
    if failed:
        banner = "!" * 100
        print(f"\n{banner}\n!! ERRORS during: {', '.join(failed)} — these figures are NOT valid\n{banner}")


def print_profiles(work: Path) -> None:
    for name in ("get", "post"):
        raw = work / f"pyspy-{name}.txt"
        print(f"\npy-spy, one worker, {name.upper()} run:")
        print("\n".join(profiling.summarize(raw)) if raw.exists() else "  (no profile recorded)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    wrk = require_wrk()
    if args.profile and profiling.py_spy() is None:
        raise SystemExit("--profile needs py-spy: .nox/tests/bin/pip install py-spy")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the cleanup below on kill too
    work = Path(tempfile.mkdtemp(prefix="entry-bench-"))
    secret = secrets.token_hex(40)  # 80 characters
    try:
        print(
            f"working folder {work}; {args.workers} workers x {args.threads} threads, "
            f"{args.connections} connections, {args.duration} s per run"
        )
        files = prepare(args, work, secret)
        env = base_env(work, secret)
        bare, options = bench_bare(args, wrk, work, env)
        bare_sync, _ = bench_bare(args, wrk, work, env, server="gunicorn-sync")
        get, post, rows_at_end = bench_entries(args, wrk, work, env, files)
        floor = bench_floor(args, wrk, work, env, files)
        results = (bare, bare_sync, get, post, floor)
        print_report(args, results, rows_at_end, options)
        if args.profile:
            print_profiles(work)
        return 1 if any(r.failed for r in results) else 0
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
