"""The indexes of the entries, attempts and retry_queue collections, by name; ensured idempotently whenever
a store is wired (every process start: one listIndexes per collection when they exist) and by
``entry-service db init``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pymongo
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import OperationFailure

from adapters_mongo.errors import ADMIN_TIMEOUT

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
    "outbox_parked": ([("outbox.parkedAt", ASCENDING)], _PENDING_ONLY),  # dead letters (outbox.py)
    # deleted entries kept for their pending messages (outbox.LIVE), swept once delivered
    "tombstones": ([("deleted", ASCENDING)], {"partialFilterExpression": {"deleted": True}}),
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

# Scoring records (adapters_mongo/scoring.py): by key, by phone (tags), the two list orders, "any of these
# markets" (multikey), tags; since layout 2 the questions' own shapes (issue 22, SPEC §10):
# - the lists (SCR-005) name their listed states as points (``_filter``: ``selected`` and ``verdict`` each one value
#   or an ``$in`` of both), so ``scoring_listed_by_score`` / ``scoring_listed_by_random`` (equality and points, then
#   the order) give every criteria's page in its order by a merge of at most four index ranges, stopping at the
#   page: a ``selectedOnly`` or ``includeFiltered`` page no longer walks every record of another state before its
#   own (``scoring_by_score`` / ``scoring_by_random`` filter the states after reading each document);
# - ``singleMarketSelection`` filters on the primary market (``markets.0``), which the multikey ``scoring_markets``
#   cannot serve (an index on ``markets`` does not answer a positional path): ``scoring_primary`` serves its counts
#   and its pages by score (the points of its ``$in``, then the order).
# The counts (SCR-004) read every matching document (verdict, selected and the ranked markets are needed, and a
# multikey index never covers): served by ``scoring_by_score`` (a score range), ``scoring_markets`` (any of these
# markets, and a score range), ``scoring_primary`` (primary market) or ``scoring_tagged`` (a tag), their cost the
# matching records', grouped to at most markets x ranks x 4 groups (MongoScoringStore.eligibility_counts).
SCORING_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "scoring_key": ([("campaignId", ASCENDING), ("userId", ASCENDING)], {"unique": True}),
    "scoring_phone": ([("campaignId", ASCENDING), ("phone", ASCENDING)], {}),
    "scoring_by_score": (
        [("campaignId", ASCENDING), ("blocked", ASCENDING), ("score", DESCENDING), ("userId", ASCENDING)],
        {},
    ),
    "scoring_by_random": (
        [("campaignId", ASCENDING), ("blocked", ASCENDING), ("randomScore", ASCENDING), ("userId", ASCENDING)],
        {},
    ),
    "scoring_markets": ([("campaignId", ASCENDING), ("markets", ASCENDING), ("score", DESCENDING)], {}),
    "scoring_listed_by_score": (
        [
            ("campaignId", ASCENDING),
            ("blocked", ASCENDING),
            ("selected", ASCENDING),
            ("verdict", ASCENDING),
            ("score", DESCENDING),
            ("userId", ASCENDING),
        ],
        {},
    ),
    "scoring_listed_by_random": (
        [
            ("campaignId", ASCENDING),
            ("blocked", ASCENDING),
            ("selected", ASCENDING),
            ("verdict", ASCENDING),
            ("randomScore", ASCENDING),
            ("userId", ASCENDING),
        ],
        {},
    ),
    "scoring_primary": (
        [
            ("campaignId", ASCENDING),
            ("blocked", ASCENDING),
            ("markets.0", ASCENDING),
            ("score", DESCENDING),
            ("userId", ASCENDING),
        ],
        {},
    ),
    "scoring_tagged": ([("campaignId", ASCENDING), ("tagged", ASCENDING)], {}),
    "scoring_user": ([("userId", ASCENDING)], {}),  # a fan's records across campaigns (erasure, USR-003)
}
# Selection's views of the entries (adapters_mongo/selection.py): lists in creation order, counts by market.
SELECTION_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "campaign_created": ([("campaignId", ASCENDING), ("dateCreated", ASCENDING), ("userId", ASCENDING)], {}),
    "campaign_primary_market": ([("campaignId", ASCENDING), ("markets.0", ASCENDING), ("dateCreated", ASCENDING)], {}),
}

# The audit trail (adapters_mongo/audit.py), newest first, of one campaign or all.
AUDIT_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "audit_at": ([("at", DESCENDING)], {}),
    "audit_campaign_at": ([("campaignId", ASCENDING), ("at", DESCENDING)], {}),
}

# The draws (adapters_mongo/draws.py, SPEC §12): a campaign's draws newest first, those awaiting their beacon; a
# fan's tickets (the fan view), a draw's in ticket order, the open offers by expiry, the waitlist ranks of those who
# left; per market the waitlist in draw order; a change's journal by its token.
DRAW_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "draws_campaign": ([("campaignId", ASCENDING), ("committedAt", DESCENDING)], {}),
    "draws_status": ([("status", ASCENDING), ("committedAt", ASCENDING)], {}),
}
TICKET_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "tickets_draw_user": (
        [("drawId", ASCENDING), ("userId", ASCENDING)],
        {"unique": True, "partialFilterExpression": {"userId": {"$type": "string"}}},
    ),
    "tickets_fan": ([("campaignId", ASCENDING), ("userId", ASCENDING)], {}),
    "tickets_order": ([("drawId", ASCENDING), ("ticket", ASCENDING)], {}),
    "tickets_due": (
        [("offerExpiresAt", ASCENDING), ("position", ASCENDING)],
        {"partialFilterExpression": {"status": "offered"}},
    ),
    "tickets_waitlist_rank": ([("drawId", ASCENDING), ("waitlistRank", ASCENDING)], {}),
}
WAITLIST_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "waitlist_order": ([("drawId", ASCENDING), ("market", ASCENDING), ("position", ASCENDING)], {}),
}
JOURNAL_INDEXES: dict[str, tuple[list[tuple[str, int]], dict[str, Any]]] = {
    "journal_token": ([("token", ASCENDING)], {}),
}

IndexSpec = dict[str, tuple[list[tuple[str, int]], dict[str, Any]]]
_INDEX_CONFLICT = {85, 86}  # IndexOptionsConflict, IndexKeySpecsConflict


class IndexConflict(Exception):
    """An index of the database contradicts one the store relies on (same name or keys, other options)."""


def ensure_indexes(collection: Any, wanted: IndexSpec) -> None:
    """Creates every index of ``wanted`` that ``collection`` lacks; one listIndexes when all exist. Raises
    IndexConflict when an existing index has a wanted name or key pattern with other keys or options (a
    unique index that is not unique, say): the store would not enforce what it promises."""
    existing = list(collection.list_indexes())
    for name, (keys, options) in wanted.items():
        same_name = next((ix for ix in existing if ix.get("name") == name), None)
        same_keys = [ix for ix in existing if _keys(ix) == keys]
        if same_name is not None:
            if _keys(same_name) != keys or not _same_options(same_name, options):
                raise IndexConflict(f"index {name} of {collection.name} exists with other keys or options")
            continue
        if same_keys:
            if any(_same_options(ix, options) for ix in same_keys):
                continue  # the same index under another name serves
            raise IndexConflict(f"an index on the keys of {name} of {collection.name} exists with other options")
        try:
            with pymongo.timeout(ADMIN_TIMEOUT):  # building it over a big collection takes its time
                collection.create_index(keys, name=name, **options)
        except OperationFailure as err:
            if err.code in _INDEX_CONFLICT or "already exists" in str(err):
                raise IndexConflict(f"index {name} of {collection.name}: {err}") from None
            raise


def _keys(index: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The key pattern as stored: a number for an ordered field (1.0 read as 1), else its kind ("hashed",
    "text", "2dsphere" …) as is, so an unrelated index of another kind never matches, nor breaks the start."""
    return [
        (field, int(order) if isinstance(order, int | float) else order)
        for field, order in dict(index.get("key", {})).items()
    ]


