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
from entrycore.timefmt import iso

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

    @property
    def body(self) -> dict[str, str]:
        """The request as the retry channel carries it, ``{campaignId, userId}`` (in that order: a MongoDB key)."""
        return {"campaignId": self.campaign_id, "userId": self.user_id}

    @classmethod
    def read(cls, body: Any) -> RetryRequest:
        """The request of a retry message's body; ValueError for anything else (a corrupted row, a stray message)."""
        campaign_id, user_id = (body.get("campaignId"), body.get("userId")) if isinstance(body, Mapping) else (0, 0)
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


@attrs.frozen
class DeadLetter:
    """A message parked after its attempts ran out: never dropped, kept with its last error. It holds back
    the ``held_back`` later messages of its own entry in its own channel (no other entry's, no other
    channel's) until it is put back in the queue (``entry-service outbox dead-letters --retry``)."""

    message: OutboxMessage
    parked_at: datetime
    error: str
    held_back: int


@attrs.frozen
class OutboxStatus:
    """How the outbox stands (API.md §4 ``GET /outbox``, the ``/metrics`` gauges): messages waiting, the last
    delivery, the oldest waiting message; dead letters apart (not in the backlog; the messages they hold back are)."""

    backlog: int
    last_delivered_at: datetime | None
    oldest_pending_at: datetime | None
    dead_letters: int
    oldest_dead_letter_at: datetime | None


@attrs.frozen
class Contact:
    """What a message to or about a fan needs of their entry (draw offers, DRW-008): read in batches, without the
    whole entry (``EntryStore.contacts``)."""

    campaign_id: str
    user_id: str
    phone: str | None
    email: str | None
    locale: str | None

    @classmethod
    def of(cls, entry: Entry) -> Contact:
        return cls(entry.campaign_id, entry.user_id, entry.phone, entry.email, entry.locale)

    @property
    def partition_key(self) -> str:
        """The entry's own partition key (``partition_key``), so its draw events keep its order."""
        return f"{self.campaign_id}:{self.phone or self.user_id}"


def partition_key(entry: Entry) -> str:
    """``campaignId:phone``, or ``campaignId:userId`` without a phone (SPEC PUB-001)."""
    return f"{entry.campaign_id}:{entry.phone or entry.user_id}"


def receipt(entry: Entry, message_id: str, now: datetime) -> OutboxMessage:
    """The receipt email of an entry; its idempotency key lets the email service drop re-sends (PUB-006)."""
    body = {
        "kind": "receipt",  # offer notices share the channel with "kind": "offer" (API.md §6)
        "idempotencyKey": f"{entry.campaign_id}:{entry.user_id}:{iso(entry.date_created)}",
        "campaignId": entry.campaign_id,
        "userId": entry.user_id,
        "email": entry.email,
        "locale": entry.locale,
    }
    return OutboxMessage(message_id, RECEIPT, entry.campaign_id, entry.user_id, partition_key(entry), body, now)


def retry(entry: Entry, message_id: str, now: datetime) -> OutboxMessage:
    """A retry request for the entry's enrichment, delivered to the RetryQueue by the relay (PUB-005)."""
    body = RetryRequest(entry.campaign_id, entry.user_id).body
    return OutboxMessage(message_id, RETRY, entry.campaign_id, entry.user_id, partition_key(entry), body, now)
