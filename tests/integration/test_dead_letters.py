"""One message a sink refuses never stalls the others (SPEC PUB-002), on both stores and every sink: the file
sinks, Kinesis and SQS on moto's server, the SFMC email service on a loopback server. The others of its batch
are delivered at once; the refused one is retried alone, then parked as a dead letter; ``GET /outbox`` and
``entry-service outbox dead-letters`` report it; ``--retry`` puts it back and it is delivered once the sink
takes it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import mongomock
import pytest
from click.testing import CliRunner

from adapters_aws import KinesisEventSink, SqsRetryQueue
from adapters_cli.main import cli
from adapters_files.sinks import FileEventSink, FileReceiptSender
from adapters_http.clients import HttpxReceiptSender
from adapters_mongo import MongoEntryStore, open_mongo
from adapters_sqlite import open_sqlite
from entry_service.bootstrap import Services, build
from entry_service.settings import Settings
from entry_service.wsgi import app_for
from entrycore.errors import Internal
from entrycore.outbox import EVENT, RECEIPT, RETRY, OutboxMessage
from entrycore.ports import Stores
from entrycore.usecases.relay import MAX_ATTEMPTS, Relay
from tests.aws_server import AwsServer, read_stream
from tests.contract.entries import T0, an_entry
from tests.fakes import FakeClock, FakeRetryQueue
from tests.http_app import make_token, write_sources
from tests.integration.test_aws import aws, aws_env, kinesis, queue, sqs, stream  # noqa: F401 - fixtures
from tests.jsonl import json_lines
from tests.loopback import Answer, LoopbackServer, Received

POISONED = "u-bad"
USERS = ["u-a", POISONED, "u-c"]


@attrs.define
class Channel:
    """One sink under test: the relay's parts with that sink in its channel, and how to read what it got."""

    kind: str
    relay_parts: dict[str, Any]
    landed: Callable[[], list[str]]  # user ids of the messages the sink took, in order
    accept: Callable[[], None] | None  # makes the sink take the refused message (None: it never will)
    body: Callable[[str], dict[str, Any]]


def message(kind: str, user: str, n: int, body: dict[str, Any]) -> OutboxMessage:
    return OutboxMessage(f"m-{user}-{n}", kind, "c1", user, f"c1:{user}", body, T0)


@pytest.fixture(params=["sqlite", "mongomock"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    if request.param == "sqlite":
        sqlite = open_sqlite(tmp_path / "store" / "entries.db")
        yield sqlite
        sqlite.close()
    else:
        client: mongomock.MongoClient = mongomock.MongoClient()
        yield open_mongo(client["entry_service"])  # no db init: build() ensures the indexes
        client.close()


def file_events(tmp_path: Path) -> Channel:
    path = tmp_path / "events.jsonl"
    sink = FileEventSink(path)

    def landed() -> list[str]:
        return [line["userId"] for line in json_lines(path)]

    def body(user: str) -> dict[str, Any]:  # a lone surrogate: valid JSON text, no UTF-8 form
        return {"userId": user, "first_name": "\ud800" if user == POISONED else "Ana"}

    return Channel(EVENT, {"events": sink}, landed, None, body)


def file_receipts(tmp_path: Path) -> Channel:
    path = tmp_path / "receipts.jsonl"
    channel = file_events(tmp_path)
    return attrs.evolve(channel, kind=RECEIPT, relay_parts={"receipts": FileReceiptSender(path)}, landed=_lines(path))


def _lines(path: Path) -> Callable[[], list[str]]:
    return lambda: [line["userId"] for line in json_lines(path)]


def kinesis_channel(kinesis: Any, stream: str) -> Channel:  # noqa: F811 - the fixture's value
    """Kinesis refuses a record for its content only by failing the whole call (one over 1 MiB, say), so the
    sink refuses such an event itself and sends the others. (A record refused inside Kinesis's answer is
    throttling or an internal failure of a shard: the stream's state, never parked.)"""

    def landed() -> list[str]:
        return list(dict.fromkeys(json.loads(data)["userId"] for _, data in read_stream(kinesis, stream)))

    def body(user: str) -> dict[str, Any]:
        return {"userId": user, "pad": "x" * (1_100_000 if user == POISONED else 10)}

    return Channel(EVENT, {"events": KinesisEventSink(stream, client=kinesis)}, landed, None, body)


def sqs_channel(sqs: Any, queue: str) -> Channel:  # noqa: F811
    refusing = {"on": True}
    withheld: list[str] = []

    def withhold(params: dict[str, Any], **_: Any) -> None:  # SQS refuses one entry, the sender's fault
        withheld.clear()
        if refusing["on"]:
            for entry in params["Entries"]:
                if POISONED in entry["MessageBody"]:
                    withheld.append(entry["Id"])
                    entry["MessageBody"] = '{"withheld": true}'  # not a request: the reader skips it

    def refuse(parsed: dict[str, Any], **_: Any) -> None:
        failed = [{"Id": i, "SenderFault": True, "Code": "InvalidParameterValue", "Message": "x"} for i in withheld]
        parsed["Successful"] = [ok for ok in parsed.get("Successful", []) if ok["Id"] not in withheld]
        parsed["Failed"] = parsed.get("Failed", []) + failed

    sqs.meta.events.register("provide-client-params.sqs.SendMessageBatch", withhold)
    sqs.meta.events.register("after-call.sqs.SendMessageBatch", refuse)
    got: list[str] = []

    def landed() -> list[str]:
        while True:
            answer = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=0)
            messages = answer.get("Messages", [])
            if not messages:
                return [u for u in dict.fromkeys(got) if u]
            got.extend(json.loads(m["Body"]).get("userId") or "" for m in messages)
            for m in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])

    return Channel(
        RETRY,
        {"retries": SqsRetryQueue(queue, client=sqs)},
        landed,
        lambda: refusing.update(on=False),
        lambda user: {"campaignId": "c1", "userId": user},
    )


