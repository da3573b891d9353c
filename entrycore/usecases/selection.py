"""Selection for administrators (SPEC SCR-007…010): codes, blocking, entry lists, registration counts and the
registrations timeline. Changes to entries publish their events in the same atomic write as the entry
(``entry.codes_assigned``, ``entry.blocked``, ``entry.updated`` on unblock) and are audited (OPS-002)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import attrs

from entrycore import choices
from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.choices import Bucket, FilterType
from entrycore.errors import StaleEntry
from entrycore.events import BLOCKED, CODES_ASSIGNED, UPDATED, event
from entrycore.model import Campaign, Entry
from entrycore.ports import AuditTrail, CampaignSource, Clock, EntryStore, Ids, ScoringStore, SelectionStore
from entrycore.selection import (
    BlockItem,
    CodeAssignment,
    EntryFilter,
    RegistrationCounts,
    TimelinePoint,
    registration_counts,
    with_codes,
    with_review,
)
from entrycore.timefmt import utc_ms
from entrycore.usecases.common import known_campaign
from entrycore.usecases.draws import Draws
from entrycore.usecases.results import BlocksSaved, CodesAssigned, EntryPage

T = TypeVar("T")
_RETRIES = 16  # a fan's own update may race an admin's change: read again and re-apply


@attrs.frozen
class Selection:
    campaigns: CampaignSource
    entries: EntryStore
    scoring: ScoringStore
    selection: SelectionStore
    audit: AuditTrail
    clock: Clock
    ids: Ids
    draws: Draws | None = None  # a blocked fan's offers become void (DRW-005)

    def assign_codes(self, caller: Caller, campaign_id: str, items: Sequence[CodeAssignment]) -> CodesAssigned:
        """SCR-007: each entry gets the codes it lacks (the same code again is a no-op), with one
        ``entry.codes_assigned`` event; its scoring record then counts it as selected."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        by_user: dict[str, list[CodeAssignment]] = {}
        for item in items:
            by_user.setdefault(item.user_id, []).append(item)
        assigned, unmatched, changed = 0, [], []
        for user_id, assignments in by_user.items():

            def change(entry: Entry, now: Any, assignments: list[CodeAssignment] = assignments) -> Entry | None:
                return with_codes(entry, assignments, now)

            saved = self._save(campaign, user_id, change, CODES_ASSIGNED)
            if saved is None:
                unmatched.append(user_id)
                continue
            before, after = saved
            if after is not None:
                assigned += len(after.codes) - len(before.codes)
                changed.append(after.user_id)
        copied = self.scoring.copy_entries(campaign_id, changed) if changed else 0
        answer = CodesAssigned(len(items), assigned, copied, tuple(unmatched))
        counts = {"input": answer.received, "assigned": assigned, "scoring": copied, "unmatched": len(unmatched)}
        self._audit(caller, "entries.codes", campaign_id, {}, counts)
        return answer

    def set_blocks(self, caller: Caller, campaign_id: str, items: Sequence[BlockItem]) -> BlocksSaved:
        """SCR-008: blocks or unblocks entries (``entry.blocked`` / ``entry.updated``); verdicts untouched; the
        scoring records follow."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        saved_count, unmatched, changed = 0, [], []
        for item in items:

            def change(entry: Entry, now: Any, item: BlockItem = item) -> Entry | None:
                return with_review(entry, item, now)

            kind = BLOCKED if item.is_blocked else UPDATED
            saved = self._save(campaign, item.user_id, change, kind)
            if saved is None:
                unmatched.append(item.user_id)
                continue
            saved_count += 1
            if saved[1] is not None:
                changed.append(item.user_id)
                if self.draws is not None:
                    if item.is_blocked:
                        self.draws.void_fan(campaign, item.user_id, erase=False)
                    else:
                        self.draws.unvoid_fan(campaign, item.user_id)
        if changed:
            self.scoring.copy_entries(campaign_id, changed)
        answer = BlocksSaved(len(items), saved_count, tuple(unmatched))
        counts = {"input": answer.received, "saved": saved_count, "unmatched": len(unmatched)}
        self._audit(caller, "entries.verdicts", campaign_id, {}, counts)
        return answer

    def _save(
        self, campaign: Campaign, user_id: str, change: Callable[[Entry, Any], Entry | None], kind: str
    ) -> tuple[Entry, Entry | None] | None:
        """Applies ``change`` to the entry and stores it with its event; None when there is no entry, else
        ``(before, after)`` with ``after`` None when nothing changed."""
        for _ in range(_RETRIES):
            entry = self.entries.get(campaign.id, user_id)
            if entry is None:
                return None
            now = utc_ms(self.clock.now())
            after = change(entry, now)
            if after is None:
                return entry, None
            try:
                self.entries.replace(after, entry.version, [event(self.ids.message_id(), kind, campaign, after, now)])
            except StaleEntry:
                continue
            return entry, after
        raise StaleEntry()

    def entry_list(self, caller: Caller, campaign_id: str, chosen: EntryFilter, limit: int, offset: int) -> EntryPage:
        """SCR-009: entries by filter type, by creation time then user id; a page, each with the campaign, and the
        total."""
        caller.require_supreme()
        chosen = attrs.evolve(chosen, filter_type=choices.read(FilterType, chosen.filter_type, "filterType"))
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        entries, total = self.selection.entry_page(campaign, chosen, limit, offset)
        found = self.draws.fan_draws(campaign_id, [e.user_id for e in entries]) if self.draws and entries else {}
        return EntryPage.of(entries, total, campaign, self.clock.now(), found)

    def counts(self, caller: Caller, campaign_id: str) -> RegistrationCounts:
        """SCR-010."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        return registration_counts(self.selection.registration_tally(campaign_id), campaign)

    def timeline(self, caller: Caller, campaign_id: str, bucket: Bucket) -> list[TimelinePoint]:
        """Entries created and phones confirmed per hour or day (UTC), oldest first."""
        caller.require_supreme()
        bucket = choices.read(Bucket, bucket, "query.bucket")  # before the campaign (API.md §2); for untyped callers
        known_campaign(self.campaigns, caller, campaign_id)
        return self.selection.timeline(campaign_id, bucket)

    def _audit(
        self, caller: Caller, action: str, campaign_id: str, parameters: dict[str, Any], counts: dict[str, int]
    ) -> None:
        self.audit.record(AuditRecord(self.clock.now(), caller.user_id, action, campaign_id, parameters, counts))
