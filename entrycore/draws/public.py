"""What a draw shows outside (API.md §4 "Draws", §6, §8): the public draw document, a fan's ``draws`` item, the
draw events and offer notices. Composed here, in the core, like every outbox body (PUB-002: the message is
committed with the change that makes it). Never in any of them but the fan's own item and notice: a user id,
name, email or phone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from entrycore.draws.model import Draw, Ticket
from entrycore.model import Campaign
from entrycore.outbox import EVENT, RECEIPT, Contact, OutboxMessage
from entrycore.timefmt import iso

COMMITTED = "draw.committed"
REVEALED = "draw.revealed"
CANCELLED = "draw.cancelled"
OFFERED = "entry.offered"
OFFER_ENDED = "entry.offer_ended"


def draw_document(draw: Draw) -> dict[str, Any]:
    """API.md's draw document. The secret seed appears only in ``reveal``, i.e. after the reveal."""
    reveal = draw.reveal
    return {
        "drawId": draw.draw_id,
        "campaignId": draw.campaign_id,
        "name": draw.name,
        "status": str(draw.status),
        "criteria": dict(draw.criteria),
        "rules": draw.rules.document(),
        "commitment": draw.commitment,
        "committedAt": iso(draw.committed_at),
        "markets": [
            {
                "marketId": u.market_id,
                "capacity": u.capacity,
                "offered": u.offered,
                "accepted": u.accepted,
                "free": u.free,
            }
            for u in draw.markets
        ],
        "reveal": None
        if reveal is None
        else {
            "revealedAt": iso(reveal.revealed_at),
            "seed": reveal.seed,
            "beacon": None
            if reveal.beacon is None
            else {
                "round": reveal.beacon.round,
                "signature": reveal.beacon.signature,
                "randomness": reveal.beacon.randomness,
            },
            "drawSeed": reveal.draw_seed,
        },
        "cancelled": None
        if draw.cancelled is None
        else {"at": iso(draw.cancelled.at), "reason": draw.cancelled.reason},
    }


def fan_item(ticket: Ticket, waitlist_position: int | None) -> dict[str, Any]:
    """The fan's ``draws`` item (DRW-004): market, rank and expiry only while offered or accepted."""
    holds = ticket.holds_unit()
    return {
        "drawId": ticket.draw_id,
        "ticket": ticket.ticket,
        "status": str(ticket.status),
        "marketId": ticket.market if holds else None,
        "rank": ticket.rank if holds else None,
        "offerExpiresAt": iso(ticket.offer_expires_at) if holds else None,
        "waitlistPosition": waitlist_position,
    }


def draw_event(event_id: str, event_type: str, campaign: Campaign, draw: Draw, now: datetime) -> OutboxMessage:
    """``draw.committed`` / ``draw.revealed`` / ``draw.cancelled``: the draw document, ordered per draw."""
    key = f"{draw.campaign_id}:draw:{draw.draw_id}"
    body = {
        "eventId": event_id,
        "type": event_type,
        "occurredAt": iso(now),
        "partitionKey": key,
        "campaign": {"id": campaign.id, "name": campaign.name},
        "draw": draw_document(draw),
    }
    return OutboxMessage(event_id, EVENT, draw.campaign_id, f"draw:{draw.draw_id}", key, body, now)


def offer_event(
    event_id: str, event_type: str, campaign: Campaign, entry: Contact, *, item: dict[str, Any], now: datetime
) -> OutboxMessage:
    """``entry.offered`` / ``entry.offer_ended``: the ids and the fan's ``draws`` item, in the entry's own order
    (its partition key and outbox order, like its other events)."""
    key = entry.partition_key
    body = {
        "eventId": event_id,
        "type": event_type,
        "occurredAt": iso(now),
        "partitionKey": key,
        "campaign": {"id": campaign.id, "name": campaign.name},
        "entry": {"campaignId": entry.campaign_id, "userId": entry.user_id, "draws": [item]},
    }
    return OutboxMessage(event_id, EVENT, entry.campaign_id, entry.user_id, key, body, now)


def offer_notice(message_id: str, entry: Contact, ticket: Ticket, now: datetime) -> OutboxMessage:
    """The offer's notice to the fan through the receipts channel (DRW-008, API.md §6), with its own idempotency
    key: one notice per offer, however often it is sent."""
    expires = iso(ticket.offer_expires_at)
    body = {
        "kind": "offer",
        "idempotencyKey": f"{entry.campaign_id}:{entry.user_id}:{ticket.draw_id}:offer:{expires}",
        "campaignId": entry.campaign_id,
        "userId": entry.user_id,
        "email": entry.email,
        "locale": entry.locale,
        "drawId": ticket.draw_id,
        "marketId": ticket.market,
        "offerExpiresAt": expires,
    }
    return OutboxMessage(message_id, RECEIPT, entry.campaign_id, entry.user_id, entry.partition_key, body, now)
