"""The AWS adapters against moto's AWS server over HTTP on loopback, and the relay through them: events land in
Kinesis in order, retry requests in SQS, and an outage of either loses nothing (SPEC PUB-001, PUB-002, PUB-005)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from botocore.stub import Stubber

from adapters_aws import KinesisEventSink, SqsRetryQueue
from adapters_aws.kinesis import partition_key
from adapters_files.sinks import FileEventSink, FileReceiptSender
from adapters_sqlite import open_sqlite
from entrycore.caller import Caller
from entrycore.errors import DeliveryFailed, EnrichmentFailed
from entrycore.events import CREATED, UPDATED
from entrycore.model import Entry, FraudResult
from entrycore.outbox import EVENT, OutboxMessage, RetryRequest
from entrycore.ports import Stores
from entrycore.usecases.enrichment import Enrichment
from entrycore.usecases.registrations import Registrations, Submission
from entrycore.usecases.relay import Relay
from tests.aws_server import AwsServer, moto_server, read_stream, record_calls, unique_name
from tests.builders import VALID_FIELDS, campaign
from tests.fakes import FakeCampaignSource, FakeClock, FakeEntryStore, FakeIds, FakeRetryQueue, FakeUserSource
from tests.jsonl import json_lines
from tests.loopback import LoopbackServer, unused_url

ONE_ATTEMPT = {"mode": "standard", "total_max_attempts": 1}  # for failure tests: no retry backoff to wait for

# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def aws() -> Iterator[AwsServer]:
    with moto_server() as server:
        yield server


@pytest.fixture(autouse=True)
def aws_env(aws: AwsServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """boto3's own settings point at the moto server for the test (undone after it, so nothing leaks)."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_KINESIS", "AWS_ENDPOINT_URL_SQS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in aws.env(tmp_path).items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def kinesis(aws: AwsServer) -> Iterator[Any]:
    client = aws.client("kinesis")
    yield client
    client.close()


@pytest.fixture
def sqs(aws: AwsServer) -> Iterator[Any]:
    client = aws.client("sqs")
    yield client
    client.close()


@pytest.fixture
def stream(kinesis: Any) -> Iterator[str]:
    """A new two-shard stream (so order per partition key is tested across shards)."""
    name = unique_name("events")
    kinesis.create_stream(StreamName=name, ShardCount=2)
    yield name
    delete_stream(kinesis, name)


@pytest.fixture
def queue(sqs: Any) -> Iterator[str]:
    url: str = sqs.create_queue(QueueName=unique_name("retries"))["QueueUrl"]
    yield url
    delete_queue(sqs, url)


@pytest.fixture
def receipts(tmp_path: Path) -> Iterator[FileReceiptSender]:
    sender = FileReceiptSender(tmp_path / "receipts.jsonl")
    yield sender
    sender.close()


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[Stores]:
    sqlite = open_sqlite(tmp_path / "entries.db")
    yield sqlite
    sqlite.close()


def receipts_sent(sender: FileReceiptSender) -> list[dict[str, Any]]:
    path = sender._file.path
    return json_lines(path)


def delete_stream(kinesis: Any, name: str) -> None:
    if name in kinesis.list_streams()["StreamNames"]:
        kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def delete_queue(sqs: Any, url: str) -> None:
    if url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=url)


# ---------------------------------------------------------------------------------------------- helpers


def message(n: int, key: str = "", size: int = 0) -> OutboxMessage:
    """Event ``n`` of fan ``u{n}``, partition key ``key`` (default ``c1:u{n}``), padded by ``size`` bytes."""
    user = f"u{n}"
    body: dict[str, Any] = {"eventId": f"e{n:05d}", "type": CREATED, "n": n}
    if size:
        body["pad"] = "x" * size
    return OutboxMessage(f"e{n:05d}", EVENT, "c1", user, key or f"c1:{user}", body, FakeClock().now())


def landed(kinesis: Any, stream: str) -> list[tuple[str, dict[str, Any]]]:
    return [(key, json.loads(data)) for key, data in read_stream(kinesis, stream)]


