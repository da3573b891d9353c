"""The indexes of the entries collection, by name; created idempotently (``entry-service db init``)."""

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


def create_entry_indexes(entries: Any) -> None:
    """Creates every index of ``entries`` that is missing (a no-op for those that exist as specified)."""
    for name, (keys, options) in ENTRY_INDEXES.items():
        entries.create_index(keys, name=name, **options)
