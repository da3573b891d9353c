"""The AttemptStore port on MongoDB: failed phone confirmations per entry (SPEC PHN-010)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pymongo.errors import DuplicateKeyError

from adapters_mongo.errors import unavailable
from entrycore.ports import ATTEMPTS_KEPT
from entrycore.timefmt import iso


class MongoAttemptStore:
    """AttemptStore on the ``attempts`` collection of ``database``: one document per entry,
    ``{_id: {campaignId, userId}, campaignId, userId, failed: [{at, id}]}``, so that checking the limit and
    recording an attempt is one atomic update of one document (``reserve_attempt``). Recording forgets the
    entry's failures older than a day. (No TTL index: it would run on the server's clock, not the Clock
    port's, and so forget differently in tests.) Documents of the earlier shape, one per failure with a
    top-level ``at``, are no longer read (they mattered for ten minutes); an erasure (MongoEntryStore.delete) still
    deletes them."""

    def __init__(self, database: Any) -> None:
        self._attempts: Any = database["attempts"]

    def record_failed_attempt(self, campaign_id: str, user_id: str, at: datetime) -> None:
        self._push(campaign_id, user_id, at, None)

    def failed_attempts(self, campaign_id: str, user_id: str, since: datetime) -> int:
        with unavailable():
            doc = self._attempts.find_one({"_id": _key(campaign_id, user_id)}, {"failed": True})
        after = iso(since) or ""
        return sum(1 for failure in (doc or {}).get("failed") or () if failure["at"] > after)

    def reserve_attempt(self, campaign_id: str, user_id: str, at: datetime, since: datetime, limit: int) -> str | None:
        return self._push(campaign_id, user_id, at, (since, limit))

    def release_attempt(self, campaign_id: str, user_id: str, reservation: str) -> None:
        with unavailable():
            self._attempts.update_one({"_id": _key(campaign_id, user_id)}, {"$pull": {"failed": {"id": reservation}}})

    def _push(self, campaign_id: str, user_id: str, at: datetime, limited: tuple[datetime, int] | None) -> str | None:
        """Appends a failure at ``at``; with ``limited`` = (since, limit), only while fewer than ``limit`` are
        after ``since``, in the same update (the filter's ``$expr``): no match on an existing document makes the
        upsert insert a second one with the same ``_id``, which the server refuses — the limit was reached."""
        key = _key(campaign_id, user_id)
        query: dict[str, Any] = {"_id": key}
        if limited is not None:
            since, limit = limited
            recent = {"$filter": {"input": {"$ifNull": ["$failed", []]}, "cond": {"$gt": ["$$this.at", iso(since)]}}}
            query["$expr"] = {"$lt": [{"$size": recent}, limit]}
        reservation = uuid.uuid4().hex
        update = {
            "$push": {"failed": {"at": iso(at), "id": reservation}},
            "$setOnInsert": {"campaignId": campaign_id, "userId": user_id},
        }
        with unavailable():
            # first forget failures older than a day: a failure of this call records nothing
            self._attempts.update_one({"_id": key}, {"$pull": {"failed": {"at": {"$lt": iso(at - ATTEMPTS_KEPT)}}}})
            try:
                self._attempts.update_one(query, update, upsert=True)
            except DuplicateKeyError:
                # the limit was reached, or a parallel first attempt created the document: ask again, no upsert
                if not self._attempts.update_one(query, update).matched_count:
                    return None
        return reservation


def _key(campaign_id: str, user_id: str) -> dict[str, str]:
    return {"campaignId": campaign_id, "userId": user_id}  # in this order: MongoDB compares _id documents by it