def per_key(records: list[tuple[str, dict[str, Any]]], field: str) -> dict[str, list[Any]]:
    """``field`` of each record, grouped by partition key, first delivery of each eventId only (at least once)."""
    seen: set[str] = set()
    grouped: dict[str, list[Any]] = {}
    for key, body in records:
        if body["eventId"] not in seen:
            seen.add(body["eventId"])
            grouped.setdefault(key, []).append(body[field])
    return grouped


def queue_size(sqs: Any, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attributes[name]) for name in names)


def receive_all(queue: SqsRetryQueue) -> list[tuple[str, RetryRequest]]:
    received: list[tuple[str, RetryRequest]] = []
    while batch := queue.receive(10, 0):
        received += batch
    return received


def put_records_params(stream: str, messages: list[OutboxMessage]) -> dict[str, Any]:
    records = [
        {"Data": json.dumps(m.body, separators=(",", ":")).encode(), "PartitionKey": m.partition_key} for m in messages
    ]
    return {"StreamName": stream, "Records": records}


def put_records_answer(refused: list[bool]) -> dict[str, Any]:
    ok = {"SequenceNumber": "4959", "ShardId": "shardId-000000000000"}
    failed = {"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "Rate exceeded for shard"}
    answer: dict[str, Any] = {"Records": [failed if r else ok for r in refused]}
    if any(refused):  # botocore's model gives FailedRecordCount a minimum of 1, so the Stubber refuses a 0
        answer["FailedRecordCount"] = sum(refused)
    return answer


def registrations(stores: Stores, clock: FakeClock, enrichment: Enrichment | None = None) -> Registrations:
    return Registrations(
        campaigns=FakeCampaignSource({"c1": campaign()}),
        users=FakeUserSource(),
        entries=stores.entries,
        invites=stores.invites,
        clock=clock,
        ids=FakeIds(),
        enrichment=enrichment or Enrichment(),
    )


def register(service: Registrations, n: int, **changes: Any) -> bool:
    """Fan ``n`` (each with a phone of their own) posts the valid fields with ``changes``; True when created."""
    fields = {**VALID_FIELDS, "phone": f"(212) 555-{1000 + n:04d}", **changes}
    return service.register(Caller(f"fan-{n:03d}"), "c1", Submission(fields=fields)).is_new


# ---------------------------------------------------------------------------------------- Kinesis sink


def test_PUB_001_events_land_with_their_partition_keys_and_bodies_in_order(kinesis: Any, stream: str) -> None:
    events = [message(n, key=f"c1:+1212555{1000 + n % 3}") for n in range(12)]
    sink = KinesisEventSink(stream, client=kinesis)
    assert sink.publish(events) == {}
    records = landed(kinesis, stream)
    assert sorted(body["eventId"] for _, body in records) == [e.id for e in events]
    assert all(key == events[body["n"]].partition_key for key, body in records)
    assert {body["eventId"]: body for _, body in records} == {e.id: dict(e.body) for e in events}
    for key, numbers in per_key(records, "n").items():
        assert numbers == [e.body["n"] for e in events if e.partition_key == key]


def test_PUB_002_more_than_500_events_go_out_in_calls_of_500_in_order(kinesis: Any, stream: str) -> None:
    events = [message(n, key=f"c1:k{n % 7}") for n in range(1_100)]
    calls = record_calls(kinesis, "kinesis.PutRecords")
    assert KinesisEventSink(stream, client=kinesis).publish(events) == {}
    assert [len(call["Records"]) for call in calls] == [500, 500, 100]
    sent = [json.loads(record["Data"])["n"] for call in calls for record in call["Records"]]
    assert sent == list(range(1_100))
    records = landed(kinesis, stream)
    assert len(records) == 1_100
    for key, numbers in per_key(records, "n").items():
        assert numbers == sorted(numbers) and len(numbers) == len([e for e in events if e.partition_key == key])


def test_PUB_002_calls_stay_under_5_mib_and_a_record_over_1_mib_is_returned_failed(kinesis: Any, stream: str) -> None:
    big = [message(n, size=900_000) for n in range(6)]
    too_big = message(6, size=1_100_000)
    calls = record_calls(kinesis, "kinesis.PutRecords")
    assert list(KinesisEventSink(stream, client=kinesis).publish([*big[:3], too_big, *big[3:]])) == [too_big.id]
    assert [len(call["Records"]) for call in calls] == [5, 1]
    assert sorted(body["eventId"] for _, body in landed(kinesis, stream)) == [e.id for e in big]


def test_PUB_002_a_missing_or_deleted_stream_raises_delivery_failed(kinesis: Any) -> None:
    never_created = KinesisEventSink(unique_name("missing"), client=kinesis)
    with pytest.raises(DeliveryFailed, match="ResourceNotFoundException"):
        never_created.publish([message(1)])
    name = unique_name("deleted")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    kinesis.delete_stream(StreamName=name)
    with pytest.raises(DeliveryFailed, match=name):
        KinesisEventSink(name, client=kinesis).publish([message(n) for n in range(600)])


def test_PUB_007_an_unreachable_or_slow_endpoint_raises_delivery_failed_in_time(aws: AwsServer) -> None:
    down = aws.client("kinesis", endpoint=unused_url(), retries=ONE_ATTEMPT)
    with pytest.raises(DeliveryFailed, match="EndpointConnectionError"):
        KinesisEventSink("s", client=down).publish([message(1)])
    down.close()
    with LoopbackServer() as peer:
        peer.json("/", {}, method="POST", delay=2.0)
        slow = aws.client("kinesis", endpoint=peer.url, read_timeout=0.2, retries=ONE_ATTEMPT)
        started = time.monotonic()
        with pytest.raises(DeliveryFailed, match="ReadTimeoutError"):
            KinesisEventSink("s", client=slow).publish([message(1)])
        assert time.monotonic() - started < 1.0
        slow.close()


def test_PUB_002_an_event_kinesis_could_not_take_is_refused_alone_and_the_others_land(
    kinesis: Any, stream: str
) -> None:
    unencodable = attrs.evolve(message(1), body={**message(1).body, "name": "\ud800"})
    too_large = message(2, size=1_100_000)
    long_key = message(4, key="c1:" + "x" * 300)  # over 256 characters: sent as its digest, not refused
    good = [message(0), message(3), long_key]
    refused = KinesisEventSink(stream, client=kinesis).publish([good[0], unencodable, too_large, good[1], long_key])
    assert set(refused) == {unencodable.id, too_large.id}
    assert "UTF-8" in refused[unencodable.id] and "record limit" in refused[too_large.id]
    records = landed(kinesis, stream)
    assert sorted(body["eventId"] for _, body in records) == sorted(e.id for e in good)
    (digest,) = [key for key, body in records if body["eventId"] == long_key.id]
    assert digest == partition_key(long_key.partition_key) and digest.startswith("sha256:") and len(digest) == 71


def test_PUB_002_a_stream_refusing_every_record_is_a_failure_of_the_sink(aws: AwsServer) -> None:
    client = aws.client("kinesis")
    events = [message(n) for n in range(3)]
    with Stubber(client) as stubber:
        stubber.add_response("put_records", put_records_answer([True] * 3), put_records_params("s", events))
        with pytest.raises(DeliveryFailed, match="refused 3 record") as failed:
            KinesisEventSink("s", client=client).publish(events)
        assert failed.value.delivered == () and failed.value.refused == {}
    client.close()


def test_PUB_002_throttled_records_are_the_stream_failing_and_the_landed_ones_are_named(aws: AwsServer) -> None:
    client = aws.client("kinesis")  # botocore's Stubber answers it: nothing reaches the server
    events = [message(n) for n in range(4)]
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_records", put_records_answer([False, True, False, True]), put_records_params("s", events)
        )
        with pytest.raises(DeliveryFailed, match="ProvisionedThroughputExceededException") as failed:
            KinesisEventSink("s", client=client).publish(events)
        assert failed.value.delivered == (events[0].id, events[2].id) and failed.value.refused == {}
        stubber.assert_no_pending_responses()
    client.close()


