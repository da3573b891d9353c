"""Market transfer at a million entries on the embedded store (issue 13, SPEC MKT-003).

Builds ``--fans`` (1,000,000) phone-confirmed entries of one campaign over 40 markets (the preference lists of
``eligibility.py``), every one of them ranking the source market ``m00`` at some rank, so that a transfer moves
all of them and meets all four cases of MKT-003 (the target ``m01`` is a neighbour, ranked too by many fans);
and, unless ``--no-scoring``, one scoring record per fan through the store's own upsert. Then, in one run:

``--natural`` keeps eligibility.py's fans as they are: a 1,000,000-entry campaign whose biggest market moves
(about a third of the fans rank it).

  transfer   ``entry-service transfer --campaign C --from m00 --to m01`` as a subprocess: wall time, peak RSS,
             entries and scoring records moved (target: < 30 s)
  check      1,000 sampled entries and records equal entrycore's reference (``markets.transferred``)
  relay      ``entry-service relay --once`` as a subprocess: every entry.transferred event delivered to the file
             sink (wall time, events/s; the backlog must end at 0)
  again      the same transfer again: nothing moves (idempotence), and how long finding that out takes

    .nox/tests/bin/python benchmarks/transfer.py [--fans 1000000] [--no-scoring] [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
from eligibility import CAMPAIGN_ID, Report, campaign_doc, finish, run_cli
from eligibility import fans as eligibility_fans
from eligibility import preload as preload_entries
from http_entries import base_env

from adapters_sqlite import SqliteScoring, SqliteStore
from entrycore.markets import MarketTransfer, transferred
from entrycore.model import Campaign, Entry
from entrycore.scoring import ScoreRow

SOURCE, TARGET = "m00", "m01"
TARGET_SECONDS = 30
SAMPLE = 1_000


NATURAL = False  # --natural: eligibility.py's fans as they are (about a third rank SOURCE)


def fans(count: int, seed: int = 5) -> Iterator[Entry]:
    """eligibility.py's fans, each made to rank SOURCE (kept where it was, else put at a random rank), unless
    NATURAL."""
    rng = random.Random(seed)
    for entry in eligibility_fans(count):
        if NATURAL:
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


def preload(db: Path, count: int, scoring: bool) -> tuple[float, float]:
    """The entries (eligibility.preload); then, when asked, one scoring record per fan through
    SqliteScoring.upsert_scores (5,000 per call, as the CLI upload). Seconds of each."""
    entries_seconds = preload_entries(db, count, fans(count))
    started = time.perf_counter()
    if scoring:
        store = SqliteStore(db)
        records = SqliteScoring(store.database)
        rows: list[ScoreRow] = []
        for k, entry in enumerate(fans(count)):
            rows.append(ScoreRow(k, entry.phone or "", float(k % 100)))
            if len(rows) == 5_000:
                records.upsert_scores(CAMPAIGN_ID, rows, [0.5] * len(rows))
                rows.clear()
                print(f"\r  preloading scoring records: {k + 1:,}", end="", file=sys.stderr, flush=True)
        if rows:
            records.upsert_scores(CAMPAIGN_ID, rows, [0.5] * len(rows))
        print(file=sys.stderr)
        store.close()
    return entries_seconds, time.perf_counter() - started


def check(db: Path, count: int, scoring: bool) -> str:
    """SAMPLE fans' stored entries (and records) against the reference applied to the preloaded ones."""
    rng = random.Random(3)
    wanted = set(rng.sample(range(count), min(SAMPLE, count)))
    campaign = Campaign.from_document(campaign_doc())
    store = SqliteStore(db)
    records = SqliteScoring(store.database)
    wrong = 0
    for k, before in enumerate(fans(count)):
        if k not in wanted:
            continue
        move = MarketTransfer.of(campaign, SOURCE, TARGET, before.date_updated, "x")
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
    return f"{len(wanted):,} sampled entries{' and records' if scoring else ''} equal to the reference: " + (
        "yes" if wrong == 0 else f"NO ({wrong} differ)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--no-scoring", action="store_true", help="Do not preload scoring records.")
    parser.add_argument("--natural", action="store_true", help="Fans as eligibility.py makes them: not all move.")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    global NATURAL  # noqa: PLW0603 - the data set's one switch, read by fans()
    NATURAL = args.natural
    scoring = not args.no_scoring
    work = Path(tempfile.mkdtemp(prefix="entry-transfer-"))
    print(f"working folder {work}", file=sys.stderr)
    report = Report()
    try:
        (work / "campaigns.json").write_text(json.dumps({"campaigns": [campaign_doc()]}))
        env = {**base_env(work, secrets.token_hex(32)), "ENTRY_PROGRESS": "0"}
        entries_s, scoring_s = preload(work / "entries.db", args.fans, scoring)
        ranking = "" if args.natural else f" ranking {SOURCE}"
        report.append(f"preloaded {args.fans:,} entries{ranking} in {entries_s:.0f} s")
        if scoring:
            report.append(f"preloaded {args.fans:,} scoring records in {scoring_s:.0f} s")

        def transfer() -> tuple[float, float, dict[str, int]]:
            """``entry-service transfer`` once: wall seconds, peak RSS (MB) and its answer."""
            out = work / "transfer.json"
            with out.open("wb") as handle:
                seconds, peak, _ = run_cli(
                    ["transfer", "--campaign", CAMPAIGN_ID, "--from", SOURCE, "--to", TARGET], env, stdout=handle
                )
            return seconds, peak, json.loads(out.read_text())

        seconds, peak, moved = transfer()
        report.append(
            f"CLI transfer {SOURCE} → {TARGET}: {moved['modified']:,} entries and {moved['scoring']:,} scoring records "
            f"moved in {seconds:.1f} s, peak RSS {peak:,.0f} MB  "
            f"{'PASS' if seconds < TARGET_SECONDS and (args.natural or moved['modified'] == args.fans) else 'FAIL'} "
            f"({'the campaign of' if args.natural else 'all'} {args.fans:,} entries in < {TARGET_SECONDS} s)"
        )
        report.append(check(work / "entries.db", args.fans, scoring))
        with (work / "relay.txt").open("wb") as handle:
            seconds, _, _ = run_cli(["relay", "--once"], env, stdout=handle)
        said = (work / "relay.txt").read_text().strip()
        delivered = 0
        with (work / "data" / "events.jsonl").open() as events:
            for line in events:
                delivered += '"type":"entry.transferred"' in line
        report.append(
            f"CLI relay --once: {delivered:,} entry.transferred events in the file sink in {seconds:.1f} s "
            f"({delivered / seconds:,.0f} events/s); relay said: {said}  "
            f"{'PASS' if delivered == moved['modified'] and ' 0 still pending' in said else 'FAIL'} (all delivered)"
        )
        seconds, _, again = transfer()
        report.append(
            f"the same transfer again: {again['modified']} entries, {again['scoring']} records moved "
            f"in {seconds:.1f} s  "
            f"{'PASS' if again == {'modified': 0, 'scoring': 0} else 'FAIL'} (idempotent)"
        )
    finally:
        finish("transfer", report, work, keep=args.keep)


if __name__ == "__main__":
    main()
