"""Batch replication (SPEC USR-004, ``POST /v2/entries``): other services save and delete many entries in one
request. Each item is validated and applied on its own — one bad item never blocks the others — and answered
in order, the saves first, then the deletions. The batch is audited (OPS-002).

At bulk speed (issue 22): the items go to the store in chunks of at most ``CHUNK``, each chunk's writes in as few
transactions as the store allows (``EntryStore.write_together``: on SQLite one transaction and one fsync, a
SAVEPOINT per item), every item still through the fan route's own steps (``Registrations.save_replica``,
``Privacy.delete_entry``) with its event in its own write (PUB-002). Items of a chunk read what was committed
before the chunk, so an item naming a fan (campaign and user) or a phone number already in the chunk starts the
next chunk: a fan saved twice, or saved then deleted, is applied in order. An item whose write lost to a
concurrent writer (the entry changed, a code or confirmed phone taken) is applied again on its own, as today."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import attrs

from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.errors import (
    DependencyUnavailable,
    EntryError,
    EntryExists,
    PhoneTaken,
    ReferralCodeTaken,
    StaleEntry,
)
from entrycore.ports import AuditTrail, Clock, EntryStore, ScoringStore
from entrycore.usecases.privacy import Privacy
from entrycore.usecases.registrations import Registrations, Submission

log = logging.getLogger("entry_service.batch")
MAX_ITEMS = 1_000  # saves and deletions of one request, in all (API.md §2)
# Items per store call (one SQLite transaction): bounds how long the chunk holds the writer, which fans' writes
# wait for (OPS-005). Measured in serve (benchmarks/batch_replication.py): a transaction of 100 items costs the
# writer ~13 ms of CPU, and 37 ms of wall time on average while request threads compete for the GIL — the bound
# keeps a fan's write behind one chunk well under the 500 ms p99 target. 200 was not measured.
CHUNK = 100
# A write that lost to another writer between the item's reads and its write: the item is applied again alone.
_LOST_RACES = (EntryExists, StaleEntry, ReferralCodeTaken, PhoneTaken)


@attrs.frozen
class ReplicaSave:
    campaign_id: str
    user_id: str
    submission: Submission


@attrs.frozen
class ReplicaDeletion:
    campaign_id: str
    user_id: str


@attrs.frozen
class ItemResult:
    index: int
    error: EntryError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@attrs.frozen
class Replication:
    registrations: Registrations
    privacy: Privacy
    entries: EntryStore
    scoring: ScoringStore
    audit: AuditTrail
    clock: Clock

    def apply(
        self,
        admin: Caller,
        saves: Sequence[ReplicaSave | EntryError],
        deletions: Sequence[ReplicaDeletion | EntryError],
    ) -> list[ItemResult]:
        """Applies every save (``Registrations.save_replica``), then every deletion (the entry with its
        ``entry.deleted`` event, and its scoring record); an item the caller could not read is given as its
        error. Results are numbered saves first, then deletions. Deleting an entry that does not exist is a
        success (replication may replay)."""
        admin.require_supreme()
        items: list[ReplicaSave | ReplicaDeletion | EntryError] = [*saves, *deletions]
        results: list[ItemResult | None] = [None] * len(items)
        chunk: list[int] = []
        seen: set[tuple[str, ...]] = set()
        for index, item in enumerate(items):
            if isinstance(item, EntryError):
                results[index] = ItemResult(index, item)
                continue
            keys = _keys(item)
            if len(chunk) >= CHUNK or not seen.isdisjoint(keys):
                self._apply_chunk(admin, items, chunk, results)
                chunk, seen = [], set()
            chunk.append(index)
            seen.update(keys)
        self._apply_chunk(admin, items, chunk, results)
        done = [result for result in results if result is not None]
        saved = sum(r.ok for r in done[: len(saves)])
        deleted = sum(r.ok for r in done[len(saves) :])
        counts = {"saved": saved, "deleted": deleted, "failed": len(done) - saved - deleted}
        self.audit.record(AuditRecord(self.clock.now(), admin.user_id, "entries.batch", None, {}, counts))
        return done

    def _apply_chunk(
        self,
        admin: Caller,
        items: Sequence[ReplicaSave | ReplicaDeletion | EntryError],
        chunk: Sequence[int],
        results: list[ItemResult | None],
    ) -> None:
        """The chunk's items through the store at once; those whose write lost a race again, each on its own."""
        if not chunk:
            return
        steps: list[Callable[[], None]] = [partial(self._step, admin, items[i]) for i in chunk]
        outcomes = self.entries.write_together(steps)
        for index, outcome in zip(chunk, outcomes, strict=True):
            if isinstance(outcome, _LOST_RACES):
                results[index] = self._one(admin, index, items[index])
            else:
                results[index] = _result(index, outcome)

    def _step(self, admin: Caller, item: ReplicaSave | ReplicaDeletion | EntryError) -> None:
        if isinstance(item, EntryError):
            raise item
        if isinstance(item, ReplicaSave):
            self.registrations.save_replica(admin, item.campaign_id, item.user_id, item.submission)
        else:
            self.privacy.delete_entry(admin, self.entries.get(item.campaign_id, item.user_id))
            self.scoring.delete_records(item.user_id, item.campaign_id)

    def _one(self, admin: Caller, index: int, item: ReplicaSave | ReplicaDeletion | EntryError) -> ItemResult:
        """One item applied alone, its writes at once (the store's own retries of lost races included)."""
        try:
            self._step(admin, item)
        except Exception as error:  # one item's failure is its own result, never the others' (USR-004)
            return _result(index, error)
        return ItemResult(index)


def _result(index: int, outcome: Any) -> ItemResult:
    if not isinstance(outcome, Exception):
        return ItemResult(index)
    if isinstance(outcome, EntryError):
        return ItemResult(index, outcome)
    log.error("batch item %d failed", index, exc_info=outcome)
    return ItemResult(
        index, DependencyUnavailable(f"The item could not be applied ({type(outcome).__name__}).", {"index": index})
    )


def _keys(item: ReplicaSave | ReplicaDeletion) -> set[tuple[str, ...]]:
    """What an item's reads depend on that another item of its chunk could write: its fan, and the phone numbers
    it submits (each string field value with at least 7 digits, by its last 10 digits: ``(212) 555-0101`` and
    ``+12125550101`` are one number). Generous on purpose: a false match only starts a chunk early."""
    keys: set[tuple[str, ...]] = {("fan", item.campaign_id, item.user_id)}
    if isinstance(item, ReplicaSave):
        for value in item.submission.fields.values():
            if isinstance(value, str):
                digits = "".join(filter(str.isdigit, value))
                if len(digits) >= 7:
                    keys.add(("phone", item.campaign_id, digits[-10:]))
    return keys