def test_PUB_002_a_failed_later_call_names_what_landed_and_a_failed_first_call_raises(aws: AwsServer) -> None:
    client = aws.client("kinesis")
    events = [message(n) for n in range(600)]
    sink = KinesisEventSink("s", client=client)
    with Stubber(client) as stubber:
        stubber.add_response("put_records", put_records_answer([False] * 500), put_records_params("s", events[:500]))
        stubber.add_client_error("put_records", "InternalFailure", http_status_code=500)
        with pytest.raises(DeliveryFailed, match="InternalFailure") as failed:
            sink.publish(events)
        assert failed.value.delivered == tuple(e.id for e in events[:500])  # those are not sent again
        stubber.add_client_error("put_records", "InternalFailure", http_status_code=500)
        with pytest.raises(DeliveryFailed, match="InternalFailure"):
            sink.publish(events)
        stubber.assert_no_pending_responses()
    client.close()


def test_PUB_002_the_relay_resends_exactly_the_refused_records_after_the_backoff(
    aws: AwsServer, receipts: FileReceiptSender
) -> None:
    client, store, clock = aws.client("kinesis"), FakeEntryStore(), FakeClock()
    events = [message(n) for n in range(4)]
    store._enqueue(events)
    relay = Relay(
        outbox=store,
        events=KinesisEventSink("s", client=client),
        receipts=receipts,
        retries=FakeRetryQueue(),
        clock=clock,
        owner="t",
        jitter=lambda: 0.0,
    )
    with Stubber(client) as stubber:
        stubber.add_response(
            "put_records", put_records_answer([False, True, False, True]), put_records_params("s", events)
        )
        stubber.add_response(
            "put_records", put_records_answer([False, False]), put_records_params("s", [events[1], events[3]])
        )
        first = relay.run_once()
        assert (first.delivered, first.retried) == (2, 2)
        assert relay.run_once().claimed == 0  # not due before the backoff
        clock.advance(minutes=10)
        assert relay.run_once().delivered == 2
        stubber.assert_no_pending_responses()
    assert [m.id for m in store.delivered_messages] == [events[0].id, events[2].id, events[1].id, events[3].id]
    assert store.outbox_status().backlog == 0
    client.close()


