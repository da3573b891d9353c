"""The AttemptStore port on MongoDB: failed phone confirmations per entry (SPEC PHN-010)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters_mongo.errors import unavailable
from entrycore.ports import ATTEMPTS_KEPT
from entrycore.timefmt import utc_ms


class MongoAttempts:
    """AttemptStore on the ``attempts`` collection (mixed into MongoStore): one ``{campaignId, userId, at}``
    document per failure. Recording one forgets the entry's failures older than a day. (No TTL index: it
    would run on the server's clock, not the Clock port's, and so forget differently in tests.)"""

    _attempts: Any

    def record_failed_attempt(self, campaign_id: str, user_id: str, at: datetime) -> None:
        key = {"campaignId": campaign_id, "userId": user_id}
        with unavailable():
            self._attempts.insert_one({**key, "at": utc_ms(at)})
            self._attempts.delete_many({**key, "at": {"$lt": utc_ms(at - ATTEMPTS_KEPT)}})

    def failed_attempts(self, campaign_id: str, user_id: str, since: datetime) -> int:
        query = {"campaignId": campaign_id, "userId": user_id, "at": {"$gt": utc_ms(since)}}
        with unavailable():
            return int(self._attempts.count_documents(query))