def sfmc_channel(loopback: LoopbackServer) -> Channel:
    refusing = {"on": True}
    accepted: list[str] = []

    def email_service(request: Received) -> Answer:
        if refusing["on"] and request.json()["userId"] == POISONED:
            return Answer(status=422, body=b'{"message": "invalid subscriber"}')
        accepted.append(request.json()["userId"])
        return Answer(status=202, body=b"{}")

    loopback.handle("/receipts", email_service, method="POST")

    def landed() -> list[str]:
        return list(dict.fromkeys(accepted))

    return Channel(
        RECEIPT,
        {"receipts": HttpxReceiptSender(f"{loopback.url}/receipts", timeout=2)},
        landed,
        lambda: refusing.update(on=False),
        lambda user: {"userId": user, "email": f"{user}@example.com"},
    )


SINKS = ["file-events", "file-receipts", "kinesis", "sqs", "sfmc"]


@pytest.fixture(params=SINKS)
def channel(request: pytest.FixtureRequest, tmp_path: Path, aws: AwsServer) -> Iterator[Channel]:  # noqa: F811
    name = request.param
    with LoopbackServer() as loopback:
        if name == "file-events":
            made = file_events(tmp_path)
        elif name == "file-receipts":
            made = file_receipts(tmp_path)
        elif name == "kinesis":
            made = kinesis_channel(request.getfixturevalue("kinesis"), request.getfixturevalue("stream"))
        elif name == "sqs":
            made = sqs_channel(request.getfixturevalue("sqs"), request.getfixturevalue("queue"))
        else:
            made = sfmc_channel(loopback)
        yield made
        for part in made.relay_parts.values():
            part.close()


def wired(tmp_path: Path, stores: Stores, relay: Relay) -> Services:
    services = build(Settings.from_env(write_sources(tmp_path / "sources")), stores=stores)
    return attrs.evolve(services, relay=relay)


def test_PUB_002_one_refused_message_fails_alone_is_parked_reported_and_delivered_after_retry(
    tmp_path: Path, stores: Stores, channel: Channel
) -> None:
    clock = FakeClock(T0)
    parts = {"events": FileEventSink(tmp_path / "other.jsonl"), "receipts": None, "retries": FakeRetryQueue()}
    parts["receipts"] = FileReceiptSender(tmp_path / "other-receipts.jsonl")
    store = stores.entries
    relay = Relay(
        outbox=stores.outbox, clock=clock, owner="relay-1", jitter=lambda: 1.0, **{**parts, **channel.relay_parts}
    )
    services = wired(tmp_path, stores, relay)
    unencodable = "\ud800" in "".join(map(str, channel.body(POISONED).values()))
    if isinstance(store, MongoEntryStore) and unencodable:  # BSON has no form for a lone surrogate either
        poisoned = [message(channel.kind, POISONED, 1, channel.body(POISONED))]
        with pytest.raises(Internal, match="cannot store"):
            store.create(an_entry(user_id=POISONED), poisoned)
        assert store.get("c1", POISONED) is None and stores.outbox.outbox_status().backlog == 0
        return
    for number, user in enumerate(USERS):
        entry = an_entry(user_id=user, phone=f"+1212555{1000 + number}")
        messages = [message(channel.kind, user, 1, channel.body(user))]
        if user == POISONED:  # a later message of the same entry, held back behind the refused one
            messages.append(message(channel.kind, user, 2, channel.body("u-bad-later")))
        store.create(entry, messages)

    first = relay.run_once()
    assert (first.claimed, first.delivered) == (4, 2)
    assert channel.landed() == ["u-a", "u-c"]  # the others at once, in the same batch

    for attempt in range(2, MAX_ATTEMPTS + 1):
        clock.advance(minutes=10)
        report = relay.run_once()
        assert report.delivered == 0 and report.parked == (1 if attempt == MAX_ATTEMPTS else 0)
    clock.advance(days=1)
    assert relay.run_once().claimed == 0  # parked: never claimed again, its later message waits behind it

    admin = app_for(services).test_client()
    answer = admin.get("/outbox", headers={"Authorization": f"Bearer {make_token('boss', supreme=True)}"})
    status = answer.get_json()
    assert answer.status_code == 200 and status["deadLetters"] == 1 and status["backlog"] == 1
    assert status["oldestDeadLetterAt"].endswith("Z")
    listed = CliRunner().invoke(cli, ["outbox", "dead-letters"], obj=services)
    assert listed.exit_code == 0, listed.output
    (row,) = [line.split("\t") for line in listed.stdout.splitlines()[1:]]
    assert row[:5] == [f"m-{POISONED}-1", channel.kind, "c1", POISONED, str(MAX_ATTEMPTS)] and row[6] == "1"

    if channel.accept is not None:
        channel.accept()
    retried = CliRunner().invoke(cli, ["outbox", "dead-letters", "--retry"], obj=services)
    assert retried.exit_code == 0 and "1 dead letter(s) put back" in retried.stdout
    if channel.accept is None:  # the file sinks can never write a lone surrogate: it is parked again, kept
        for _ in range(MAX_ATTEMPTS):
            relay.run_once()
            clock.advance(minutes=10)
        assert stores.outbox.outbox_status().dead_letters == 1 and channel.landed() == ["u-a", "u-c"]
        return
    assert relay.drain() == 2
    assert channel.landed() == ["u-a", "u-c", POISONED, "u-bad-later"]
    status = stores.outbox.outbox_status()
    assert (status.backlog, status.dead_letters) == (0, 0)
