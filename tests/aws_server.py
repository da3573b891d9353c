"""moto's AWS server on loopback for the AWS adapter tests: real AWS APIs over HTTP, started once a session."""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from adapters_aws.client import CONFIG

REGION = "us-east-1"
ACCESS_KEY = "testing"


@attrs.frozen
class AwsServer:
    """A running moto server; ``endpoint`` is its base URL."""

    endpoint: str

    def env(self, home: Path) -> dict[str, str]:
        """boto3's own settings pointing at this server, as an operator sets them for a local AWS emulator.
        ``home`` holds no AWS config or credentials file, so a developer's ``~/.aws`` plays no part."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": ACCESS_KEY,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,  # boto3 itself reads only this one (AWS_REGION is for the composition root)
            "AWS_CONFIG_FILE": str(home / "config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(home / "credentials"),
        }

    def client(self, service: str, endpoint: str | None = None, **config: Any) -> Any:
        """A boto3 client of ``service`` on this server (or ``endpoint``) with the adapters' CONFIG, changed by
        ``config`` (``read_timeout=0.2`` …)."""
        return _session().client(
            service,
            endpoint_url=endpoint or self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=ACCESS_KEY,
            config=CONFIG.merge(Config(**config)) if config else CONFIG,
        )


@functools.cache
def _session() -> boto3.session.Session:
    """One boto3 session for the tests' clients: it loads each service's model once (~0.1 s a client otherwise).
    Its clients get every setting explicitly, so it does not matter which environment it was made in."""
    return boto3.session.Session()


@contextmanager
def moto_server() -> Iterator[AwsServer]:
    """Starts moto's threaded server on a free loopback port, stops it on exit."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    werkzeug.setLevel(logging.WARNING)  # one access-log line per AWS call would drown a failure's output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield AwsServer(f"http://{host}:{port}")
    finally:
        server.stop()
        werkzeug.setLevel(level)


def unique_name(prefix: str) -> str:
    """A stream or queue name no other test of the session uses (the server lives for the whole session)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def read_stream(kinesis: Any, stream: str) -> list[tuple[str, bytes]]:
    """Every record of the stream as ``(partition key, data)``, shard after shard, each shard in sequence order
    (so the records of one partition key, which share a shard, are in the order Kinesis stored them)."""
    records: list[tuple[str, bytes]] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            answer = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            if not answer["Records"]:
                break
            records += [(r["PartitionKey"], r["Data"]) for r in answer["Records"]]
            iterator = answer.get("NextShardIterator")
    return records


def record_calls(client: Any, operation: str) -> list[dict[str, Any]]:
    """The parameters of every later ``operation`` call of ``client`` (``"kinesis.PutRecords"`` …), in order,
    through botocore's event hooks."""
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        calls.append(dict(params))

    client.meta.events.register(f"provide-client-params.{operation}", record)
    return calls
