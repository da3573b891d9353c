"""Allocation draws at a million entrants (issue 24, SPEC §10 "draws": commit, reveal and allocation of 1,000,000
entrants < 60 s each; ``draws verify`` of them < 60 s).

Prepares (or reuses, ``--keep DIR``) the SQLite file of ``store_queries.py``: ``--fans`` phone-confirmed, scored fans
of one campaign over 40 markets (``--spread``), then, through the product's own use case and store:

  commit   ``Draws.commit`` with no criteria (every fan an entrant): the list streamed from the store, a ticket
           each, the entrants file, tickets written in chunks
  reveal   ``Draws.reveal`` of that draw (the secret-seed kind; the BLS check of a beacon round adds the figure
           printed as "beacon check"): allocation, the results file, every ticket's place, the waitlist, the offers'
           events and notices (one entry read each)
  verify   the public files read back from the store and ``verify_draw`` run over them, as ``draws verify`` does
  fan      a fan's ``draws`` item (``Draws.fan_draws``), median of 1,000 reads of random fans

``--offers`` sets the total capacity (default 100,000, spread evenly over the 40 markets); ``--offers 1000000`` is
the worst case of this design for the reveal: every entrant offered, so a million ticket rows rewritten, two million
outbox messages and a million entry reads.

    .nox/tests/bin/python benchmarks/draws.py [--fans 1000000] [--spread worst] [--offers 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from eligibility import CAMPAIGN_ID, campaign_doc
from spreads import MARKETS
from store_queries import prepared

from adapters_files.sources import FileCampaignSource
from adapters_sqlite import open_sqlite
from entrycore.caller import Caller
from entrycore.draws import QUICKNET, verify_draw
from entrycore.draws.model import DrawFile
from entrycore.draws.public import draw_document
from entrycore.eligibility import EligibilityCriteria
from entrycore.system import RandomIds, SystemClock
from entrycore.usecases.draws import DrawRequest, Draws

ADMIN = Caller("bench-admin", is_supreme=True)
KNOWN_SIGNATURE = bytes.fromhex(
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b"
)


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def capacities(total: int, markets: Sequence[str]) -> dict[str, int]:
    share, left = divmod(total, len(markets))
    return {m: share + (1 if i < left else 0) for i, m in enumerate(markets)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fans", type=int, default=1_000_000)
    parser.add_argument("--spread", choices=("near", "free", "worst"), default="worst")
    parser.add_argument("--offers", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="a folder for the database (kept, reused when it exists)")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="draws-"))
    path = folder / f"{args.spread}-{args.fans}.db"
    prepared(path, args.fans, args.spread).close()
    (folder / "campaigns.json").write_text(json.dumps({"campaigns": [campaign_doc()]}))
    stores = open_sqlite(path)
    stores.prepare()
    draws = Draws(
        campaigns=FileCampaignSource(folder / "campaigns.json"),
        scoring=stores.scoring,
        draws=stores.draws,
        entries=stores.entries,
        locks=stores.locks,
        audit=stores.audit,
        clock=SystemClock(),
        ids=RandomIds(),
    )
    print(f"{args.fans:,} fans ({args.spread}), {args.offers:,} offers over {len(MARKETS)} markets", flush=True)

    started = time.perf_counter()
    request = DrawRequest("bench", EligibilityCriteria(), capacities(args.offers, MARKETS))
    draw = draws.commit(ADMIN, CAMPAIGN_ID, request)
    commit_s = time.perf_counter() - started
    print(f"  commit   {commit_s:7.1f} s  {draw.rules.entrants_count:,} entrants  (< 60 s: {_verdict(commit_s)})")
    print(f"           peak RSS so far {rss_mb():,.0f} MB", flush=True)

    started = time.perf_counter()
    revealed = draws.reveal(ADMIN, CAMPAIGN_ID, draw.draw_id)
    reveal_s = time.perf_counter() - started
    offered = sum(u.offered for u in revealed.markets)
    print(f"  reveal   {reveal_s:7.1f} s  {offered:,} offers made  (< 60 s: {_verdict(reveal_s)})")
    started = time.perf_counter()
    assert QUICKNET.verifies(657413, KNOWN_SIGNATURE)
    print(f"  beacon check (BLS, one round) {time.perf_counter() - started:.2f} s")
    print(f"           peak RSS so far {rss_mb():,.0f} MB", flush=True)

    started = time.perf_counter()
    parts = {
        name: b"".join(draws.file(CAMPAIGN_ID, draw.draw_id, name).chunks)
        for name in (DrawFile.ENTRANTS, DrawFile.RESULTS, DrawFile.ROLLS)
    }
    read_s = time.perf_counter() - started
    document = json.loads(json.dumps(draw_document(draws.show(CAMPAIGN_ID, draw.draw_id))))
    started = time.perf_counter()
    verdict = verify_draw(
        document,
        parts[DrawFile.ENTRANTS],
        parts[DrawFile.RESULTS],
        parts[DrawFile.ROLLS],
        commitment=draw.commitment,
    )
    verify_s = time.perf_counter() - started
    size = sum(len(p) for p in parts.values()) / 1e6
    print(f"  files read back {read_s:.1f} s ({size:,.0f} MB)")
    print(f"  verify   {verify_s:7.1f} s  {verdict.text().splitlines()[0]}  (< 60 s: {_verdict(verify_s)})")
    print(f"           peak RSS {rss_mb():,.0f} MB", flush=True)

    rng = random.Random(5)
    users = [f"fan-{rng.randrange(args.fans):07d}" for _ in range(1_000)]
    timings = []
    for user in users:
        started = time.perf_counter()
        draws.fan_draws(CAMPAIGN_ID, [user])
        timings.append((time.perf_counter() - started) * 1e6)
    print(f"  a fan's draws item: median {statistics.median(timings):,.0f} us, max {max(timings):,.0f} us")
    stores.close()


def _verdict(seconds: float) -> str:
    return "PASS" if seconds < 60 else "FAIL"


if __name__ == "__main__":
    main()
