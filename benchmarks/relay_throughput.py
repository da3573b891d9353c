"""Relay throughput: how many outbox events per second the relay delivers from the SQLite store.

What it does: fills a fresh SQLite store with N entries (each with its entry.created event and receipt in
the outbox, written through the real Registrations use case from 32 threads so group commit applies), then
times `Relay.drain()` to (1) the file sink and (2) Kinesis on moto's server over loopback HTTP (a local
stand-in: its figure is bounded by moto's own speed, not AWS's). Prints events/s for each.

    .nox/tests/bin/python benchmarks/relay_throughput.py [--entries 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters_aws import KinesisEventSink
from adapters_files.sinks import FileEventSink, FileReceiptSender
from adapters_sqlite import open_sqlite
from entrycore.caller import Caller
from entrycore.ports import Stores
from entrycore.system import RandomIds, SystemClock
from entrycore.usecases.registrations import Registrations, Submission
from entrycore.usecases.relay import Relay
from tests.aws_server import moto_server
from tests.builders import VALID_FIELDS, campaign
from tests.fakes import FakeCampaignSource, FakeRetryQueue, FakeUserSource


def fill(stores: Stores, entries: int) -> float:
    c1 = campaign()
    registrations = Registrations(
        FakeCampaignSource({"c1": c1}), FakeUserSource(), stores.entries, stores.invites, SystemClock(), RandomIds()
    )

    def register(i: int) -> None:
        fields = {**VALID_FIELDS, "phone": f"+1212{2000000 + i:07d}"}
        registrations.register(Caller(f"fan-{i}"), "c1", Submission(fields))

    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(register, range(entries)))
    return time.perf_counter() - started


def drain(stores: Stores, relay: Relay) -> tuple[int, float]:
    started = time.perf_counter()
    delivered = relay.drain()
    took = time.perf_counter() - started
    assert stores.outbox.outbox_status().backlog == 0, stores.outbox.outbox_status()
    return delivered, took


def run(folder: Path, entries: int, sink_name: str, sink: object) -> None:
    stores = open_sqlite(folder / f"{sink_name}.db")
    filled = fill(stores, entries)
    receipts = FileReceiptSender(folder / f"{sink_name}-receipts.jsonl")
    relay = Relay(stores.outbox, sink, receipts, FakeRetryQueue(), SystemClock(), owner="bench", batch=500)  # type: ignore[arg-type]
    delivered, took = drain(stores, relay)
    events = delivered // 2  # one event and one receipt per entry
    print(
        f"{sink_name:>8}: {entries} entries written in {filled:.1f} s ({entries / filled:,.0f}/s); "
        f"relay delivered {delivered} messages ({events} events + {delivered - events} receipts) in {took:.2f} s "
        f"= {delivered / took:,.0f} messages/s"
    )
    stores.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    print(f"relay throughput, {args.entries} entries, machine: {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run(folder, args.entries, "file", FileEventSink(folder / "events.jsonl"))
        with moto_server() as server:
            kinesis = server.client("kinesis")
            kinesis.create_stream(StreamName="bench", ShardCount=4)
            kinesis.get_waiter("stream_exists").wait(StreamName="bench")
            run(folder, args.entries, "kinesis", KinesisEventSink("bench", client=kinesis))


if __name__ == "__main__":
    main()
