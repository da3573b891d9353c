"""The indexes of the entries, attempts and retry_queue collections, by name; created idempotently
(``entry-service db init``)."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING

ENTRY_KEY = "campaign_user"  # unique: one entry per fan per campaign (SPEC ENT-001)
CAMPAIGN_CODE = "campaign_code"  # unique: referral codes per campaign (ENT-008)
CONFIRMED_PHONE = "campaign_confirmed_phone"  # unique over confirmed entries only (PHN-003)
USER_CREATED = "user_created"  # a fan's entries, newest first (USR-001)

# name -> (keys, options). Each is created with create_index, one at a time: mongomock's create_indexes
# drops partialFilterExpression, which would make CONFIRMED_PHONE unique over every entry.
ENTRY_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    ENTRY_KEY: ([("campaignId", ASCENDING), ("userId", ASCENDING)], {"unique": True}),
    CAMPAIGN_CODE: ([("campaignId", ASCENDING), ("code", ASCENDING)], {"unique": True}),
    CONFIRMED_PHONE: (
        [("campaignId", ASCENDING), ("phone", ASCENDING)],
        {"unique": True, "partialFilterExpression": {"phoneConfirmed": True}},
    ),
    USER_CREATED: ([("userId", ASCENDING), ("dateCreated", DESCENDING)], {}),
}


# Entries with pending outbox messages only (adapters_mongo/outbox.py): the relay's claim walks the first
# in outboxSince order, skipping entries not ready from the index alone; the second finds the entries of
# delivered or retried message ids.
_PENDING_ONLY = {"partialFilterExpression": {"outboxSince": {"$exists": True}}}
OUTBOX_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "outbox_claim": ([("outboxSince", ASCENDING), ("outboxReadyAt", ASCENDING)], _PENDING_ONLY),
    "outbox_ids": ([("outbox.id", ASCENDING)], _PENDING_ONLY),
}

# Failed phone confirmations of one entry, counted over a window (SPEC PHN-010).
ATTEMPT_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "campaign_user_at": ([("campaignId", ASCENDING), ("userId", ASCENDING), ("at", ASCENDING)], {}),
}

# The retry queue (adapters_mongo/retries.py): receive takes the visible requests oldest first; acknowledge
# deletes by handle.
RETRY_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "visible_at": ([("visibleAt", ASCENDING)], {}),
    "handle": ([("handle", ASCENDING)], {}),
}


def create_entry_indexes(entries: Any) -> None:
    """Creates every index of ``entries`` that is missing (a no-op for those that exist as specified)."""
    for name, (keys, options) in {**ENTRY_INDEXES, **OUTBOX_INDEXES}.items():
        entries.create_index(keys, name=name, **options)


def create_attempt_indexes(attempts: Any) -> None:
    """Creates the index of ``attempts`` if missing."""
    for name, (keys, options) in ATTEMPT_INDEXES.items():
        attempts.create_index(keys, name=name, **options)


def create_retry_indexes(retries: Any) -> None:
    """Creates the indexes of ``retry_queue`` that are missing."""
    for name, (keys, options) in RETRY_INDEXES.items():
        retries.create_index(keys, name=name, **options)
