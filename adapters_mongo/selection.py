"""MongoSelection: the SelectionStore port on a MongoStore's ``entries`` collection (entry lists, registration
counts, timeline), each one query or aggregation over the indexes of ``indexes.SELECTION_INDEXES``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING

from adapters_mongo.errors import unavailable
from adapters_mongo.outbox import ENTRY_ONLY
from entrycore.model import Campaign, Entry
from entrycore.selection import EntryFilter, TimelinePoint
from entrycore.timefmt import parse_iso

_HAS_CODES = {"codes.0": {"$exists": True}}
_NO_CODES = {"codes.0": {"$exists": False}}
_PREFIX = {"hour": 13, "day": 10}  # characters of a timefmt.iso timestamp that name its hour / day


class MongoSelection:
    """SelectionStore on ``database`` (a MongoStore's ``database``)."""

    def __init__(self, database: Any) -> None:
        self._entries: Any = database["entries"]

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        query: dict[str, Any] = {"campaignId": campaign.id}
        blocked = {"review.isBlocked": True}
        not_blocked = {"review.isBlocked": {"$ne": True}}
        chosen_parts: dict[str, list[dict[str, Any]]] = {
            "winners": [not_blocked, _HAS_CODES],
            "codeless": [not_blocked, _NO_CODES],
            "blocked": [blocked],
            "verified": [not_blocked],
        }
        parts = chosen_parts[chosen.filter_type]
        if chosen.filter_type == "verified" and campaign.needs_phone_confirmation:
            parts.append({"phoneConfirmed": True})
        if chosen.market is not None:
            parts.append({"markets.0": chosen.market})
        if chosen.code_config_id is not None:
            parts.append({"codes.codeConfigId": chosen.code_config_id})
        query["$and"] = parts
        with unavailable():
            total = int(self._entries.count_documents(query))
            found = list(
                self._entries.find(query, ENTRY_ONLY)
                .sort([("dateCreated", ASCENDING), ("userId", ASCENDING)])
                .skip(offset)
                .limit(limit)
            )
        return [Entry.from_document(doc) for doc in found], total

    def registration_groups(self, campaign_id: str) -> list[tuple[list[str], bool, int]]:
        pipeline = [
            {"$match": {"campaignId": campaign_id}},
            {"$group": {"_id": {"m": "$markets", "c": "$phoneConfirmed"}, "n": {"$sum": 1}}},
        ]
        with unavailable():
            groups = list(self._entries.aggregate(pipeline))
        return [(list(g["_id"].get("m") or []), bool(g["_id"].get("c")), int(g["n"])) for g in groups]

    def timeline(self, campaign_id: str, bucket: str) -> list[TimelinePoint]:
        width = _PREFIX[bucket]
        points: dict[str, list[int]] = {}
        with unavailable():
            for column, field, match in (
                (0, "$dateCreated", {"campaignId": campaign_id}),
                (1, "$datePhoneConfirmed", {"campaignId": campaign_id, "phoneConfirmed": True}),
            ):
                pipeline = [
                    {"$match": {**match, field[1:]: {"$type": "string"}}},
                    {"$group": {"_id": {"$substr": [field, 0, width]}, "n": {"$sum": 1}}},
                ]
                for group in self._entries.aggregate(pipeline):
                    points.setdefault(group["_id"], [0, 0])[column] += int(group["n"])
        return [TimelinePoint(_start(prefix), c, p) for prefix, (c, p) in sorted(points.items())]


def _start(prefix: str) -> datetime:
    return parse_iso(prefix + (":00:00Z" if len(prefix) == _PREFIX["hour"] else "T00:00:00Z"))
