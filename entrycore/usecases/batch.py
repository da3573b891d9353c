"""Batch replication (SPEC USR-004, ``POST /v2/entries``): other services save and delete many entries in one
request. Each item is validated and applied on its own — one bad item never blocks the others — and answered
in order, the saves first, then the deletions. The batch is audited (OPS-002)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import attrs

from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.errors import DependencyUnavailable, EntryError
from entrycore.ports import AuditTrail, Clock, EntryStore, ScoringStore
from entrycore.usecases.privacy import Privacy
from entrycore.usecases.registrations import Registrations, Submission

log = logging.getLogger("entry_service.batch")
MAX_ITEMS = 1_000  # saves and deletions of one request, in all (API.md §2)


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
        results = [self._one(admin, index, item) for index, item in enumerate(saves)]
        results += [self._one(admin, index, item) for index, item in enumerate(deletions, start=len(saves))]
        saved = sum(r.ok for r in results[: len(saves)])
        deleted = sum(r.ok for r in results[len(saves) :])
        counts = {"saved": saved, "deleted": deleted, "failed": len(results) - saved - deleted}
        self.audit.record(AuditRecord(self.clock.now(), admin.user_id, "entries.batch", None, {}, counts))
        return results

    def _one(self, admin: Caller, index: int, item: ReplicaSave | ReplicaDeletion | EntryError) -> ItemResult:
        try:
            if isinstance(item, EntryError):
                raise item
            if isinstance(item, ReplicaSave):
                self.registrations.save_replica(admin, item.campaign_id, item.user_id, item.submission)
            else:
                self.privacy.delete_entry(admin, self.entries.get(item.campaign_id, item.user_id))
                self.scoring.delete_records(item.user_id, item.campaign_id)
        except EntryError as error:
            return ItemResult(index, error)
        except Exception as error:  # one item's failure is its own result, never the others' (USR-004)
            log.exception("batch item %d failed", index)
            return ItemResult(
                index,
                DependencyUnavailable(f"The item could not be applied ({type(error).__name__}).", {"index": index}),
            )
        return ItemResult(index)
