"""KinesisEventSink: registration events to the campaign data stream with PutRecords (SPEC PUB-001, PUB-002)."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from adapters_aws.client import AWS_ERRORS, describe, make_client
from entrycore.errors import DeliveryFailed
from entrycore.outbox import OutboxMessage

log = logging.getLogger(__name__)

# PutRecords limits: 500 records and 5 MiB per request, 1 MiB per record (data plus partition key).
MAX_RECORDS = 500
MAX_REQUEST_BYTES = 5 * 1024 * 1024
MAX_RECORD_BYTES = 1024 * 1024
MAX_PARTITION_KEY = 256  # Unicode characters; a longer key would fail the whole call (ValidationException)

_Record = tuple[str, dict[str, Any], int]  # (event id, PutRecords entry, bytes it counts for)


class KinesisEventSink:
    """``ENTRY_EVENTS=kinesis:STREAM_NAME``: each event is one record, its data the API.md §8 object as JSON,
    its partition key the event's ``partitionKey``; records go out in the given order, in PutRecords calls of
    at most 500 records and 5 MiB.

    One bad event never fails the others: an event that cannot be encoded or is over the 1 MiB record limit
    is returned refused, with its reason (a partition key over 256 characters is sent as its digest). Kinesis
    itself refuses records inside its answer only for its own state (throttling, an internal failure), so
    those raise DeliveryFailed like a call that got no answer (stream missing, no connection, timeout, any
    botocore error): the stream is failing, not the records. The exception names the records that landed
    (so they are not sent twice) and the ones refused for good. No botocore exception leaves this class.
    The client is built from boto3's own configuration unless given.
    """

    def __init__(self, stream_name: str, client: Any = None, *, region: str | None = None) -> None:
        if not stream_name:
            raise ValueError("a Kinesis stream name is required")
        self.stream_name = stream_name
        self._owns_client = client is None
        self._client = client if client is not None else make_client("kinesis", region)

    @property
    def client(self) -> Any:
        """The boto3 Kinesis client in use."""
        return self._client

    def publish(self, events: Sequence[OutboxMessage]) -> dict[str, str]:
        refused: dict[str, str] = {}
        records: list[_Record] = []
        for event in events:
            record = _record(event)
            if isinstance(record, str):
                log.error("event %s not published: %s", event.id, record)
                refused[event.id] = record
            else:
                records.append(record)
        landed: list[str] = []
        throttled: dict[str, str] = {}
        for batch in _batches(records):
            try:
                answer = self._client.put_records(StreamName=self.stream_name, Records=[r for _, r, _ in batch])
            except AWS_ERRORS as exc:
                reason = describe(exc)
                log.warning("Kinesis PutRecords to %s failed: %s", self.stream_name, reason)
                raise DeliveryFailed(
                    f"Kinesis stream {self.stream_name}: {reason}", delivered=landed, refused=refused
                ) from None
            failed = self._refused(batch, answer)
            throttled.update(failed)
            landed += [event_id for event_id, _, _ in batch if event_id not in failed]
        if throttled:  # throttling or an internal failure: the stream's state, not these records' fault
            reasons = sorted(set(throttled.values()))
            raise DeliveryFailed(
                f"Kinesis stream {self.stream_name} refused {len(throttled)} record(s): {reasons}",
                delivered=landed,
                refused=refused,
            )
        return refused

    def _refused(self, batch: Sequence[_Record], answer: dict[str, Any]) -> dict[str, str]:
        """The records of a 200 answer that carry an ``ErrorCode`` (or that it does not mention), with it."""
        results = answer.get("Records") or []
        if not answer.get("FailedRecordCount") and len(results) == len(batch):
            return {}
        answered = zip(batch, results, strict=False)
        refused = {event_id: str(r["ErrorCode"]) for (event_id, _, _), r in answered if r.get("ErrorCode")}
        refused.update({event_id: "not in the answer" for event_id, _, _ in batch[len(results) :]})
        if refused:
            codes = sorted(set(refused.values()))
            log.warning("Kinesis refused %d of %d records (%s); they are retried", len(refused), len(batch), codes)
        return refused

    def close(self) -> None:
        """Closes the client's connections, if this sink built the client."""
        if self._owns_client:
            self._client.close()


def partition_key(key: str) -> str:
    """The record's partition key: the event's, or for one longer than Kinesis takes (a long campaign or
    user id) a digest of it. The key only picks the shard, and the same key always gives the same digest,
    so the order per key holds."""
    if 1 <= len(key) <= MAX_PARTITION_KEY:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "backslashreplace")).hexdigest()


def _record(event: OutboxMessage) -> _Record | str:
    """The PutRecords entry of ``event``, or why Kinesis could never take it."""
    key = partition_key(event.partition_key)
    try:
        data = json.dumps(event.body, separators=(",", ":"), ensure_ascii=False).encode()
        key_bytes = key.encode()
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError) as exc:
        return f"cannot be encoded as UTF-8 JSON: {type(exc).__name__}"
    size = len(data) + len(key_bytes)
    if size > MAX_RECORD_BYTES:
        return f"{size} bytes, over the Kinesis record limit"
    return event.id, {"Data": data, "PartitionKey": key}, size


def _batches(records: Sequence[_Record]) -> Iterator[list[_Record]]:
    """Consecutive runs of records within the PutRecords limits, in the given order."""
    batch: list[_Record] = []
    size = 0
    for record in records:
        if batch and (len(batch) == MAX_RECORDS or size + record[2] > MAX_REQUEST_BYTES):
            yield batch
            batch, size = [], 0
        batch.append(record)
        size += record[2]
    if batch:
        yield batch
