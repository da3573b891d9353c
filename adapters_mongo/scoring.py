"""MongoScoringStore: the ScoringStore port on the ``scoring`` collection of a MongoEntryStore's database.

One document per record: API.md §4's fields (``markets`` ranked) plus what the queries filter on —
``selected`` (has a code), ``blocked``, ``intl`` (phone not ``+1``) — and the tags as two arrays, ``tagged``
(true) and ``untagged`` (false): tag names are admins' free text, which must never become field paths.
The criteria become one filter document served by the indexes of ``indexes.SCORING_INDEXES`` (a multikey
index for "any of these markets"); the counts are one aggregation grouped by rank, market, verdict and selected
(``$unwind`` with the array index, as the registration counts of adapters_mongo/selection.py), added up by
``entrycore.eligibility.counts_of_ranks`` as SQLite's are.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, DeleteOne, InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError

from adapters_mongo.errors import DUPLICATE_KEY, unavailable
from adapters_mongo.outbox import ENTRY_ONLY, LIVE
from adapters_mongo.transfers import scoring_pipeline
from entrycore.batches import batched
from entrycore.eligibility import (
    MAX_RANKS,
    EligibilityCounts,
    EligibilityCriteria,
    counts_of_ranks,
    listed_states,
)
from entrycore.errors import DependencyUnavailable
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
from entrywire.documents import documents, scoring_record

_BY_SCORE = [("score", DESCENDING), ("userId", ASCENDING)]
_BY_RANDOM = [("randomScore", ASCENDING), ("userId", ASCENDING)]
_STREAM_BATCH = 1_000
_REWRITES = 16  # conditional rewrites of a record before giving up (other admin writes kept changing it)
_IN_CHUNK = 1_000  # values per $in of a tag
_FOLLOWED = ("name", "email", "locale", "markets", "codes", "selected", "blocked")  # a record's copies of its entry


def follow_entry(scoring: Any, entry: Entry) -> None:
    """Keeps the entry's scoring record in step with it, right after the entry's own write (SCR-001, REQ-006): the
    record is removed when the entry is no longer phone-confirmed with the phone it was matched by (PHN-005), else
    given the entry's current name, email, locale, ranked markets, codes and block, its revision bumped so an upload
    or copy that read the record before rewrites it from the entry again (see ``MongoScoringStore._rewrite``). Without
    transactions this is a second single-document write: an upload racing with it re-checks its new records
    (``_unmatched_meanwhile``); a process that dies between the two writes leaves the record behind its entry until
    the entry's next write (docs/decisions.md)."""
    key = {"campaignId": entry.campaign_id, "userId": entry.user_id}
    with unavailable():
        if not (entry.phone_confirmed and entry.phone):
            scoring.delete_one(key)  # no confirmed phone: no record
            return
        shaped = _document(  # the entry's facts in the record's own shape, as an upload writes them
            refreshed(ScoringRecord(entry.campaign_id, entry.user_id, entry.phone, 0.0, 0.0), EntryFacts.of(entry))
        )
        followed = {name: shaped[name] for name in _FOLLOWED}
        # One round trip for the fan's one record (unique by key), most often none: kept when matched by this
        # phone, removed when matched by another.
        scoring.bulk_write(
            [
                UpdateOne({**key, "phone": entry.phone}, {"$set": followed, "$inc": {"rev": 1}}),
                DeleteOne({**key, "phone": {"$ne": entry.phone}}),
            ],
            ordered=False,
        )