def _same_options(index: Mapping[str, Any], options: Mapping[str, Any]) -> bool:
    return bool(index.get("unique", False)) == bool(options.get("unique", False)) and index.get(
        "partialFilterExpression"
    ) == options.get("partialFilterExpression")


def create_entry_indexes(entries: Any) -> None:
    """Ensures every index of ``entries`` (see ``ensure_indexes``)."""
    ensure_indexes(entries, {**ENTRY_INDEXES, **OUTBOX_INDEXES, **SELECTION_INDEXES})


def create_attempt_indexes(attempts: Any) -> None:
    """Ensures the index of ``attempts``."""
    ensure_indexes(attempts, ATTEMPT_INDEXES)


def create_scoring_indexes(scoring: Any) -> None:
    """Ensures the indexes of ``scoring``."""
    ensure_indexes(scoring, SCORING_INDEXES)


def create_audit_indexes(audit: Any) -> None:
    """Ensures the indexes of ``audit``."""
    ensure_indexes(audit, AUDIT_INDEXES)


def create_draw_indexes(database: Any) -> None:
    """Ensures the indexes of the draws' collections."""
    ensure_indexes(database["draws"], DRAW_INDEXES)
    ensure_indexes(database["draw_tickets"], TICKET_INDEXES)
    ensure_indexes(database["draw_waitlist"], WAITLIST_INDEXES)
    ensure_indexes(database["draw_journal"], JOURNAL_INDEXES)


def create_retry_indexes(retries: Any) -> None:
    """Ensures the indexes of ``retry_queue``."""
    ensure_indexes(retries, RETRY_INDEXES)


# The layout this release writes (SPEC OPS-006): 1 = entries, attempts, retry queue, scoring records and audit in
# their own collections with the indexes above; 2 = the scoring indexes of the lists' states and of the primary
# market (scoring_listed_by_score, scoring_listed_by_random, scoring_primary; issue 22), added to a layout-1
# database by ``ensure_indexes`` at its next start, nothing dropped or rewritten; 3 = the draws' collections
# (adapters_mongo/draws.py: draws, draw_tickets, draw_waitlist, draw_files, draw_file_sizes, draw_rolls,
# draw_journal) and their indexes, added the same way. Kept in ``meta`` as {"_id": "layout", "version": n}.
LAYOUT_VERSION = 3


class NewerLayout(Exception):
    """The database was laid out by a newer release of the service: refused, unchanged (SPEC OPS-006)."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"the MongoDB database is at layout version {version}, newer than this release's {LAYOUT_VERSION}:"
            " upgrade entry-service to open it"
        )
        self.version = version


def check_layout(meta: Any) -> None:
    """Refuses a database of a newer layout before anything is changed (NewerLayout)."""
    found = meta.find_one({"_id": "layout"})
    if found is not None and int(found.get("version", 0)) > LAYOUT_VERSION:
        raise NewerLayout(int(found["version"]))


def record_layout(meta: Any) -> None:
    """Records this release's layout once its indexes exist (an older database is brought up to it: idempotent)."""
    meta.update_one({"_id": "layout"}, {"$max": {"version": LAYOUT_VERSION}}, upsert=True)
