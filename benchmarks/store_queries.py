"""The admin queries of SPEC §10 on the SQLite store itself, at a million fans, for each spread of ranked lists
(issue 22): cost must follow the records and the markets x ranks, never the number of distinct ranked lists.

Loads ``--fans`` phone-confirmed entries of one campaign over 40 markets (eligibility.py's fans, spreads.py's
spreads) with the store's bulk loader, scores every
fan through ``SqliteScoringStore.upsert_scores`` (5,000 rows a call, 2 % tagged ``vip``), then times each store call
(median of ``--repeat`` after one untimed run) and a transfer of the biggest market through
``SqliteSelectionStore.transfer_entries`` (entries, their scoring records and events). ``worst`` (every fan ranks 4
markets, lists distinct as far as possible, ``m00`` ranked by a quarter of the fans at ranks 0..3 evenly) is the
worst case of this layout: every rank column filled for one indexed pass per rank, and the biggest transfer.

    .nox/tests/bin/python benchmarks/store_queries.py --spread free [--fans 1000000] [--repeat 3] [--keep DIR]

Store calls only (no HTTP, no CLI): benchmarks/eligibility.py measures those paths.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from eligibility import CAMPAIGN_ID, campaign_doc, fans, phone
from spreads import MARKETS

from adapters_sqlite import SqliteEntryStore, SqliteScoringStore, SqliteSelectionStore
from adapters_sqlite.store import load_entries
from entrycore.eligibility import EligibilityCriteria
from entrycore.markets import MarketTransfer
from entrycore.scoring import ScoreRow
from entrycore.selection import registration_counts
from entrywire.services import read_campaign

CAMPAIGN = read_campaign(campaign_doc())
C = CAMPAIGN_ID
T0 = datetime(2026, 12, 1, tzinfo=UTC)
TARGETS = {"counts": 300.0, "first page": 200.0, "page @50k": 500.0, "page @50k pref": 1000.0}


def timed(label: str, call: Callable[[], object], repeat: int) -> None:
    call()
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        runs.append((time.perf_counter() - started) * 1000)
    median = statistics.median(runs)
    target = next((t for name, t in sorted(TARGETS.items(), key=lambda i: -len(i[0])) if label.startswith(name)), None)
    verdict = "" if target is None else f"  (< {target:.0f} ms: {'PASS' if median < target else 'FAIL'})"
    print(f"  {label:<44} {median:8.0f} ms{verdict}", flush=True)


def prepared(path: Path, count: int, spread: str) -> SqliteEntryStore:
    """The SQLite file at ``path`` with ``count`` scored, phone-confirmed fans of one campaign (built once: a file
    that exists is reused as it is)."""
    fresh = not path.exists()
    store = SqliteEntryStore(path)
    print(f"spread {spread}, {count:,} fans, {path}")
    started = time.perf_counter()
    store.ping()  # opens the file: migrates one written by an older release (OPS-006)
    print(f"  open (and migrate, if older)                {time.perf_counter() - started:8.1f} s")
    if fresh:
        started = time.perf_counter()
        load_entries(store.database, fans(count, spread=spread))
        print(f"  load (bulk, no fsync per row)               {time.perf_counter() - started:8.1f} s")
        started = time.perf_counter()
        scoring = SqliteScoringStore(store.database)
        rng = random.Random(11)
        for first in range(0, count, 5_000):
            chunk = range(first, min(count, first + 5_000))
            rows = [
                ScoreRow(i, phone(k), rng.uniform(0, 100), tags={"vip": True} if k % 50 == 0 else {})
                for i, k in enumerate(chunk)
            ]
            scoring.upsert_scores(C, rows, [rng.random() for _ in rows])
        print(f"  scoring upsert of every fan (store calls)   {time.perf_counter() - started:8.1f} s")
    return store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spread", choices=("near", "free", "worst"), default="free")
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="a folder for the database (kept, reused when it exists)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="store-queries-"))
    path = folder / f"{args.spread}-{args.fans}.db"
    store = prepared(path, args.fans, args.spread)
    scoring, views = SqliteScoringStore(store.database), SqliteSelectionStore(store.database)
    started = time.perf_counter()
    tally = views.registration_tally(C)  # the first admin question of the process reads the columnar copy
    print(f"  first question: the columnar copy read      {time.perf_counter() - started:8.1f} s")
    biggest = max(MARKETS, key=lambda m: sum(n for market, _, _, n in tally.ranks if market == m))
    two = (biggest, MARKETS[1] if biggest != MARKETS[1] else MARKETS[2])
    counts = lambda **c: lambda: scoring.eligibility_counts(C, EligibilityCriteria(**c), MARKETS)  # noqa: E731
    page = lambda offset, **c: lambda: scoring.eligible_page(C, EligibilityCriteria(**c), 1000, offset)  # noqa: E731
    timed("counts, no criteria", counts(), args.repeat)
    timed("counts, two markets", counts(market_ids=two), args.repeat)
    timed("counts, score 40-60", counts(min_score=40, max_score=60), args.repeat)
    timed("counts, tag (2 % of fans)", counts(tag="vip"), args.repeat)
    timed("counts, excludeTag", counts(exclude_tag="vip"), args.repeat)
    timed(
        "counts, registrations (SCR-010)",
        lambda: registration_counts(views.registration_tally(C), CAMPAIGN),
        args.repeat,
    )
    timed("first page, score order", page(0), args.repeat)
    timed("first page, two markets", page(0, market_ids=two), args.repeat)
    timed("page @50k, score order", page(50_000), args.repeat)
    timed("page @50k, random order", page(50_000, random_selection=True), args.repeat)
    timed("page @50k pref, two markets", page(50_000, market_ids=two, order_by_preference=True), args.repeat)
    ranking = sum(n for market, _, _, n in tally.ranks if market == biggest)
    target = next(m for m in MARKETS if m not in two)
    move = MarketTransfer.of(CAMPAIGN, biggest, target, T0, f"bench-{time.time_ns()}")
    started = time.perf_counter()
    moved, records = views.transfer_entries(move)
    seconds = time.perf_counter() - started
    print(
        f"  transfer {biggest} -> {target}: {moved:,} entries ({ranking / args.fans:.0%} of the fans) and {records:,}"
        f" records in {seconds:.1f} s ({seconds / max(moved, 1) * 1e6:.0f} us an entry)"
    )
    started = time.perf_counter()
    counts()()
    print(f"  counts right after it (the copy catches up) {(time.perf_counter() - started) * 1000:8.0f} ms")
    store.close()


if __name__ == "__main__":
    main()
