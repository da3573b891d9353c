"""Registration events for downstream consumers (API.md §8, SPEC PUB-001): shape and outbox message."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entrycore.model import Campaign, Entry
from entrycore.outbox import EVENT, OutboxMessage, partition_key
from entrycore.timefmt import iso

CREATED = "entry.created"
UPDATED = "entry.updated"
PHONE_CONFIRMED = "entry.phone_confirmed"
TRANSFERRED = "entry.transferred"
CODES_ASSIGNED = "entry.codes_assigned"
BLOCKED = "entry.blocked"
DELETED = "entry.deleted"


def event_body(event_id: str, event_type: str, campaign: Campaign, entry: Entry, now: datetime) -> dict[str, Any]:
    """The event object exactly as API.md §8 shows it (``entry.deleted`` carries only the ids)."""
    body: dict[str, Any] = {
        "eventId": event_id,
        "type": event_type,
        "occurredAt": iso(now),
        "partitionKey": partition_key(entry),
        "campaign": {"id": campaign.id, "name": campaign.name},
    }
    if event_type == DELETED:
        body["entry"] = {"campaignId": entry.campaign_id, "userId": entry.user_id}
        body["fraud"] = None
        return body
    body["entry"] = {
        "campaignId": entry.campaign_id,
        "userId": entry.user_id,
        "fields": dict(entry.fields),
        "markets": [{"marketId": market, "rank": rank} for rank, market in enumerate(entry.markets)],
        "phoneConfirmed": entry.phone_confirmed,
        "locale": entry.locale,
        "dateCreated": iso(entry.date_created),
        "dateUpdated": iso(entry.date_updated),
    }
    body["fraud"] = {"score": entry.fraud.score, "status": entry.fraud.status} if entry.fraud else None
    return body


def event(event_id: str, event_type: str, campaign: Campaign, entry: Entry, now: datetime) -> OutboxMessage:
    """The outbox message that publishes ``entry``'s change of ``event_type``."""
    body = event_body(event_id, event_type, campaign, entry, now)
    return OutboxMessage(event_id, EVENT, entry.campaign_id, entry.user_id, body["partitionKey"], body, now)
