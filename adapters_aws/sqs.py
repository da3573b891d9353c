"""SqsRetryQueue: enrichment retry requests on an SQS queue (SPEC PUB-005, ``ENTRY_RETRY_QUEUE=sqs:URL``)."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any, TypeVar

from adapters_aws.client import AWS_ERRORS, describe, make_client
from entrycore.batches import batched
from entrycore.errors import DeliveryFailed
from entrycore.outbox import RetryRequest

log = logging.getLogger(__name__)

MAX_BATCH = 10  # SendMessageBatch, DeleteMessageBatch and ReceiveMessage take at most 10 messages
MAX_WAIT = 20  # seconds of long polling SQS allows
MAX_VISIBILITY = 12 * 60 * 60
_INVALID_HANDLE = "ReceiptHandleIsInvalid"

T = TypeVar("T")


class SqsRetryQueue:
    """RetryQueue on the SQS queue at ``queue_url``: one message per request, its body
    ``{"campaignId", "userId"}``. Received messages stay hidden for ``visibility_timeout`` seconds unless
    acknowledged (deleted), then come back. A message whose body is not a retry request is deleted and
    skipped with a warning, so it cannot come back forever; a receipt handle SQS calls invalid is skipped
    with a warning too. ``enqueue`` returns the requests SQS refused as the sender's fault; every other
    failure of SQS (queue missing, no connection, timeout, a message failed on SQS's side) raises
    DeliveryFailed; no botocore exception leaves this class. The client is built from
    boto3's own configuration unless given. A standard queue does not merge duplicate requests across calls
    (the port allows that): refreshing an entry twice is harmless.
    """

    def __init__(
        self, queue_url: str, client: Any = None, *, visibility_timeout: int = 60, region: str | None = None
    ) -> None:
        if not queue_url:
            raise ValueError("an SQS queue URL is required")
        if not 0 <= visibility_timeout <= MAX_VISIBILITY:
            raise ValueError(f"the visibility timeout must be 0 to {MAX_VISIBILITY} seconds")
        self.queue_url = queue_url
        self.visibility_timeout = visibility_timeout
        self._owns_client = client is None
        self._client = client if client is not None else make_client("sqs", region)
        # Long polling must end before the client's read timeout, or every empty poll would fail as a timeout.
        read_timeout = getattr(self._client.meta.config, "read_timeout", None) or MAX_WAIT + 1
        self._max_wait = max(0, min(MAX_WAIT, int(read_timeout) - 1))

    @property
    def client(self) -> Any:
        """The boto3 SQS client in use."""
        return self._client

    def enqueue(self, requests: Sequence[RetryRequest]) -> dict[RetryRequest, str]:
        unique = list(dict.fromkeys(requests))  # the same entry twice in one call is one request
        refused: dict[RetryRequest, str] = {}  # by the sender's fault: this request, not the queue
        transient: dict[RetryRequest, str] = {}  # SQS failed inside a 200 answer
        for chunk in batched(unique, MAX_BATCH):
            entries = [
                {"Id": str(n), "MessageBody": json.dumps(request.body, separators=(",", ":"))}
                for n, request in enumerate(chunk)
            ]
            answer = self._call("SendMessageBatch", self._client.send_message_batch, Entries=entries)
            for failure in answer.get("Failed") or []:
                request = chunk[int(failure["Id"])]
                why = f"{failure.get('Code')}: {failure.get('Message', '')}".rstrip(": ")
                (refused if failure.get("SenderFault") else transient)[request] = why
        if transient:  # SQS's own failure: the queue's state, not these requests' (sending one twice is harmless)
            reasons = sorted(set(transient.values()))
            raise DeliveryFailed(f"SQS failed {len(transient)} of {len(unique)} retry requests: {reasons}")
        if refused:
            log.warning("SQS refused %d of %d retry requests (sender fault)", len(refused), len(unique))
        return refused

    def receive(self, max_count: int, wait_seconds: float) -> list[tuple[str, RetryRequest]]:
        if max_count <= 0:
            return []
        answer = self._call(
            "ReceiveMessage",
            self._client.receive_message,
            MaxNumberOfMessages=min(max_count, MAX_BATCH),
            WaitTimeSeconds=max(0, min(self._max_wait, int(wait_seconds))),
            VisibilityTimeout=self.visibility_timeout,
        )
        received: list[tuple[str, RetryRequest]] = []
        garbage: list[str] = []
        for message in answer.get("Messages") or []:
            handle = message["ReceiptHandle"]
            request = _request(message.get("Body", ""))
            if request is None:
                log.warning("SQS message %s is not a retry request: deleted", message.get("MessageId"))
                garbage.append(handle)
            else:
                received.append((handle, request))
        if garbage:
            try:
                self.acknowledge(garbage)
            except DeliveryFailed as failed:  # it comes back after the visibility timeout and is dropped then
                log.warning("could not delete %d malformed SQS messages: %s", len(garbage), failed)
        return received

    def acknowledge(self, handles: Sequence[str]) -> None:
        unique = list(dict.fromkeys(handles))
        refused: list[str] = []
        for chunk in batched(unique, MAX_BATCH):
            entries = [{"Id": str(n), "ReceiptHandle": handle} for n, handle in enumerate(chunk)]
            answer = self._call("DeleteMessageBatch", self._client.delete_message_batch, Entries=entries)
            failed = [str(f.get("Code")) for f in answer.get("Failed") or []]
            invalid = failed.count(_INVALID_HANDLE)
            if invalid:  # nothing of ours to remove: retrying could not help, the queue is not down
                log.warning("SQS rejected %d receipt handles as invalid: nothing acknowledged for them", invalid)
            refused += [code for code in failed if code != _INVALID_HANDLE]
        if refused:
            reasons = sorted(set(refused))
            raise DeliveryFailed(f"SQS could not delete {len(refused)} of {len(unique)} messages: {reasons}")

    def close(self) -> None:
        """Closes the client's connections, if this queue built the client."""
        if self._owns_client:
            self._client.close()

    def _call(self, name: str, method: Any, **params: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = method(QueueUrl=self.queue_url, **params)
        except AWS_ERRORS as exc:
            reason = describe(exc)
            log.warning("SQS %s on %s failed: %s", name, self.queue_url, reason)
            raise DeliveryFailed(f"SQS queue {self.queue_url}: {reason}") from None
        return answer


def _request(body: str) -> RetryRequest | None:
    """The retry request a message body holds, or None when it holds anything else."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    try:
        return RetryRequest.read(document)
    except ValueError:
        return None
