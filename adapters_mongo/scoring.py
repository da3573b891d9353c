"""MongoScoring: the ScoringStore port on the ``scoring`` collection of a MongoStore's database.

One document per record: API.md §4's fields (``markets`` ranked) plus what the queries filter on —
``selected`` (has a code), ``blocked``, ``intl`` (phone not ``+1``) — and the tags as two arrays, ``tagged``
(true) and ``untagged`` (false): tag names are admins' free text, which must never become field paths.
The criteria become one filter document served by the indexes of ``indexes.SCORING_INDEXES`` (a multikey
index for "any of these markets"); the counts are one aggregation grouped by verdict, selected and ranked
markets, added up here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING

from adapters_mongo.errors import unavailable
from adapters_mongo.outbox import ENTRY_ONLY, LIVE
from adapters_mongo.transfers import scoring_pipeline
from entrycore.eligibility import MAX_RANKS, EligibilityCounts, EligibilityCriteria, counts_of_groups
from entrycore.markets import MarketTransfer
from entrycore.model import Entry
from entrycore.scoring import (
    INSERTED,
    NO_CONFIRMED_ENTRY,
    UPDATED,
    EntryFacts,
    ScoreRow,
    ScoringRecord,
    merge,
    refreshed,
)

_BY_SCORE = [("score", DESCENDING), ("userId", ASCENDING)]
_BY_RANDOM = [("randomScore", ASCENDING), ("userId", ASCENDING)]
_STREAM_BATCH = 1_000


class MongoScoring:
    """ScoringStore on ``database`` (a pymongo or mongomock Database: a MongoStore's own, shared)."""

    def __init__(self, database: Any) -> None:
        self._scoring: Any = database["scoring"]
        self._entries: Any = database["entries"]

    # writes

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        if len(rows) != len(random_scores):
            raise ValueError("one random score per row")
        with unavailable():
            phones = sorted({row.phone for row in rows})
            holders = {
                doc["phone"]: Entry.from_document(doc)
                for doc in self._entries.find(
                    {"campaignId": campaign_id, "phone": {"$in": phones}, "phoneConfirmed": True, **LIVE}, ENTRY_ONLY
                )
            }
            users = sorted({entry.user_id for entry in holders.values()})
            records = {
                doc["userId"]: _record(doc)
                for doc in self._scoring.find({"campaignId": campaign_id, "userId": {"$in": users}})
            }
            outcomes, writes = [], {}
            for row, drawn in zip(rows, random_scores, strict=True):
                entry = holders.get(row.phone)
                if entry is None:
                    outcomes.append(NO_CONFIRMED_ENTRY)
                    continue
                existing = records.get(entry.user_id)
                records[entry.user_id] = writes[entry.user_id] = merge(existing, row, EntryFacts.of(entry), drawn)
                outcomes.append(INSERTED if existing is None else UPDATED)
            for user_id, record in writes.items():  # one write per record: mongomock's bulk_write lags pymongo's
                self._scoring.replace_one(
                    {"campaignId": campaign_id, "userId": user_id}, _document(record), upsert=True
                )
        return outcomes

    def copy_entries(self, campaign_id: str, entries: Sequence[EntryFacts]) -> int:
        by_user = {facts.user_id: facts for facts in entries}
        copied = 0
        with unavailable():
            found = list(self._scoring.find({"campaignId": campaign_id, "userId": {"$in": sorted(by_user)}}))
            for doc in found:
                record = refreshed(_record(doc), by_user[doc["userId"]])
                key = {"campaignId": campaign_id, "userId": record.user_id}
                self._scoring.replace_one(key, _document(record))
                copied += 1
        return copied

    def tag(self, campaign_id: str, tag: str, by: str, values: Sequence[str]) -> int:
        field = {"phone": "phone", "userId": "userId"}[by]
        with unavailable():
            result = self._scoring.update_many(
                {"campaignId": campaign_id, field: {"$in": sorted(set(values))}},
                {"$addToSet": {"tagged": tag}, "$pull": {"untagged": tag}},
            )
        return int(result.matched_count)

    def flip_verdicts(self, campaign_id: str, tag: str, mode: str) -> int:
        carrying = tag if mode == "exclude" else {"$ne": tag}
        with unavailable():
            result = self._scoring.update_many(
                {"campaignId": campaign_id, "verdict": True, "tagged": carrying}, {"$set": {"verdict": False}}
            )
        return int(result.modified_count)

    def transfer_records(self, move: MarketTransfer) -> int:
        query = {"campaignId": move.campaign_id, "markets": move.source}
        with unavailable():
            return int(self._scoring.update_many(query, scoring_pipeline(move)).modified_count)

    def delete_records(self, user_id: str, campaign_id: str | None = None) -> int:
        query = {"userId": user_id} if campaign_id is None else {"campaignId": campaign_id, "userId": user_id}
        with unavailable():
            return int(self._scoring.delete_many(query).deleted_count)

    # reads

    def scoring_record(self, campaign_id: str, user_id: str) -> ScoringRecord | None:
        with unavailable():
            doc = self._scoring.find_one({"campaignId": campaign_id, "userId": user_id})
        return None if doc is None else _record(doc)

    def eligibility_counts(
        self, campaign_id: str, criteria: EligibilityCriteria, markets: Sequence[str]
    ) -> EligibilityCounts:
        group = {"_id": {"v": "$verdict", "s": "$selected", "m": "$markets"}, "n": {"$sum": 1}}
        with unavailable():
            groups = list(self._scoring.aggregate([{"$match": _filter(campaign_id, criteria)}, {"$group": group}]))
        keyed = ((g["_id"], int(g["n"])) for g in groups)
        return counts_of_groups(
            ((bool(key["v"]), bool(key["s"]), key.get("m") or [], n) for key, n in keyed), criteria, markets
        )

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        page: list[ScoringRecord] = []
        total = 0
        with unavailable():
            for query, order in _parts(campaign_id, criteria):
                count = int(self._scoring.count_documents(query))
                start = max(0, offset - total)
                if len(page) < limit and start < count:
                    found = self._scoring.find(query).sort(order).skip(start).limit(limit - len(page))
                    page.extend(_record(doc) for doc in found)
                total += count
        return page, total

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        for query, order in _parts(campaign_id, criteria):
            with unavailable():
                cursor = self._scoring.find(query).sort(order).batch_size(_STREAM_BATCH)
            try:
                while True:
                    with unavailable():
                        doc = next(cursor, None)
                    if doc is None:
                        break
                    yield _record(doc)
            finally:
                cursor.close()


def _document(record: ScoringRecord) -> dict[str, Any]:
    doc = record.stored()
    doc["markets"] = doc.pop("marketIds")
    tags = doc.pop("tags")
    doc["tagged"] = sorted(t for t, value in tags.items() if value)
    doc["untagged"] = sorted(t for t, value in tags.items() if not value)
    doc["selected"] = bool(record.codes)
    doc["intl"] = not record.phone.startswith("+1")
    return doc


def _record(doc: Mapping[str, Any]) -> ScoringRecord:
    tags = {**dict.fromkeys(doc.get("untagged") or (), False), **dict.fromkeys(doc.get("tagged") or (), True)}
    return ScoringRecord.from_document({**doc, "marketIds": doc.get("markets") or [], "tags": tags})


def _filter(campaign_id: str, criteria: EligibilityCriteria, *, listed: bool = False) -> dict[str, Any]:
    """SCR-003's criteria as a filter (blocked records never match); ``listed`` adds SCR-005's defaults."""
    query: dict[str, Any] = {"campaignId": campaign_id, "blocked": False}
    if criteria.market_ids:
        field = "markets.0" if criteria.single_market_selection else "markets"
        query[field] = {"$in": list(criteria.market_ids)}
    score: dict[str, float] = {}
    if criteria.min_score is not None:
        score["$gte"] = criteria.min_score
    if criteria.max_score is not None:
        score["$lte"] = criteria.max_score
    if score:
        query["score"] = score
    if criteria.exclude_intl_phone:
        query["intl"] = False
    tags: list[dict[str, Any]] = []
    if criteria.tag is not None:
        tags.append({"tagged": criteria.tag})
    if criteria.exclude_tag is not None:
        tags.append({"tagged": {"$ne": criteria.exclude_tag}})
    if tags:
        query["$and"] = tags
    if listed:
        if not criteria.include_filtered:
            query["verdict"] = True
        if criteria.selected_only:
            query["selected"] = True
        elif not criteria.reassign:
            query["selected"] = False
    return query


def _parts(campaign_id: str, criteria: EligibilityCriteria) -> Iterator[tuple[dict[str, Any], list[tuple[str, int]]]]:
    """The list as consecutive ``(filter, sort)`` parts in its order: one, or with ``orderByPreference`` one per
    best rank among ``marketIds`` (0…3, then none), each by score."""
    query = _filter(campaign_id, criteria, listed=True)
    if criteria.random_selection:
        yield query, _BY_RANDOM
        return
    if not criteria.order_by_preference:
        yield query, _BY_SCORE
        return
    wanted = list(criteria.market_ids)
    part: dict[str, Any]
    for rank in range(MAX_RANKS + 1):
        if wanted:
            part = {f"markets.{r}": {"$nin": wanted} for r in range(rank)}
            if rank < MAX_RANKS:
                part[f"markets.{rank}"] = {"$in": wanted}
        elif rank == 0:
            part = {"markets.0": {"$exists": True}}
        elif rank == MAX_RANKS:
            part = {"markets.0": {"$exists": False}}
        else:
            continue
        yield {"$and": [query, part]}, _BY_SCORE
