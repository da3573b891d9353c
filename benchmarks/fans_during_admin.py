"""Fans during admin bulk work (SPEC OPS-005, issue 22): fans' registration latency while admins work.

Starts the real ``entry-service serve`` (``--workers`` 2 x ``--threads`` 8) on a SQLite store preloaded with
``--fans`` (1,000,000) phone-confirmed entries of one campaign over 40 markets (``--spread``, default ``worst``:
every fan ranks 4 markets, the biggest market holds a quarter of them — see spreads.py), then holds
``--rate`` (50) fan registrations per second against it — an open loop: request i is due at ``t0 + i / rate``
and its latency is measured from that due time, so a slow server is never hidden by a client that waits for it
— a mix of new registrations (``--updates`` 0.5: half are updates of preloaded fans' names and additional
markets), real ``POST /{campaignId}/entries`` with each fan's own bearer token, sent from ``--senders`` (128)
threads, each on its own keep-alive connection. While that load runs, one phase after another:

  idle      nothing else (``--idle`` seconds)
  upload    ``entry-service scoring upload`` of one row per fan (a subprocess): the scoring records of the rest
  transfer  a transfer of the biggest market to the next biggest: ``POST /{c}/entries/transfer`` with an admin
            token, or ``entry-service transfer`` as a subprocess with ``--cli-transfer``
  counts    ``--admin-clients`` (4) admin clients asking ``GET /{c}/entries/eligibility`` in a loop (criteria
            rotating: none, two markets, a score range, a tag) for ``--counts-seconds`` (30)
  export    a full selection export: ``entry-service selection export --campaign C`` to a file (a subprocess),
            or ``GET /{c}/entries/scoring`` with ``Accept: text/csv`` with ``--http-export``
  commit    ``POST /{c}/draws`` of every scored fan (SPEC DRW-001), ``--offers`` (100,000) units over the markets
  reveal    ``POST /{c}/draws/{d}/reveal`` of that draw: allocation, results file, the offers' events and notices
  replicate batch replication: ``--admin-clients`` (4) clients saving ``--replicas`` (40,000) new fans through
            ``POST /v2/entries``, 1,000 items a request (USR-004, as ``batch_replication.py`` does)

For each phase, over the fan requests due while it ran: how many, p50 / p95 / p99 / max latency (ms), errors
(any answer but 200/201, or no answer within 30 s), the rate actually held, the generator's own lag (send time
minus due time: when it grows while latency does not, the client is the bottleneck) and PASS/FAIL against
OPS-005's target (p99 < 500 ms and no error); and the admin job's own duration (and its figures). ``--gap`` (3)
seconds of load separate the phases (not counted). ``--phases`` runs a subset, in this order; without
``upload`` the scoring records are preloaded through the store before serve starts.

    .nox/tests/bin/python benchmarks/fans_during_admin.py [--fans 1000000] [--spread worst] [--rate 50]
        [--cli-transfer] [--http-export] [--phases idle,upload,transfer,counts,export,commit,reveal,replicate]
        [--offers N] [--keep]
"""

from __future__ import annotations

import argparse
import http.client
import json
import queue
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bench_data
import jwt
from batch_replication import send_all
from eligibility import CAMPAIGN_ID, SCORE_RANGE, campaign_doc, fans, finish, phone, preload, run_cli, write_scores
from http_entries import Server, base_env, entry_service_command, free_port
from spreads import MARKETS, SPREADS, Tally

from adapters_sqlite import SqliteEntryStore, SqliteScoringStore
from entrycore.scoring import ScoreRow

