"""Relay throughput: how many outbox events per second the relay delivers from the SQLite store.

What it does: wires the service as ``serve`` does (``entry_service.bootstrap.build``: SQLite, the file campaign
source, no user-service), fills a fresh store with N entries (each with its entry.created event and receipt in
the outbox, written through the real Registrations use case from 32 threads so group commit applies), then
times the relay's ``drain()`` to (1) the file sink and (2) Kinesis on moto's server over loopback HTTP (a local
stand-in: its figure is bounded by moto's own speed, not AWS's). Prints events/s for each. Imports only the
product (and moto), never the tests.

    .nox/tests/bin/python benchmarks/relay_throughput.py [--entries 20000]
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_data
import boto3
from moto.server import ThreadedMotoServer

from entry_service.bootstrap import Services, build
from entry_service.settings import Settings
from entrycore.caller import Caller
from entrycore.usecases.registrations import Submission

_AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}


def services_for(folder: Path, name: str, events: str, aws: dict[str, str]) -> Services:
    """The service as ``serve`` wires it (the composition root, SQLite), its events to ``events``."""
    env = {
        "ENTRY_DATA_DIR": str(folder / name),
        "ENTRY_STORE": f"sqlite:///{folder / f'{name}.db'}",
        "ENTRY_CAMPAIGNS": f"file:{folder / 'campaigns.json'}",
        "ENTRY_USERS": "none",
        "ENTRY_AUTH_SECRET": "b" * 40,
        "ENTRY_PHONE_TOKEN_SECRET": "p" * 40,
        "ENTRY_EVENTS": events,
        "ENTRY_RECEIPTS": f"file:{folder / f'{name}-receipts.jsonl'}",
        **aws,
    }
    return build(Settings.from_env(env))


def fill(services: Services, entries: int) -> float:
    def register(i: int) -> None:
        user = f"fan-{i}"
        submission = Submission(bench_data.fan_fields(i, user))
        services.registrations.register(Caller(user), bench_data.CAMPAIGN.id, submission)

    started = time.perf_counter()
    with ThreadPoolExecutor(32) as pool:
        list(pool.map(register, range(entries)))
    return time.perf_counter() - started


def run(services: Services, entries: int, sink_name: str) -> None:
    filled = fill(services, entries)
    started = time.perf_counter()
    delivered = services.relay.drain()
    took = time.perf_counter() - started
    backlog = services.stores.outbox.outbox_status().backlog
    assert backlog == 0, f"{backlog} messages left in the outbox"
    events = delivered // 2  # one event and one receipt per entry
    print(
        f"{sink_name:>8}: {entries} entries written in {filled:.1f} s ({entries / filled:,.0f}/s); "
        f"relay delivered {delivered} messages ({events} events + {delivered - events} receipts) in {took:.2f} s "
        f"= {delivered / took:,.0f} messages/s"
    )
    services.close()


@contextmanager
def moto() -> Iterator[dict[str, str]]:
    """moto's AWS server on a free loopback port; the AWS settings that point boto3 at it."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        aws = {**_AWS, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_DEFAULT_REGION": _AWS["AWS_REGION"]}
        os.environ.update(aws)  # boto3 reads its credentials and endpoint from the process, as in production
        yield aws
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=20_000)
    args = parser.parse_args()
    print(f"relay throughput, {args.entries} entries, machine: {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        bench_data.write_campaigns(folder / "campaigns.json")
        run(services_for(folder, "file", f"file:{folder / 'events.jsonl'}", {}), args.entries, "file")
        with moto() as aws:
            kinesis = boto3.client("kinesis")
            kinesis.create_stream(StreamName="bench", ShardCount=4)
            kinesis.get_waiter("stream_exists").wait(StreamName="bench", WaiterConfig={"Delay": 0.2})
            run(services_for(folder, "kinesis", "kinesis:bench", aws), args.entries, "kinesis")


if __name__ == "__main__":
    main()
