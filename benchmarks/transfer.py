"""Market transfer at a million entries on the embedded store (issues 13 and 22, SPEC MKT-003 and §10).

For each ``--spread`` (``near``, ``free``, ``worst`` — see ``spreads.py``; a comma list or ``all``, the default) and
each ``--moves`` (``biggest``, ``all``; both by default), builds ``--fans`` (1,000,000) phone-confirmed entries of
one campaign over 40 markets and, unless ``--no-scoring``, one scoring record per fan through the store's own
upsert, in a store of its own:

  biggest  the spread's fans as they are; the biggest market moves to the next biggest (SPEC §10: a quarter of
           the fans in < 10 s; ``worst`` puts exactly a quarter in ``m00``, at ranks spread evenly over 0..3)
  all      the spread's fans, each made to rank ``m00`` (kept where it was, else put at a random rank), so that
           a transfer ``m00`` → ``m01`` moves all of them and meets all four cases of MKT-003 (target < 30 s)

Then, in one run per data set:

  transfer   ``entry-service transfer --campaign C --from S --to T`` as a subprocess: wall time, peak RSS,
             entries and scoring records moved
  check      1,000 sampled entries and records equal entrycore's reference (``markets.transferred``)
  relay      ``entry-service relay --once`` as a subprocess: every entry.transferred event delivered to the file
             sink (wall time, events/s; the backlog must end at 0)
  again      the same transfer again: nothing moves (idempotence), and how long finding that out takes

Every figure is labelled with its spread; the end prints them as one table. ``--natural`` is ``--moves biggest``.

    .nox/tests/bin/python benchmarks/transfer.py [--spread near|free|worst|all] [--moves biggest,all]
        [--fans 1000000] [--no-scoring] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
from eligibility import CAMPAIGN_ID, Report, campaign_doc, finish, phone, run_cli
from eligibility import fans as eligibility_fans
from eligibility import preload as preload_entries
from http_entries import base_env
from spreads import MARKETS, Tally, parse_spreads

from adapters_sqlite import SqliteEntryStore, SqliteScoringStore
from entrycore.markets import MarketTransfer, transferred
from entrycore.model import Entry
from entrycore.scoring import ScoreRow
from entrywire.services import read_campaign

SOURCE, TARGET = MARKETS[0], MARKETS[1]  # the move of ``all``
TARGETS_SECONDS = {"biggest": 10, "all": 30}  # SPEC §10 at 1,000,000 entries
MOVES = ("biggest", "all")
SAMPLE = 1_000


def fans(count: int, spread: str, move: str, seed: int = 5) -> Iterator[Entry]:
    """eligibility.py's fans of ``spread``; for ``all``, each made to rank SOURCE (kept where it was, else put at
    a random rank, the list cut to 4)."""
    rng = random.Random(seed)
    for entry in eligibility_fans(count, spread=spread):
        if move != "all":
            yield entry
            continue
        markets = list(entry.markets)
        if SOURCE not in markets:
            rank = rng.randrange(min(len(markets) + 1, 4))
            markets = [*markets[:rank], SOURCE, *markets[rank:]][:4]
        fields = {**entry.fields, "market": markets[0]}
        fields.pop("optional_markets", None)
        if len(markets) > 1:
            fields["optional_markets"] = markets[1:]
        yield attrs.evolve(entry, markets=tuple(markets), fields=fields)


def preload(db: Path, count: int, spread: str, move: str, scoring: bool) -> tuple[float, float, Tally]:
    """The entries (eligibility.preload); then, when asked, one scoring record per fan through
    SqliteScoringStore.upsert_scores (5,000 per call, as the CLI upload). Seconds of each, and the data set's tally."""
    tally = Tally()
    entries_seconds = preload_entries(db, count, fans(count, spread, move), tally)
    started = time.perf_counter()
    if scoring:
        store = SqliteEntryStore(db)
        records = SqliteScoringStore(store.database)
        rows: list[ScoreRow] = []
        for k in range(count):
            rows.append(ScoreRow(k, phone(k), float(k % 100)))
            if len(rows) == 5_000:
                records.upsert_scores(CAMPAIGN_ID, rows, [0.5] * len(rows))
                rows.clear()
                print(f"\r  preloading scoring records: {k + 1:,}", end="", file=sys.stderr, flush=True)
        if rows:
            records.upsert_scores(CAMPAIGN_ID, rows, [0.5] * len(rows))
        print(file=sys.stderr)
        store.close()
    return entries_seconds, time.perf_counter() - started, tally


def check(db: Path, count: int, data: tuple[str, str], moved: tuple[str, str], scoring: bool) -> tuple[int, int]:
    """SAMPLE fans' stored entries (and records) against the reference applied to the preloaded ones:
    (how many checked, how many differ)."""
    rng = random.Random(3)
    wanted = set(rng.sample(range(count), min(SAMPLE, count)))
    campaign = read_campaign(campaign_doc())
    store = SqliteEntryStore(db)
    records = SqliteScoringStore(store.database)
    wrong = 0
    for k, before in enumerate(fans(count, *data)):
        if k not in wanted:
            continue
        move = MarketTransfer.of(campaign, moved[0], moved[1], before.date_updated, "x")
        expected = transferred(before, move)
        stored = store.get(CAMPAIGN_ID, before.user_id)
        if expected is None:
            expected = before  # not ranking the source: untouched
        if stored is None or (stored.markets, dict(stored.fields)) != (
            expected.markets,
            dict(expected.fields),
        ):
            wrong += 1
        elif scoring:
            record = records.scoring_record(CAMPAIGN_ID, before.user_id)
            wrong += record is None or record.markets != expected.markets
    store.close()
    return len(wanted), wrong