# ------------------------------------------------------------------------------------------- SQS queue


def test_PUB_005_retry_requests_are_queued_received_and_acknowledged(sqs: Any, queue: str) -> None:
    retries = SqsRetryQueue(queue, client=sqs)
    requests = [RetryRequest("c1", f"u{n}") for n in range(25)]
    calls = record_calls(sqs, "sqs.SendMessageBatch")
    retries.enqueue([*requests, requests[0]])  # one entry twice in a call: one message
    assert [len(call["Entries"]) for call in calls] == [10, 10, 5]
    assert json.loads(calls[0]["Entries"][0]["MessageBody"]) == {"campaignId": "c1", "userId": "u0"}
    received = receive_all(retries)
    assert len(received) == 25 and {r for _, r in received} == set(requests)
    assert retries.receive(10, 0) == []  # hidden until acknowledged or the visibility timeout passes
    retries.acknowledge([handle for handle, _ in received])
    assert queue_size(sqs, queue) == 0


def test_PUB_005_messages_that_are_not_retry_requests_are_deleted_and_skipped(
    sqs: Any, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    garbage = ["not json", "null", "[1, 2]", '{"campaignId": "c1"}', '{"campaignId": 1, "userId": "u1"}', "[" * 5000]
    for body in garbage:
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    retries = SqsRetryQueue(queue, client=sqs)
    retries.enqueue([RetryRequest("c1", "u1")])
    with caplog.at_level(logging.WARNING, logger="adapters_aws.sqs"):
        received = receive_all(retries)
    assert [r for _, r in received] == [RetryRequest("c1", "u1")]
    assert sum("not a retry request" in r.getMessage() for r in caplog.records) == len(garbage)
    assert queue_size(sqs, queue) == 1  # only the real request, still hidden
    retries.acknowledge([handle for handle, _ in received])
    assert queue_size(sqs, queue) == 0


def test_PUB_005_an_invalid_receipt_handle_acknowledges_nothing_and_is_no_outage(
    sqs: Any, queue: str, caplog: pytest.LogCaptureFixture
) -> None:
    retries = SqsRetryQueue(queue, client=sqs)
    retries.enqueue([RetryRequest("c1", "u1")])
    [(handle, _)] = retries.receive(10, 0)
    with caplog.at_level(logging.WARNING, logger="adapters_aws.sqs"):
        retries.acknowledge(["not-a-receipt-handle"])
    assert "invalid" in caplog.text and queue_size(sqs, queue) == 1
    retries.acknowledge([handle, handle])
    assert queue_size(sqs, queue) == 0


def test_PUB_005_a_received_request_not_acknowledged_comes_back_after_the_visibility_timeout(
    sqs: Any, queue: str
) -> None:
    retries = SqsRetryQueue(queue, client=sqs, visibility_timeout=1)
    retries.enqueue([RetryRequest("c1", "u1"), RetryRequest("c1", "u2")])
    first = receive_all(retries)
    assert len(first) == 2 and retries.receive(10, 0) == []
    time.sleep(1.1)
    again = receive_all(retries)
    assert len(again) == 2 and {r for _, r in again} == {r for _, r in first}
    retries.acknowledge([handle for handle, _ in again])
    assert queue_size(sqs, queue) == 0


def test_PUB_005_receive_keeps_to_the_sqs_limits_and_ends_long_polls_before_the_read_timeout(
    sqs: Any, queue: str
) -> None:
    retries = SqsRetryQueue(queue, client=sqs, visibility_timeout=30)
    retries.enqueue([RetryRequest("c1", f"u{n}") for n in range(11)])
    calls = record_calls(sqs, "sqs.ReceiveMessage")
    assert retries.receive(0, 5) == []
    assert len(retries.receive(50, 25.7)) == 10
    assert len(retries.receive(3, 1.9)) == 1  # a message is there: no waiting
    limits = [(c["MaxNumberOfMessages"], c["WaitTimeSeconds"], c["VisibilityTimeout"]) for c in calls]
    assert limits == [(10, 2, 30), (3, 1, 30)]  # the client reads for 3 s at most: a 20 s poll would time out


def test_PUB_005_a_request_sqs_refuses_as_the_senders_fault_is_returned_and_its_own_failure_raises(
    aws: AwsServer,
) -> None:
    client = aws.client("sqs")
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/q"
    requests = [RetryRequest("c1", f"u{n}") for n in range(3)]
    queue = SqsRetryQueue(url, client=client)

    def answer(failed: dict[str, bool]) -> dict[str, Any]:
        ok = [{"Id": str(n), "MessageId": f"m{n}", "MD5OfMessageBody": "x"} for n in range(3) if str(n) not in failed]
        bad = [{"Id": i, "SenderFault": fault, "Code": "X", "Message": "m"} for i, fault in failed.items()]
        return {"Successful": ok, "Failed": bad}

    with Stubber(client) as stubber:
        stubber.add_response("send_message_batch", answer({"1": True}))
        assert queue.enqueue(requests) == {requests[1]: "X: m"}
        stubber.add_response("send_message_batch", answer({"2": False}))  # SQS's own failure: the queue's state
        with pytest.raises(DeliveryFailed, match="failed 1 of 3"):
            queue.enqueue(requests)
        stubber.assert_no_pending_responses()
    client.close()


def test_PUB_005_a_missing_queue_raises_delivery_failed(sqs: Any, aws: AwsServer) -> None:
    url: str = sqs.create_queue(QueueName=unique_name("gone"))["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    gone = SqsRetryQueue(url, client=sqs)
    with pytest.raises(DeliveryFailed, match="NonExistentQueue"):
        gone.enqueue([RetryRequest("c1", "u1")])
    with pytest.raises(DeliveryFailed):
        gone.receive(10, 0)
    with pytest.raises(DeliveryFailed):
        gone.acknowledge(["handle"])
    down = aws.client("sqs", endpoint=unused_url(), retries=ONE_ATTEMPT)
    with pytest.raises(DeliveryFailed, match="EndpointConnectionError"):
        SqsRetryQueue(f"{unused_url()}/123456789012/q", client=down).enqueue([RetryRequest("c1", "u1")])
    down.close()


# ---------------------------------------------------------------------------------- boto3's own settings


def test_PUB_007_the_adapters_work_from_boto3s_environment_alone(kinesis: Any, stream: str, queue: str) -> None:
    sink = KinesisEventSink(stream)
    retries = SqsRetryQueue(queue)
    try:
        config = sink.client.meta.config
        assert (config.connect_timeout, config.read_timeout) == (1, 3)
        assert config.retries == {"mode": "standard", "total_max_attempts": 3}
        assert retries.client.meta.config.read_timeout == 3
        assert sink.publish([message(1)]) == {}
        assert [body["eventId"] for _, body in landed(kinesis, stream)] == [message(1).id]
        retries.enqueue([RetryRequest("c1", "u1")])
        (handle, request), *_ = retries.receive(10, 0)
        assert request == RetryRequest("c1", "u1")
        retries.acknowledge([handle])
    finally:
        sink.close()
        retries.close()


def test_PUB_007_no_region_is_a_configuration_error_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.delenv("AWS_REGION")
    with pytest.raises(ValueError, match="region"):
        KinesisEventSink("s")
    with pytest.raises(ValueError, match="region"):
        SqsRetryQueue("http://127.0.0.1:1/123456789012/q")
    sink = KinesisEventSink("s", region="eu-west-1")
    assert sink.client.meta.region_name == "eu-west-1"
    sink.close()


# ------------------------------------------------------------------------ outages through the real pieces


def test_PUB_002_a_stream_outage_fails_no_registration_and_loses_no_event(
    kinesis: Any, stores: Stores, receipts: FileReceiptSender
) -> None:
    clock = FakeClock()
    name = unique_name("outage")
    service = registrations(stores, clock)
    fans = range(200)
    assert all(register(service, n) for n in fans)  # the stream does not exist: every registration succeeds
    assert not any(register(service, n, first_name="Bea") for n in fans)  # an entry.updated after each created
    relay = Relay(
        outbox=stores.outbox,
        events=KinesisEventSink(name, client=kinesis),
        receipts=receipts,
        retries=FakeRetryQueue(),
        clock=clock,
        owner="t",
        jitter=lambda: 0.0,
    )
    for _ in range(3):
        relay.drain()
        clock.advance(minutes=10)
    # The receipts went out: an event stream outage delays no receipt (PUB-002: channels are independent).
    assert len(receipts_sent(receipts)) == 200
    assert stores.outbox.outbox_status().backlog == 400  # per fan: created and updated wait for the stream

    kinesis.create_stream(StreamName=name, ShardCount=2)
    try:
        for _ in range(5):
            relay.drain()
            if stores.outbox.outbox_status().backlog == 0:
                break
            clock.advance(minutes=10)
        assert stores.outbox.outbox_status().backlog == 0
        records = landed(kinesis, name)
    finally:
        delete_stream(kinesis, name)
    created = {body["eventId"] for _, body in records if body["type"] == CREATED}
    assert len(created) == 200
    types = per_key(records, "type")
    assert len(types) == 200 and all(t == [CREATED, UPDATED] for t in types.values())
    users = {body["entry"]["userId"] for _, body in records}
    assert users == {f"fan-{n:03d}" for n in fans}


class FailingFraudCheck:
    """Nudetect that never answers in time: every entry is left unscored (SPEC PUB-003, PUB-005)."""

    def check(self, entry: Entry, placement: str) -> FraudResult:
        raise EnrichmentFailed("timeout")

    def trusted(self) -> bool:
        return True


def test_PUB_005_a_queue_outage_keeps_retry_requests_until_the_queue_is_back(
    sqs: Any, stores: Stores, receipts: FileReceiptSender, tmp_path: Path
) -> None:
    clock = FakeClock()
    name = unique_name("outage")
    url: str = sqs.create_queue(QueueName=name)["QueueUrl"]
    sqs.delete_queue(QueueUrl=url)
    service = registrations(stores, clock, Enrichment(fraud=FailingFraudCheck()))
    fans = range(50)
    assert all(register(service, n) for n in fans)
    events = FileEventSink(tmp_path / "events.jsonl")
    retries = SqsRetryQueue(url, client=sqs)
    relay = Relay(
        outbox=stores.outbox,
        events=events,
        receipts=receipts,
        retries=retries,
        clock=clock,
        owner="t",
        jitter=lambda: 0.0,
    )
    try:
        for _ in range(3):
            relay.run_once()
            assert stores.outbox.outbox_status().backlog == 50  # the events and receipts went; the retries wait
            clock.advance(minutes=10)

        assert sqs.create_queue(QueueName=name)["QueueUrl"] == url
        relay.drain()
        assert stores.outbox.outbox_status().backlog == 0
        received = receive_all(retries)
    finally:
        events.close()
        delete_queue(sqs, url)
    requests = [request for _, request in received]
    assert len(requests) == len(fans)  # one per unscored entry
    assert set(requests) == {RetryRequest("c1", f"fan-{n:03d}") for n in fans}