PHASES = ("idle", "upload", "transfer", "counts", "export", "commit", "reveal", "replicate")
TARGET_P99_MS = 500
TIMEOUT = 30.0  # seconds a fan request may take before it counts as an error
# serve closes a kept-alive connection idle for its --header-timeout (10 s); a client's pool keeps them for less
# (a sender may wait longer than that for its next request: 128 senders share ~50 requests/s unevenly)
KEEP_ALIVE_IDLE = 5.0
PATH = f"/{CAMPAIGN_ID}/entries"


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=1_000_000, help="preloaded confirmed entries (default 1000000)")
    parser.add_argument("--spread", default="worst", choices=SPREADS, help="fans' ranked lists (default worst)")
    parser.add_argument("--rate", type=float, default=50.0, help="fan registrations per second (default 50)")
    parser.add_argument("--updates", type=float, default=0.5, help="share of updates among them (default 0.5)")
    parser.add_argument("--senders", type=int, default=128, help="client threads sending them (default 128)")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers (default 2)")
    parser.add_argument("--threads", type=int, default=8, help="serve --threads (default 8)")
    parser.add_argument("--idle", type=float, default=20.0, help="seconds of the idle phase (default 20)")
    parser.add_argument("--counts-seconds", type=float, default=30.0, help="seconds of the counts phase")
    parser.add_argument("--admin-clients", type=int, default=4, help="admin clients of the counts phase")
    parser.add_argument("--replicas", type=int, default=40_000, help="new fans of the replicate phase")
    parser.add_argument("--gap", type=float, default=3.0, help="seconds of load between phases, not counted")
    parser.add_argument("--cli-transfer", action="store_true", help="the transfer as `entry-service transfer`")
    parser.add_argument("--http-export", action="store_true", help="the export as GET …/scoring (text/csv)")
    parser.add_argument("--offers", type=int, default=100_000, help="units of the draw phases (default 100000)")
    parser.add_argument("--phases", default=",".join(PHASES), help=f"a comma list of {', '.join(PHASES)}")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    args = parser.parse_args(argv)
    chosen = [p.strip() for p in args.phases.split(",") if p.strip()]
    if not chosen or any(p not in PHASES for p in chosen):
        parser.error(f"--phases: a comma list of {', '.join(PHASES)}")
    args.phases = tuple(p for p in PHASES if p in chosen)
    if args.rate <= 0 or not 0 <= args.updates <= 1 or args.senders < 1 or args.fans < 1:
        parser.error("--rate > 0, 0 ≤ --updates ≤ 1, --senders ≥ 1, --fans ≥ 1")
    return args


# --- the fans' load -------------------------------------------------------------------------------------------


@dataclass
class Sent:
    due: float  # monotonic time the request was due
    lag: float  # seconds from due to sending (the generator's own delay)
    took: float  # seconds from due to the whole answer (the latency reported)
    outcome: str  # "ok" or what went wrong (status code, exception name)