def bench_move(spread: str, move: str, args: argparse.Namespace, work: Path, report: Report) -> None:
    """Every figure of one data set (spread, move), in its own store under ``work``."""
    scoring = not args.no_scoring
    (work / "campaigns.json").write_text(json.dumps({"campaigns": [campaign_doc()]}))
    env = {**base_env(work, secrets.token_hex(32)), "ENTRY_PROGRESS": "0"}
    entries_s, scoring_s, tally = preload(work / "entries.db", args.fans, spread, move, scoring)
    source = SOURCE if move == "all" else tally.biggest()
    target = TARGET if move == "all" else tally.biggest(skip=(source,))
    report.append(f"{move}: preloaded {args.fans:,} entries in {entries_s:.0f} s: {tally.describe()}")
    if scoring:
        report.append(f"{move}: preloaded {args.fans:,} scoring records in {scoring_s:.0f} s")

    def transfer() -> tuple[float, float, dict[str, int]]:
        """``entry-service transfer`` once: wall seconds, peak RSS (MB) and its answer."""
        out = work / "transfer.json"
        with out.open("wb") as handle:
            seconds, peak, _ = run_cli(
                ["transfer", "--campaign", CAMPAIGN_ID, "--from", source, "--to", target], env, stdout=handle
            )
        return seconds, peak, json.loads(out.read_text())

    seconds, peak, moved = transfer()
    limit = TARGETS_SECONDS[move]
    complete = moved["modified"] == tally.ranking[source] and (not scoring or moved["scoring"] == moved["modified"])
    what = "the biggest market" if move == "biggest" else "all entries"
    report.figure(
        f"CLI transfer of {what}",
        f"{seconds:,.1f} s",
        f"{'PASS' if seconds < limit and complete else 'FAIL'} (< {limit} s{'' if complete else '; NOT ALL MOVED'})",
        f"{source} → {target}: {moved['modified']:,} entries ({moved['modified'] / args.fans:.0%}), "
        f"{moved['scoring']:,} records, peak RSS {peak:,.0f} MB",
    )
    checked, wrong = check(work / "entries.db", args.fans, (spread, move), (source, target), scoring)
    report.figure(
        f"{move}: sampled entries{' and records' if scoring else ''} equal to the reference",
        f"{checked - wrong:,} of {checked:,}",
        "PASS" if wrong == 0 else "FAIL",
    )
    with (work / "relay.txt").open("wb") as handle:
        seconds, _, _ = run_cli(["relay", "--once"], env, stdout=handle)
    said = (work / "relay.txt").read_text().strip()
    delivered = 0
    with (work / "data" / "events.jsonl").open() as events:
        for line in events:
            delivered += '"type":"entry.transferred"' in line
    report.figure(
        f"{move}: CLI relay --once of the entry.transferred events",
        f"{seconds:,.1f} s",
        f"{'PASS' if delivered == moved['modified'] and ' 0 still pending' in said else 'FAIL'} (all delivered)",
        f"{delivered:,} events, {delivered / seconds:,.0f} events/s; relay said: {said}",
    )
    seconds, _, again = transfer()
    report.figure(
        f"{move}: the same transfer again",
        f"{seconds:,.1f} s",
        f"{'PASS' if again == {'modified': 0, 'scoring': 0} else 'FAIL'} (idempotent)",
        f"{again['modified']} entries, {again['scoring']} records moved",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spread", default="all", help="near, free, worst, a comma list of them, or all (default)")
    parser.add_argument("--moves", default="biggest,all", help="biggest, all, or both (default)")
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--no-scoring", action="store_true", help="Do not preload scoring records.")
    parser.add_argument("--natural", action="store_true", help="Same as --moves biggest.")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    moves = ("biggest",) if args.natural else tuple(m.strip() for m in args.moves.split(",") if m.strip())
    try:
        spreads = parse_spreads(args.spread)
    except ValueError as err:
        parser.error(str(err))
    if not moves or any(m not in MOVES for m in moves):
        parser.error(f"--moves: choose among {', '.join(MOVES)}")
    report = Report()
    folders: list[Path] = []
    try:
        for spread in spreads:
            report.spread = spread
            for move in moves:
                work = Path(tempfile.mkdtemp(prefix=f"entry-transfer-{spread}-{move}-"))
                folders.append(work)
                print(f"[{spread}] {move}: working folder {work}", file=sys.stderr)
                bench_move(spread, move, args, work, report)
                if not args.keep:
                    shutil.rmtree(work, ignore_errors=True)
    finally:
        report.spread = ""
        finish("transfer", report, folders, keep=args.keep, detail=f"{args.fans:,} fans")


if __name__ == "__main__":
    main()
