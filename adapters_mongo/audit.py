"""MongoAuditTrail: the AuditTrail port on the ``audit`` collection of a MongoEntryStore's database (SPEC OPS-002)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import DESCENDING

from adapters_mongo.errors import unavailable
from entrycore.audit import AuditRecord
from entrycore.timefmt import iso
from entrywire.documents import documents


class MongoAuditTrail:
    """AuditTrail on ``database`` (a MongoEntryStore's ``database``); timestamps are timefmt.iso text (time order)."""

    def __init__(self, database: Any) -> None:
        self._audit: Any = database["audit"]

    def record(self, record: AuditRecord) -> None:
        with unavailable():
            self._audit.insert_one(documents.unstructure(record))

    def records(self, campaign_id: str | None, since: datetime | None, limit: int) -> list[AuditRecord]:
        query: dict[str, Any] = {}
        if campaign_id is not None:
            query["campaignId"] = campaign_id
        if since is not None:
            query["at"] = {"$gte": iso(since)}
        with unavailable():
            found = list(
                self._audit.find(query, {"_id": False}).sort([("at", DESCENDING), ("_id", DESCENDING)]).limit(limit)
            )
        return [documents.structure(doc, AuditRecord) for doc in found]
