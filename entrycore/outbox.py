"""Outbox messages: side effects recorded in the same atomic write as the entry (DESIGN.md, SPEC PUB-002).

A message is a registration event for the stream (``kind="event"``, API.md §8), a receipt email
(``kind="receipt"``, API.md §6, SPEC PUB-006) or an enrichment retry request (``kind="retry"``, PUB-005):
three channels. The relay delivers them after the commit, in commit order per entry within each channel,
retrying until they are delivered.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from entrycore.model import Entry
from entrycore.timefmt import iso, parse_iso

EVENT = "event"
RECEIPT = "receipt"
RETRY = "retry"

# The due time of a parked message (a dead letter): never. The stores keep a dead letter among the pending
# messages with this due time, so their claim rules need nothing new to hold back the later messages of
# its entry (PUB-002 order) until an operator puts it back in the queue.
NEVER = datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)


@attrs.frozen
class RetryRequest:
    """Re-run enrichment of one entry (SPEC PUB-005): ``{campaignId, userId}`` on the retry queue."""

    campaign_id: str
    user_id: str

    def to_document(self) -> dict[str, str]:
        return {"campaignId": self.campaign_id, "userId": self.user_id}

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RetryRequest:
        """Reads ``{campaignId, userId}``; raises ValueError for anything else."""
        campaign_id, user_id = doc.get("campaignId"), doc.get("userId")
        if not isinstance(campaign_id, str) or not isinstance(user_id, str) or not campaign_id or not user_id:
            raise ValueError("a retry request needs string campaignId and userId")
        return cls(campaign_id, user_id)


@attrs.frozen
class OutboxMessage:
    id: str  # the eventId of events; unique and stable across redeliveries
    kind: str
    campaign_id: str
    user_id: str
    partition_key: str
    body: Mapping[str, Any] = attrs.field(hash=False)
    created_at: datetime
    attempts: int = 0

    def to_document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "campaignId": self.campaign_id,
            "userId": self.user_id,
            "partitionKey": self.partition_key,
            "body": dict(self.body),
            "createdAt": iso(self.created_at),
            "attempts": self.attempts,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> OutboxMessage:
        return cls(
            id=doc["id"],
            kind=doc["kind"],
            campaign_id=doc["campaignId"],
            user_id=doc["userId"],
            partition_key=doc["partitionKey"],
            body=dict(doc["body"]),
            created_at=parse_iso(doc["createdAt"]),
            attempts=int(doc.get("attempts", 0)),
        )


@attrs.frozen
class DeadLetter:
    """A message parked after its attempts ran out: never dropped, kept with its last error. It holds back
    the ``held_back`` later messages of its own entry in its own channel (no other entry's, no other
    channel's) until it is put back in the queue (``entry-service outbox dead-letters --retry``)."""

    message: OutboxMessage
    parked_at: datetime
    error: str
    held_back: int

    def to_document(self) -> dict[str, Any]:
        message = self.message
        return {
            "id": message.id,
            "kind": message.kind,
            "campaignId": message.campaign_id,
            "userId": message.user_id,
            "createdAt": iso(message.created_at),
            "attempts": message.attempts,
            "parkedAt": iso(self.parked_at),
            "error": self.error,
            "heldBack": self.held_back,
        }


@attrs.frozen
class OutboxStatus:
    """How the outbox stands (API.md §4 ``GET /outbox``, the ``/metrics`` gauges): messages waiting, the last
    delivery, the oldest waiting message; dead letters apart (not in the backlog; the messages they hold back are)."""

    backlog: int
    last_delivered_at: datetime | None
    oldest_pending_at: datetime | None
    dead_letters: int
    oldest_dead_letter_at: datetime | None


def partition_key(entry: Entry) -> str:
    """``campaignId:phone``, or ``campaignId:userId`` without a phone (SPEC PUB-001)."""
    return f"{entry.campaign_id}:{entry.phone or entry.user_id}"


def receipt(entry: Entry, message_id: str, now: datetime) -> OutboxMessage:
    """The receipt email of an entry; its idempotency key lets the email service drop re-sends (PUB-006)."""
    body = {
        "idempotencyKey": f"{entry.campaign_id}:{entry.user_id}:{iso(entry.date_created)}",
        "campaignId": entry.campaign_id,
        "userId": entry.user_id,
        "email": entry.email,
        "locale": entry.locale,
    }
    return OutboxMessage(message_id, RECEIPT, entry.campaign_id, entry.user_id, partition_key(entry), body, now)


def retry(entry: Entry, message_id: str, now: datetime) -> OutboxMessage:
    """A retry request for the entry's enrichment, delivered to the RetryQueue by the relay (PUB-005)."""
    body = RetryRequest(entry.campaign_id, entry.user_id).to_document()
    return OutboxMessage(message_id, RETRY, entry.campaign_id, entry.user_id, partition_key(entry), body, now)