class MongoScoringStore:
    """ScoringStore on ``database`` (a pymongo or mongomock Database: a MongoEntryStore's own, shared)."""

    def __init__(self, database: Any) -> None:
        self._scoring: Any = database["scoring"]
        self._entries: Any = database["entries"]

    # writes

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        if len(rows) != len(random_scores):
            raise ValueError("one random score per row")
        with unavailable(admin=True):
            phones = sorted({row.phone for row in rows})
            holders = {  # phone -> the user id of its confirmed entry (_rewrite reads the entries themselves)
                doc["phone"]: doc["userId"]
                for doc in self._entries.find(
                    {"campaignId": campaign_id, "phone": {"$in": phones}, "phoneConfirmed": True, **LIVE},
                    {"_id": False, "phone": True, "userId": True},
                )
            }
        outcomes = [NO_CONFIRMED_ENTRY] * len(rows)
        rows_of: dict[str, list[int]] = {}  # user id -> its rows, in upload order
        for index, row in enumerate(rows):
            holder = holders.get(row.phone)
            if holder is not None:
                rows_of.setdefault(holder, []).append(index)

        def merged(user_id: str, existing: ScoringRecord | None, entry: EntryFacts | None) -> ScoringRecord | None:
            record = existing
            for index in rows_of[user_id]:
                if entry is None or entry.phone != rows[index].phone:  # unconfirmed or changed meanwhile
                    outcomes[index] = NO_CONFIRMED_ENTRY
                    continue
                outcomes[index] = INSERTED if record is None else UPDATED
                record = merge(record, rows[index], entry, random_scores[index])
            return record

        for user_id in self._rewrite(campaign_id, sorted(rows_of), merged, insert=True)[1]:
            for index in rows_of[user_id]:
                outcomes[index] = NO_CONFIRMED_ENTRY  # erased or unmatched while its record was made: it is gone
        return outcomes

    def copy_entries(self, campaign_id: str, user_ids: Sequence[str]) -> int:
        def copied(_: str, existing: ScoringRecord | None, entry: EntryFacts | None) -> ScoringRecord | None:
            if existing is None or entry is None or entry.phone != existing.phone:
                return None  # gone, or another phone: the entry's own write removes the record (follow_entry)
            return refreshed(existing, entry)

        return self._rewrite(campaign_id, sorted(set(user_ids)), copied, insert=False)[0]

    def _rewrite(
        self,
        campaign_id: str,
        user_ids: Sequence[str],
        change: Callable[[str, ScoringRecord | None, EntryFacts | None], ScoringRecord | None],
        *,
        insert: bool,
    ) -> tuple[int, list[str]]:
        """Read-modify-write of these users' records, each from the record and its entry as they are now (the
        entry's facts are copied from the entry read here, never from what a caller read earlier: two admin writes
        of one entry, codes and a block, may finish in either order). Each write is conditional on the record's
        revision (``rev``) as read: a record another admin write changed meanwhile (a tag, a flip, a transfer, a
        copy, another upload) is read again with its entry and changed again, never overwritten with what was
        read before. ``change`` gives the new record from the stored one and the facts of the entry (None: there
        is none; for ``insert``, none with a confirmed phone); None leaves the record. ``insert`` creates records
        that do not exist. Returns how many records were written, and the users whose record was created but whose
        entry was erased meanwhile (USR-003): those records are deleted again."""
        pending, written, created = list(user_ids), 0, dict[str, str]()
        for _ in range(_REWRITES):
            if not pending:
                return written, self._unmatched_meanwhile(campaign_id, created)
            with unavailable(admin=True):
                found = {
                    doc["userId"]: doc
                    for doc in self._scoring.find({"campaignId": campaign_id, "userId": {"$in": pending}})
                }
                query: dict[str, Any] = {"campaignId": campaign_id, "userId": {"$in": pending}, **LIVE}
                if insert:  # an upload scores phone-confirmed entries only (SCR-001)
                    query["phoneConfirmed"] = True
                facts = {
                    doc["userId"]: EntryFacts.of(documents.structure(doc, Entry))
                    for doc in self._entries.find(query, ENTRY_ONLY)
                }
            writes: list[tuple[ScoringRecord, int | None]] = []
            for user_id in pending:
                doc = found.get(user_id)
                if doc is None and not insert:
                    continue
                record = change(user_id, None if doc is None else _record(doc), facts.get(user_id))
                if record is not None:
                    writes.append((record, None if doc is None else doc.get("rev", 0)))
            missed = self._write_all(campaign_id, writes)
            for record, rev in writes:
                if record.user_id not in missed:
                    written += 1
                    if rev is None:
                        created[record.user_id] = record.phone
            pending = sorted(missed)
        if pending:
            raise DependencyUnavailable("Scoring records kept changing under this write; try again.")
        return written, self._unmatched_meanwhile(campaign_id, created)

    def _unmatched_meanwhile(self, campaign_id: str, created: Mapping[str, str]) -> list[str]:
        """Of the users whose records were just created (user id -> the record's phone), those whose entry is gone
        or no longer phone-confirmed with that phone, their records deleted again: an erasure (USR-003) or a phone
        change (PHN-005, ``follow_entry``) between the read of the entry and the insert of its record removes the
        records it finds, so a record inserted after that would outlive its match. Checked after the insert, the
        entry either still matches (its later write removes the record) or does not (deleted here)."""
        if not created:
            return []
        with unavailable(admin=True):
            live = {
                doc["userId"]
                for doc in self._entries.find(
                    {"campaignId": campaign_id, "userId": {"$in": list(created)}, "phoneConfirmed": True, **LIVE},
                    {"_id": False, "userId": True, "phone": True},
                )
                if doc.get("phone") == created[doc["userId"]]
            }
            erased = [user_id for user_id in created if user_id not in live]
            if erased:
                self._scoring.delete_many({"campaignId": campaign_id, "userId": {"$in": erased}})
        return erased

    def _write_all(self, campaign_id: str, writes: Sequence[tuple[ScoringRecord, int | None]]) -> set[str]:
        """Writes each record if its stored revision is still the one read (None: it must not exist yet), in one
        unordered bulk write (one round trip, not one per record); answers the users whose write missed."""
        if not writes:
            return set()
        operations: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
        written = uuid.uuid4().hex  # this write's mark on its documents: which replaces landed, if some missed
        for record, rev in writes:
            doc = {**_document(record), "rev": (rev or 0) + 1, "written": written}
            if rev is None:
                operations.append(InsertOne(doc))
            else:  # a record written before revisions existed has none: "rev": 0 is "rev" missing
                current = {"$in": [0, None]} if rev == 0 else rev
                key = {"campaignId": campaign_id, "userId": record.user_id, "rev": current}
                operations.append(ReplaceOne(key, doc))
        missed: set[str] = set()
        with unavailable(admin=True):
            try:
                matched = int(self._scoring.bulk_write(operations, ordered=False).matched_count)
            except BulkWriteError as err:
                details = err.details or {}
                errors = details.get("writeErrors", [])
                if details.get("writeConcernErrors") or any(e.get("code") != DUPLICATE_KEY for e in errors):
                    raise
                missed = {writes[e["index"]][0].user_id for e in errors}  # created meanwhile by another upload
                matched = int(details.get("nMatched", 0))
            replaced = [record.user_id for record, rev in writes if rev is not None]
            if matched < len(replaced):  # some records changed since read: those not carrying this write's mark
                query = {"campaignId": campaign_id, "userId": {"$in": replaced}, "written": written}
                landed = {doc["userId"] for doc in self._scoring.find(query, {"userId": True})}
                missed |= set(replaced) - landed
        return missed

    def tag(self, campaign_id: str, tag: str, by: str, values: Sequence[str]) -> int:
        field = {"phone": "phone", "userId": "userId"}[by]
        wanted = sorted(set(values))
        matched = 0
        with unavailable(admin=True):
            for some in batched(wanted, _IN_CHUNK):  # a bounded $in: 10,000 long values exceed 16 MB of BSON
                result = self._scoring.update_many(
                    {"campaignId": campaign_id, field: {"$in": some}},
                    {"$addToSet": {"tagged": tag}, "$pull": {"untagged": tag}, "$inc": {"rev": 1}},
                )
                matched += int(result.matched_count)
        return matched

    def flip_verdicts(self, campaign_id: str, tag: str, mode: str) -> int:
        carrying = tag if mode == "exclude" else {"$ne": tag}
        with unavailable(admin=True):
            result = self._scoring.update_many(
                {"campaignId": campaign_id, "verdict": True, "tagged": carrying},
                {"$set": {"verdict": False}, "$inc": {"rev": 1}},
            )
        return int(result.modified_count)

    def transfer_records(self, move: MarketTransfer) -> int:
        query = {"campaignId": move.campaign_id, "markets": move.source}
        with unavailable(admin=True):
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
        """SCR-004 in one aggregation over the matching records, grouped by (rank, market, verdict, selected):
        each record unwound into its ranked markets (``includeArrayIndex``), a record without markets kept once
        without a rank (``preserveNullAndEmptyArrays``). At most (markets x ranks + 1) x 4 groups, whatever the
        spread of the ranked lists (SPEC §10); the states' totals are the groups at rank 0 or without a rank (each
        record once), the by-market counts those of the listed states, added up by ``counts_of_ranks`` as SQLite's
        are."""
        pipeline = [
            {"$match": _filter(campaign_id, criteria)},
            {"$project": {"_id": False, "markets": True, "verdict": True, "selected": True}},
            {"$unwind": {"path": "$markets", "includeArrayIndex": "rank", "preserveNullAndEmptyArrays": True}},
            {"$group": {"_id": {"r": "$rank", "m": "$markets", "v": "$verdict", "s": "$selected"}, "n": {"$sum": 1}}},
        ]
        with unavailable(admin=True):
            groups = list(self._scoring.aggregate(pipeline))
        chosen = listed_states(criteria)
        states: dict[tuple[bool, bool], int] = {}
        ranks: dict[tuple[int, str], int] = {}
        for group in groups:
            key, count = group["_id"], int(group["n"])
            state, rank = (bool(key.get("v")), bool(key.get("s"))), key.get("r")  # no rank: missing or null
            if rank is None or int(rank) == 0:
                states[state] = states.get(state, 0) + count
            if rank is not None and state in chosen:
                ranks[(int(rank), key["m"])] = ranks.get((int(rank), key["m"]), 0) + count
        return counts_of_ranks(states, ranks, markets)

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        page: list[ScoringRecord] = []
        total = 0
        with unavailable(admin=True):
            for query, order in _parts(campaign_id, criteria):
                count = int(self._scoring.count_documents(query))
                start = max(0, offset - total)
                if len(page) < limit and start < count:
                    found = self._scoring.find(query).sort(order).skip(start).limit(limit - len(page))
                    page.extend(_record(doc) for doc in found)
                total += count
        return page, total

    def entrants(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[tuple[str, tuple[str, ...]]]:
        """The list's fans as ``(user id, ranked markets)`` (a draw's snapshot), read with a projection."""
        for query, _order in _parts(campaign_id, criteria):
            with unavailable(admin=True):
                cursor = self._scoring.find(query, {"_id": False, "userId": True, "markets": True})
                cursor = cursor.batch_size(_STREAM_BATCH)
            try:
                while True:
                    with unavailable(admin=True):
                        doc = next(cursor, None)
                    if doc is None:
                        break
                    yield doc["userId"], tuple(doc.get("markets") or ())
            finally:
                cursor.close()

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        for query, order in _parts(campaign_id, criteria):
            with unavailable(admin=True):
                cursor = self._scoring.find(query).sort(order).batch_size(_STREAM_BATCH)
            try:
                while True:
                    with unavailable(admin=True):
                        doc = next(cursor, None)
                    if doc is None:
                        break
                    yield _record(doc)
            finally:
                cursor.close()


def _document(record: ScoringRecord) -> dict[str, Any]:
    doc: dict[str, Any] = documents.unstructure(record)
    doc["markets"] = doc.pop("marketIds")
    tags = doc.pop("tags")
    doc["tagged"] = sorted(t for t, value in tags.items() if value)
    doc["untagged"] = sorted(t for t, value in tags.items() if not value)
    doc["selected"] = bool(record.codes)
    doc["intl"] = not record.phone.startswith("+1")
    return doc


def _record(doc: Mapping[str, Any]) -> ScoringRecord:
    tags = {**dict.fromkeys(doc.get("untagged") or (), False), **dict.fromkeys(doc.get("tagged") or (), True)}
    return scoring_record({**doc, "marketIds": doc.get("markets") or [], "tags": tags})


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
    if listed:  # the listed states as points (one value, or an $in of both): see indexes.SCORING_INDEXES
        states = listed_states(criteria)
        for field, values in (("selected", {s for _, s in states}), ("verdict", {v for v, _ in states})):
            query[field] = values.pop() if len(values) == 1 else {"$in": sorted(values)}
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
