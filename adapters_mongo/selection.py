"""MongoSelectionStore: the SelectionStore port on a MongoEntryStore's ``entries`` collection (entry lists, registration
counts, timeline), each one query or aggregation over the indexes of ``indexes.SELECTION_INDEXES``."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING

from adapters_mongo.errors import unavailable
from adapters_mongo.outbox import ENTRY_ONLY, LIVE
from adapters_mongo.scoring import MongoScoringStore
from adapters_mongo.transfers import entry_pipeline
from entrycore.choices import Bucket
from entrycore.markets import MarketTransfer
from entrycore.model import Campaign, Entry
from entrycore.ports import Progress
from entrycore.selection import BUCKET_PREFIX, EntryFilter, RegistrationTally, TimelinePoint, timeline_of_prefixes
from entrywire.documents import documents

_HAS_CODES = {"codes.0": {"$exists": True}}
_NO_CODES = {"codes.0": {"$exists": False}}


class MongoSelectionStore:
    """SelectionStore on ``database`` (a MongoEntryStore's ``database``)."""

    def __init__(self, database: Any) -> None:
        self._entries: Any = database["entries"]
        self._records = MongoScoringStore(database)

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        query: dict[str, Any] = {"campaignId": campaign.id, **LIVE}
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
        with unavailable(admin=True):
            total = int(self._entries.count_documents(query))
            found = list(
                self._entries.find(query, ENTRY_ONLY)
                .sort([("dateCreated", ASCENDING), ("userId", ASCENDING)])
                .skip(offset)
                .limit(limit)
            )
        return [documents.structure(doc, Entry) for doc in found], total

    def transfer_entries(self, move: MarketTransfer, progress: Progress | None = None) -> tuple[int, int]:
        query = {"campaignId": move.campaign_id, "markets": move.source, **LIVE}
        with unavailable(admin=True):
            moved = int(self._entries.update_many(query, entry_pipeline(move)).modified_count)
        if progress is not None:
            progress(moved, moved)
        return moved, self._records.transfer_records(move)  # the records are documents of their own here

    def registration_tally(self, campaign_id: str) -> RegistrationTally:
        """Grouped by (market, rank, confirmed) in the aggregation ($unwind with the array index): at most
        markets x ranks x 2 groups, whatever the spread of the ranked lists."""
        match = {"$match": {"campaignId": campaign_id, **LIVE}}
        totals = [
            match,
            {"$group": {"_id": None, "n": {"$sum": 1}, "c": {"$sum": {"$cond": ["$phoneConfirmed", 1, 0]}}}},
        ]
        ranks = [
            match,
            {"$project": {"markets": 1, "phoneConfirmed": 1}},
            {"$unwind": {"path": "$markets", "includeArrayIndex": "rank"}},
            {"$group": {"_id": {"m": "$markets", "r": "$rank", "c": "$phoneConfirmed"}, "n": {"$sum": 1}}},
        ]
        with unavailable(admin=True):
            total = next(iter(self._entries.aggregate(totals)), {"n": 0, "c": 0})
            groups = list(self._entries.aggregate(ranks))
        counted = ((g["_id"]["m"], int(g["_id"]["r"]), bool(g["_id"].get("c")), int(g["n"])) for g in groups)
        return RegistrationTally(int(total["n"]), int(total["c"]), tuple(sorted(counted)))

    def timeline(self, campaign_id: str, bucket: Bucket) -> list[TimelinePoint]:
        width = BUCKET_PREFIX[bucket]
        counts: list[list[tuple[str, int]]] = []
        with unavailable(admin=True):
            for field, match in (
                ("dateCreated", {"campaignId": campaign_id}),
                ("datePhoneConfirmed", {"campaignId": campaign_id, "phoneConfirmed": True}),
            ):
                pipeline = [
                    {"$match": {**match, field: {"$type": "string"}}},
                    {"$group": {"_id": {"$substr": [f"${field}", 0, width]}, "n": {"$sum": 1}}},
                ]
                counts.append([(group["_id"], int(group["n"])) for group in self._entries.aggregate(pipeline)])
        return timeline_of_prefixes(*counts)
