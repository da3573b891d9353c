"""KinesisEventSink: registration events to the campaign data stream with PutRecords (SPEC PUB-001, PUB-002)."""

from __future__ import annotations

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

_Record = tuple[str, dict[str, Any], int]  # (event id, PutRecords entry, bytes it counts for)


class KinesisEventSink:
    """``ENTRY_EVENTS=kinesis:STREAM_NAME``: each event is one record, its data the API.md §8 object as JSON,
    its partition key the event's ``partitionKey``; records go out in the given order, in PutRecords calls of
    at most 500 records and 5 MiB.

    ``publish`` returns the ids of the records Kinesis refused inside its answer (throttling, internal
    failure), which the relay sends again later, and of a record too large for Kinesis (logged; it stays in
    the outbox for an operator). When no call got through (stream missing, no connection, timeout, any
    botocore error), it raises DeliveryFailed; when a later call of a large publish fails, the records of that
    call and the calls after it are returned as failed, so the records that landed are not sent twice. No
    botocore exception leaves this class. The client is built from boto3's own configuration unless given.
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

    def publish(self, events: Sequence[OutboxMessage]) -> list[str]:
        failed: list[str] = []
        records: list[_Record] = []
        for event in events:
            data = json.dumps(event.body, separators=(",", ":"), ensure_ascii=False).encode()
            size = len(data) + len(event.partition_key.encode())
            if size > MAX_RECORD_BYTES:
                log.error("event %s is %d bytes, over the Kinesis record limit: not published", event.id, size)
                failed.append(event.id)
                continue
            records.append((event.id, {"Data": data, "PartitionKey": event.partition_key}, size))
        landed = False
        batches = list(_batches(records))
        for number, batch in enumerate(batches):
            try:
                answer = self._client.put_records(StreamName=self.stream_name, Records=[r for _, r, _ in batch])
            except AWS_ERRORS as exc:
                reason = describe(exc)
                log.warning("Kinesis PutRecords to %s failed: %s", self.stream_name, reason)
                if not landed:
                    raise DeliveryFailed(f"Kinesis stream {self.stream_name}: {reason}") from None
                failed += [event_id for later in batches[number:] for event_id, _, _ in later]
                return failed
            landed = True
            failed += self._refused(batch, answer)
        return failed

    def _refused(self, batch: Sequence[_Record], answer: dict[str, Any]) -> list[str]:
        """The ids of the records of a 200 answer that carry an ``ErrorCode`` (or that it does not mention)."""
        results = answer.get("Records") or []
        if not answer.get("FailedRecordCount") and len(results) == len(batch):
            return []
        answered = zip(batch, results, strict=False)
        refused = [event_id for (event_id, _, _), result in answered if result.get("ErrorCode")]
        refused += [event_id for event_id, _, _ in batch[len(results) :]]
        if refused:
            codes = sorted({str(r.get("ErrorCode")) for r in results if r.get("ErrorCode")})
            log.warning("Kinesis refused %d of %d records (%s); they are retried", len(refused), len(batch), codes)
        return refused

    def close(self) -> None:
        """Closes the client's connections, if this sink built the client."""
        if self._owns_client:
            self._client.close()


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