class FanLoad:
    """Open-loop fan registrations: a scheduler queues request i at its due time ``t0 + i / rate``; sender
    threads (each with its own keep-alive connection) send them; every outcome is kept with its due time."""

    def __init__(self, port: int, secret: str, args: argparse.Namespace, primaries: bytearray, avoid: set[str]):
        self.port, self.secret, self.args = port, secret, args
        self.primaries, self.avoid = primaries, avoid  # fan k's primary market index; markets never submitted
        self.sent: list[Sent] = []
        self.due: queue.SimpleQueue[tuple[int, float] | None] = queue.SimpleQueue()
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.next_new = 0

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._sender, daemon=True) for _ in range(self.args.senders)]
        self.threads.append(threading.Thread(target=self._schedule, daemon=True))
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        self.stop.set()
        for _ in range(self.args.senders):
            self.due.put(None)
        deadline = time.monotonic() + TIMEOUT + 5
        for thread in self.threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _schedule(self) -> None:
        interval = 1 / self.args.rate
        start = time.monotonic()
        i = 0
        while not self.stop.is_set():
            due = start + i * interval
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            self.due.put((i, due))
            i += 1

    def _request(self, i: int) -> tuple[str, bytes]:
        """Request i's token and body: an update of a random preloaded fan, or a new fan's registration."""
        rng = random.Random(i)
        if rng.random() < self.args.updates:
            k = rng.randrange(self.args.fans)
            user = f"fan-{k:07d}"
            fields: dict[str, Any] = {"first_name": f"Fan {k} live {i}"}
            if i % 2:  # also new additional markets: never the primary, nor a market a transfer may rename
                skip = {MARKETS[self.primaries[k]], *self.avoid}
                fields["optional_markets"] = rng.sample([m for m in MARKETS if m not in skip], rng.randint(0, 2))
        else:
            k = self.args.fans + i  # phones after the preloaded fans'
            user = f"live-{i}"
            chosen = rng.sample(MARKETS, rng.randint(1, 3))
            fields = {"email": f"live{i}@example.com", "phone": phone(k), "first_name": f"Live {i}"}
            fields["market"] = chosen[0]
            if len(chosen) > 1:
                fields["optional_markets"] = chosen[1:]
        token = bench_data.token(self.secret, user, 3 * 3600)
        return token, json.dumps({"fields": fields, "locale": "en-US"}, separators=(",", ":")).encode()

    def _sender(self) -> None:
        conn: http.client.HTTPConnection | None = None
        used = 0.0  # when the kept-alive connection last answered
        while True:
            item = self.due.get()
            if item is None:
                break
            i, due = item
            lag = time.monotonic() - due
            token, body = self._request(i)
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            if conn is not None and time.monotonic() - used > KEEP_ALIVE_IDLE:
                conn.close()  # as HTTP clients' pools do: never reuse one the server may be closing
                conn = None
            reused = conn is not None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
                conn.request("POST", PATH, body=body, headers=headers)
                response = conn.getresponse()
                answer = response.read()
                used = time.monotonic()
                outcome = "ok" if response.status in (200, 201) else f"{response.status} {_code(answer)}"
            except (OSError, http.client.HTTPException) as err:
                # which connection failed: a kept-alive one idle for how long (serve closes those idle past its
                # --header-timeout), or a new one
                idle_for = f"kept-alive, idle {time.monotonic() - used:.0f} s" if reused else "new connection"
                outcome = f"{type(err).__name__} ({idle_for})"
                if conn is not None:
                    conn.close()
                conn = None
            self.sent.append(Sent(due, lag, time.monotonic() - due, outcome))
        if conn is not None:
            conn.close()


def _code(answer: bytes) -> str:
    try:
        return str(json.loads(answer).get("code", ""))
    except (ValueError, AttributeError):
        return ""


# --- the phases --------------------------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    start: float = 0.0
    end: float = 0.0
    job: str = "—"  # the admin job's own figures
    extra: list[str] = field(default_factory=list)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


def summarize(phase: Phase, sent: list[Sent]) -> tuple[str, bool]:
    """The phase's line: fans' latency over the requests due while it ran, errors, rate, the client's lag."""
    mine = [s for s in sent if phase.start <= s.due < phase.end]
    took = [s.took * 1000 for s in mine]
    lags = [s.lag * 1000 for s in mine]
    errors = Counter(s.outcome for s in mine if s.outcome != "ok")
    seconds = max(phase.end - phase.start, 1e-9)
    p99 = percentile(took, 0.99)
    ok = bool(mine) and p99 < TARGET_P99_MS and not errors
    verdict = f"{'PASS' if ok else 'FAIL'} (p99 < {TARGET_P99_MS} ms, 0 errors)"
    shown_errors = ", ".join(f"{n} x {what}" for what, n in errors.most_common(4)) if errors else "0"
    line = (
        f"{phase.name:<28} {len(mine):>6,} fans in {seconds:6.1f} s ({len(mine) / seconds:4.1f}/s)  "
        f"p50 {percentile(took, 0.5):7.1f}  p95 {percentile(took, 0.95):7.1f}  p99 {p99:7.1f}  "
        f"max {max(took, default=float('nan')):7.1f} ms  errors {shown_errors}  "
        f"client lag p99 {percentile(lags, 0.99):.1f} / max {max(lags, default=float('nan')):.1f} ms  {verdict}"
    )
    return line, ok


