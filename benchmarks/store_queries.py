"""The admin queries of SPEC §10 on the SQLite store itself, at a million fans, for each spread of ranked lists
(issue 22): cost must follow the records and the markets x ranks, never the number of distinct ranked lists.

Loads ``--fans`` phone-confirmed entries of one campaign over 40 markets with the store's bulk loader, scores every
fan through ``SqliteScoring.upsert_scores`` (5,000 rows a call, 2 % tagged ``vip``), then times each store call
(median of ``--repeat`` after one untimed run) and a transfer of the biggest market through
``SqliteSelection.transfer_entries`` (entries, their scoring records and events). Spreads:

  near   1 to 4 markets near a primary drawn with popularity 1/rank (few thousand distinct lists)
  free   1 to 4 markets drawn uniformly at random (nearly every 4-market list distinct)
  worst  exactly 4 distinct random markets each (every rank column filled, every list distinct), m00 ranked by a
         quarter of the fans at ranks 0..3 evenly: the worst case for one indexed pass per rank, and for a transfer

    .nox/tests/bin/python benchmarks/store_queries.py --spread free [--fans 1000000] [--repeat 3] [--keep DIR]

Store calls only (no HTTP, no CLI): benchmarks/eligibility.py measures those paths.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters_sqlite import SqliteScoring, SqliteSelection, SqliteStore
from adapters_sqlite.store import load_entries
from entrycore.eligibility import EligibilityCriteria
from entrycore.markets import MarketTransfer
from entrycore.model import Campaign, Entry
from entrycore.scoring import ScoreRow
from entrycore.selection import registration_counts

MARKETS = tuple(f"m{i:02d}" for i in range(40))
T0 = datetime(2026, 12, 1, tzinfo=UTC)
CAMPAIGN = Campaign.from_document(
    {
        "id": "c1",
        "name": "Bench",
        "status": "OPEN",
        "markets": [{"id": m, "name": m} for m in MARKETS],
        "preferences": [
            {"id": "market", "type": "market_select"},
            {"id": "optional_markets", "type": "additional_markets_select", "is_optional": True},
        ],
    }
)
TARGETS = {"counts": 300.0, "first page": 200.0, "page @50k": 500.0, "page @50k pref": 1000.0}


def ranked(spread: str, rng: random.Random, k: int) -> tuple[str, ...]:
    if spread == "worst":  # and a quarter of the fans rank m00, at ranks spread evenly (the transfer's worst case)
        if k % 4:
            return tuple(rng.sample(MARKETS[1:], 4))
        others = rng.sample(MARKETS[1:], 3)
        return (*others[: k // 4 % 4], MARKETS[0], *others[k // 4 % 4 :])
    if spread == "free":
        return tuple(rng.sample(MARKETS, rng.randint(1, 4)))
    primary = rng.choices(range(len(MARKETS)), weights=[1 / (i + 1) for i in range(len(MARKETS))])[0]
    near = [m for m in range(max(0, primary - 3), min(len(MARKETS), primary + 4)) if m != primary]
    return (MARKETS[primary], *(MARKETS[m] for m in rng.sample(near, rng.randint(0, 3))))


def phone(k: int) -> str:
    return f"+1{212 + k // 8_000_000:03d}{2_000_000 + k % 8_000_000:07d}"


def entries(count: int, spread: str) -> Iterator[Entry]:
    rng = random.Random(7)
    for k in range(count):
        markets = ranked(spread, rng, k)
        fields = {"email": f"fan{k}@example.com", "phone": phone(k), "market": markets[0]}
        if markets[1:]:
            fields["optional_markets"] = list(markets[1:])
        created = T0 + timedelta(seconds=k % 86_400)
        yield Entry(
            campaign_id="c1",
            user_id=f"user-{k:08d}",
            fields=fields,
            markets=markets,
            locale="en-US",
            code=f"CODE{k:08d}",
            link=None,
            date_created=created,
            date_updated=created,
            email=f"fan{k}@example.com",
            phone=phone(k),
            phone_confirmed=True,
            date_phone_confirmed=created,
            first_name=f"Fan{k}",
        )


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spread", choices=("near", "free", "worst"), default="free")
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="a folder for the database (kept, reused when it exists)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="store-queries-"))
    path = folder / f"{args.spread}-{args.fans}.db"
    fresh = not path.exists()
    store = SqliteStore(path)
    scoring, views = SqliteScoring(store.database), SqliteSelection(store.database)
    print(f"spread {args.spread}, {args.fans:,} fans, {path}")
    if fresh:
        started = time.perf_counter()
        load_entries(store.database, entries(args.fans, args.spread))
        print(f"  load (bulk, no fsync per row)               {time.perf_counter() - started:8.1f} s")
        started = time.perf_counter()
        rng = random.Random(11)
        for first in range(0, args.fans, 5_000):
            fans = range(first, min(args.fans, first + 5_000))
            rows = [
                ScoreRow(i, phone(k), rng.uniform(0, 100), tags={"vip": True} if k % 50 == 0 else {})
                for i, k in enumerate(fans)
            ]
            scoring.upsert_scores("c1", rows, [rng.random() for _ in rows])
        print(f"  scoring upsert of every fan (store calls)   {time.perf_counter() - started:8.1f} s")
    tally = views.registration_tally("c1")
    biggest = max(MARKETS, key=lambda m: sum(n for market, _, _, n in tally.ranks if market == m))
    two = (biggest, MARKETS[1] if biggest != MARKETS[1] else MARKETS[2])
    counts = lambda **c: lambda: scoring.eligibility_counts("c1", EligibilityCriteria(**c), MARKETS)  # noqa: E731
    page = lambda offset, **c: lambda: scoring.eligible_page("c1", EligibilityCriteria(**c), 1000, offset)  # noqa: E731
    timed("counts, no criteria", counts(), args.repeat)
    timed("counts, two markets", counts(market_ids=two), args.repeat)
    timed("counts, score 40-60", counts(min_score=40, max_score=60), args.repeat)
    timed("counts, tag (2 % of fans)", counts(tag="vip"), args.repeat)
    timed("counts, excludeTag", counts(exclude_tag="vip"), args.repeat)
    timed(
        "counts, registrations (SCR-010)",
        lambda: registration_counts(views.registration_tally("c1"), CAMPAIGN),
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
    store.close()


if __name__ == "__main__":
    main()