def admin_token(secret: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": "admin-1", "isSupreme": True, "iat": now, "exp": now + 3 * 3600}, secret, "HS256")


def http_call(port: int, method: str, path: str, token: str, body: Any = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
    headers = {"Authorization": f"Bearer {token}"}
    data = None if body is None else json.dumps(body).encode()
    if data is not None:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def idle(seconds: float) -> str:
    time.sleep(seconds)
    return "—"


def timed_job(job: Callable[[], str]) -> tuple[float, str]:
    started = time.perf_counter()
    said = job()
    return time.perf_counter() - started, said


def phase_upload(work: Path, env: dict[str, str], args: argparse.Namespace) -> str:
    seconds, peak, _ = run_cli(["scoring", "upload", str(work / "scores.csv"), "--campaign", CAMPAIGN_ID], env)
    return f"CLI scoring upload of {args.fans:,} rows: {seconds:.1f} s, peak RSS {peak:,.0f} MB"


def phase_transfer(port: int, token: str, env: dict[str, str], move: tuple[str, str], args: argparse.Namespace) -> str:
    source, target = move
    if args.cli_transfer:
        out = Path(env["ENTRY_DATA_DIR"]).parent / "transfer.json"
        with out.open("wb") as handle:
            seconds, peak, _ = run_cli(
                ["transfer", "--campaign", CAMPAIGN_ID, "--from", source, "--to", target], env, stdout=handle
            )
        moved = json.loads(out.read_text())
        return (
            f"CLI transfer {source} → {target}: {moved['modified']:,} entries, {moved['scoring']:,} records "
            f"in {seconds:.1f} s, peak RSS {peak:,.0f} MB"
        )
    started = time.perf_counter()
    status, answer = http_call(port, "POST", f"{PATH}/transfer", token, {"fromMarketId": source, "toMarketId": target})
    seconds = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"POST {PATH}/transfer: {status} {answer[:300]!r}")
    return f"HTTP transfer {source} → {target}: {json.loads(answer)['modified']:,} entries in {seconds:.1f} s"


def phase_commit(port: int, token: str, drawn: dict[str, str], args: argparse.Namespace) -> str:
    """A draw of every eligible fan (SPEC DRW-001), ``--offers`` units over the 40 markets, no beacon round."""
    share, extra = divmod(args.offers, len(MARKETS))
    capacities = {m: share + (1 if i < extra else 0) for i, m in enumerate(MARKETS)}
    body = {"name": "bench", "criteria": {}, "capacities": capacities}
    started = time.perf_counter()
    status, answer = http_call(port, "POST", f"/{CAMPAIGN_ID}/draws", token, body)
    seconds = time.perf_counter() - started
    if status != 201:
        raise SystemExit(f"POST /{CAMPAIGN_ID}/draws: {status} {answer[:300]!r}")
    draw = json.loads(answer)
    drawn["id"] = draw["drawId"]
    return f"HTTP draw commit: {draw['rules']['entrantsCount']:,} entrants in {seconds:.1f} s"


def phase_reveal(port: int, token: str, drawn: dict[str, str]) -> str:
    started = time.perf_counter()
    status, answer = http_call(port, "POST", f"/{CAMPAIGN_ID}/draws/{drawn['id']}/reveal", token, {})
    seconds = time.perf_counter() - started
    if status != 200:
        raise SystemExit(f"POST …/reveal: {status} {answer[:300]!r}")
    offered = sum(m["offered"] for m in json.loads(answer)["markets"])
    return f"HTTP draw reveal: {offered:,} offers in {seconds:.1f} s"


def phase_counts(port: int, token: str, args: argparse.Namespace) -> str:
    queries = [
        f"{PATH}/eligibility",
        f"{PATH}/eligibility?marketIds={MARKETS[0]},{MARKETS[1]}",
        f"{PATH}/eligibility?{SCORE_RANGE}",
        f"{PATH}/eligibility?tag=vip",
    ]
    end = time.monotonic() + args.counts_seconds
    took: list[float] = []
    errors = Counter[str]()

    def client(n: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        i = n
        while time.monotonic() < end:
            started = time.monotonic()
            try:
                conn.request("GET", queries[i % len(queries)], headers={"Authorization": f"Bearer {token}"})
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    errors[str(response.status)] += 1
            except (OSError, http.client.HTTPException) as err:
                errors[type(err).__name__] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            took.append((time.monotonic() - started) * 1000)
            i += 1
        conn.close()

    started = time.monotonic()
    clients = [threading.Thread(target=client, args=(n,)) for n in range(args.admin_clients)]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    seconds = time.monotonic() - started
    return (
        f"{args.admin_clients} admin clients, eligibility counts: {len(took):,} requests in {seconds:.1f} s "
        f"({len(took) / seconds:,.1f} req/s), p50 {percentile(took, 0.5):.0f} / p99 {percentile(took, 0.99):.0f} ms"
        f", errors {sum(errors.values())}"
    )


def phase_export(work: Path, port: int, token: str, env: dict[str, str], args: argparse.Namespace) -> str:
    exported = work / "export.csv"
    if args.http_export:
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3600)
        conn.request("GET", f"{PATH}/scoring", headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"})
        response = conn.getresponse()
        kind = response.getheader("Content-Type", "")
        if response.status != 200 or not kind.startswith("text/csv"):
            conn.close()
            return f"HTTP export NOT SERVED: GET {PATH}/scoring with Accept: text/csv answered {response.status} {kind}"
        lines = 0
        while chunk := response.read(1 << 16):
            lines += chunk.count(b"\n")
        conn.close()
        seconds = time.perf_counter() - started
        return f"HTTP export: {lines - 1:,} rows in {seconds:.1f} s"
    with exported.open("wb") as out:
        seconds, peak, _ = run_cli(["selection", "export", "--campaign", CAMPAIGN_ID], env, stdout=out)
    with exported.open("rb") as read:
        rows = sum(1 for _ in read) - 1
    return f"CLI selection export: {rows:,} rows in {seconds:.1f} s, peak RSS {peak:,.0f} MB"


# --- the run ---------------------------------------------------------------------------------------------------


def phase_replicate(port: int, token: str, args: argparse.Namespace) -> str:
    """``--replicas`` new fans (phones after the preloaded and the live fans') saved by ``--admin-clients``
    clients, 1,000 a request, with batch_replication.py's clients; every item must answer ok."""
    requests = []
    first = args.fans + 10_000_000
    for start in range(0, args.replicas, 1_000):
        items = []
        for i in range(start, min(start + 1_000, args.replicas)):
            rng = random.Random(-1 - i)
            chosen = rng.sample(MARKETS, rng.randint(1, 4))
            fields = {"email": f"replica{i}@example.com", "phone": phone(first + i), "first_name": f"Replica {i}"}
            fields |= {"market": chosen[0], "optional_markets": chosen[1:]}
            items.append({"campaignId": CAMPAIGN_ID, "userId": f"replica-{i}", "fields": fields, "locale": "en-US"})
        body = json.dumps({"entries": items, "deletions": []}, separators=(",", ":")).encode()
        requests.append((body, len(items), 0))
    seconds, took, ok, problems = send_all(port, token, requests, args.admin_clients)
    if problems or ok != args.replicas:
        raise SystemExit(f"POST /v2/entries: {ok:,} of {args.replicas:,} saved; {problems[:3]}")
    return (
        f"{args.admin_clients} clients, POST /v2/entries: {ok:,} of {args.replicas:,} saved in {seconds:.1f} s "
        f"({ok / seconds:,.0f} entries/s), request p50 {percentile(took, 0.5):.0f} / max {max(took):.0f} ms"
    )


def prepare(work: Path, args: argparse.Namespace) -> tuple[bytearray, Tally]:
    """The store with the preloaded fans (and, without an upload phase, their scoring records) and the upload's
    CSV; returns each fan's primary market index and the data set's tally."""
    (work / "campaigns.json").write_text(json.dumps({"campaigns": [campaign_doc()]}))
    primaries = bytearray(args.fans)
    index = {m: i for i, m in enumerate(MARKETS)}
    tally = Tally()

    def entries() -> Any:
        for k, entry in enumerate(fans(args.fans, spread=args.spread)):
            primaries[k] = index[entry.markets[0]]
            yield entry

    seconds = preload(work / "entries.db", args.fans, entries(), tally)
    print(f"  preloaded {args.fans:,} confirmed entries in {seconds:.0f} s: {tally.describe()}", file=sys.stderr)
    write_scores(work / "scores.csv", args.fans)
    if "upload" not in args.phases and {"counts", "export", "transfer", "commit"} & set(args.phases):
        store = SqliteEntryStore(work / "entries.db")
        records = SqliteScoringStore(store.database)
        for lo in range(0, args.fans, 5_000):
            rows = [ScoreRow(k, phone(k), float(k % 100)) for k in range(lo, min(lo + 5_000, args.fans))]
            records.upsert_scores(CAMPAIGN_ID, rows, [random.random() for _ in rows])
        store.close()
    return primaries, tally


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    work = Path(tempfile.mkdtemp(prefix="entry-fans-during-admin-"))
    print(f"working folder {work}", file=sys.stderr)
    report: list[str] = []
    failed = False
    try:
        primaries, tally = prepare(work, args)
        source = tally.biggest()
        move = (source, tally.biggest(skip=(source,)))
        secret = secrets.token_hex(32)
        env = base_env(work, secret)
        cli_env = {**env, "ENTRY_PROGRESS": "0"}
        port = free_port()
        command = [entry_service_command(), "serve", "--port", str(port)]
        command += ["--workers", str(args.workers), "--threads", str(args.threads)]
        token = admin_token(secret)
        drawn: dict[str, str] = {}  # the draw the commit phase made, for the reveal phase
        report.append(
            f"serve {args.workers} workers x {args.threads} threads; {args.fans:,} confirmed entries, spread "
            f"{args.spread} ({tally.describe()}); fans {args.rate:g}/s open loop ({args.updates:.0%} updates), "
            f"{args.senders} sender threads"
        )
        jobs: dict[str, Callable[[], str]] = {
            "idle": lambda: idle(args.idle),
            "upload": lambda: phase_upload(work, cli_env, args),
            "transfer": lambda: phase_transfer(port, token, cli_env, move, args),
            "counts": lambda: phase_counts(port, token, args),
            "export": lambda: phase_export(work, port, token, cli_env, args),
            "commit": lambda: phase_commit(port, token, drawn, args),
            "reveal": lambda: phase_reveal(port, token, drawn),
            "replicate": lambda: phase_replicate(port, token, args),
        }
        names = {
            "idle": "nothing else",
            "upload": "CLI scoring upload",
            "transfer": f"{'CLI' if args.cli_transfer else 'HTTP'} transfer of {source}",
            "counts": f"{args.admin_clients} admin clients, counts",
            "export": f"{'HTTP' if args.http_export else 'CLI'} selection export",
            "commit": "HTTP draw commit",
            "reveal": "HTTP draw reveal",
            "replicate": f"{args.admin_clients} clients replicating",
        }
        with Server("entry-service", command, env, work / "serve.log", port) as server:
            server.wait_ready("/heartbeat")
            load = FanLoad(port, secret, args, primaries, set(move))
            load.start()
            phases: list[Phase] = []
            try:
                time.sleep(max(args.gap, 2.0))  # warm-up: every worker and connection has answered once
                for name in args.phases:
                    phase = Phase(names[name], start=time.monotonic())
                    print(f"  phase {name} …", file=sys.stderr, flush=True)
                    seconds, phase.job = timed_job(jobs[name])
                    phase.end = time.monotonic()
                    phase.job = f"{phase.job} (phase {seconds:.1f} s)" if name != "idle" else "—"
                    phases.append(phase)
                    time.sleep(args.gap)
            finally:
                load.close()
            if server.proc is not None and server.proc.poll() is not None:
                report.append(f"serve EXITED during the run:\n{server.log_tail()}")
                failed = True
        for phase in phases:
            line, ok = summarize(phase, load.sent)
            failed |= not ok
            report.append(line)
            report.append(f"{'':<28} admin job: {phase.job}")
        late = [s for s in load.sent if s.lag > 0.05]
        report.append(
            f"generator: {len(load.sent):,} requests sent in all, {len(late):,} sent > 50 ms after they were due "
            f"(mean lag {statistics.fmean([s.lag * 1000 for s in load.sent] or [0.0]):.2f} ms)"
        )
    finally:
        finish("fans during admin (OPS-005)", report, work, keep=args.keep, detail=f"{args.fans:,} fans")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
