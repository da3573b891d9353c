"""A fan's privacy requests: opt-outs over all of a fan's entries (SPEC USR-002), each changed entry publishing
``entry.updated`` in the same atomic write; the erasure of a fan (USR-003), each entry publishing ``entry.deleted``
in the write that erases it; and the export of what is kept about a fan (an access request). Every request is
audited (OPS-002), without the fan's data."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.errors import BadRequest, StaleEntry
from entrycore.events import DELETED, UPDATED, event
from entrycore.model import Campaign, Entry
from entrycore.ports import AuditTrail, CampaignSource, Clock, EntryStore, Ids, ScoringStore
from entrycore.timefmt import utc_ms
from entrycore.usecases.draws import Draws
from entrycore.usecases.results import DataExport

# USR-002: the opt-in fields each opt-out turns off (the platform's ids, SPEC §2).
OPT_OUTS: Mapping[str, Mapping[str, bool]] = {
    "DO_NOT_SELL": {"allow_marketing": False},
    "UNSUBSCRIBE": {"allow_notification": False, "allow_livenation": False},
}
_RETRIES = 16


def opted_out(entry: Entry, kind: str, now: datetime) -> Entry | None:
    """The entry with the opt-out's fields set to false and nothing else changed; None when they are already."""
    wanted = OPT_OUTS[kind]
    if all(entry.fields.get(name) is value for name, value in wanted.items()):
        return None
    fields = {**entry.fields, **wanted}
    return attrs.evolve(entry, fields=fields, date_updated=now, version=entry.version + 1)


@attrs.frozen
class Privacy:
    campaigns: CampaignSource
    entries: EntryStore
    audit: AuditTrail
    clock: Clock
    ids: Ids
    scoring: ScoringStore | None = None  # for the data export
    draws: Draws | None = None  # an erased fan's offers become void, their tickets forget them (DRW-005)

    def export(self, caller: Caller, user_id: str) -> DataExport:
        """Everything kept about a fan (a GDPR/CCPA access request): every entry, as stored, and every scoring
        record, newest entry first. Audited without the data itself."""
        caller.require_supreme()
        entries = self.entries.entries_of_user(user_id)
        records = [
            record
            for entry in entries
            if self.scoring is not None
            and (record := self.scoring.scoring_record(entry.campaign_id, entry.user_id)) is not None
        ]
        counts = {"entries": len(entries), "scoring": len(records)}
        self.audit.record(AuditRecord(self.clock.now(), caller.user_id, "users.export", None, {}, counts))
        return DataExport(user_id, tuple(entries), tuple(records))

    def opt_out(self, caller: Caller, user_id: str, kind: str) -> int:
        """USR-002: turns the opt-out's fields off on every entry of the fan; returns how many entries changed
        (0 for a fan without entries, or one opted out already)."""
        caller.require_supreme()
        if kind not in OPT_OUTS:
            raise BadRequest.at([("$.type", f"must be one of {', '.join(OPT_OUTS)}")])
        modified = 0
        for entry in self.entries.entries_of_user(user_id):
            modified += self._opt_out(caller, entry, kind)
        self.audit.record(
            AuditRecord(self.clock.now(), caller.user_id, "users.optout", None, {"type": kind}, {"modified": modified})
        )
        return modified

    def delete_user(self, caller: Caller, user_id: str) -> dict[str, int]:
        """USR-003: erases every entry of the fan (its confirmed phone is free again) and every scoring record;
        answers ``{"entries": n, "scoring": n}`` (zeros for a fan without any, or erased already)."""
        caller.require_supreme()
        # the records first: a store may keep a record in its entry's row (SQLite), gone with the entry
        records = self.scoring.delete_records(user_id) if self.scoring is not None else 0
        erased = sum(self.delete_entry(caller, entry) for entry in self.entries.entries_of_user(user_id))
        counts = {"entries": erased, "scoring": records}
        self.audit.record(AuditRecord(self.clock.now(), caller.user_id, "users.delete", None, {}, counts))
        return counts

    def delete_entry(self, caller: Caller, entry: Entry | None) -> int:
        """Erases one entry with its ``entry.deleted`` event (1), or nothing when it is gone (0); the caller
        erases the scoring records."""
        campaign = self._campaign(caller, entry.campaign_id) if entry is not None else None
        if entry is not None and campaign is not None and self.draws is not None:
            self.draws.void_fan(campaign, entry.user_id, erase=True)  # first: its offer_ended events name the entry
        for _ in range(_RETRIES):
            if entry is None or campaign is None:
                return 0
            now = utc_ms(self.clock.now())
            try:
                self.entries.delete(
                    entry.campaign_id,
                    entry.user_id,
                    entry.version,
                    [event(self.ids.message_id(), DELETED, campaign, entry, now)],
                )
            except StaleEntry:
                entry = self.entries.get(entry.campaign_id, entry.user_id)  # written meanwhile: erase what is there
                continue
            return 1
        raise StaleEntry()

    def _opt_out(self, caller: Caller, entry: Entry | None, kind: str) -> int:
        campaign = self._campaign(caller, entry.campaign_id) if entry is not None else None
        for _ in range(_RETRIES):
            if entry is None or campaign is None:
                return 0  # deleted meanwhile
            now = utc_ms(self.clock.now())
            changed = opted_out(entry, kind, now)
            if changed is None:
                return 0
            try:
                self.entries.replace(
                    changed, entry.version, [event(self.ids.message_id(), UPDATED, campaign, changed, now)]
                )
            except StaleEntry:
                entry = self.entries.get(entry.campaign_id, entry.user_id)  # the fan wrote meanwhile: again
                continue
            return 1
        raise StaleEntry()

    def _campaign(self, caller: Caller, campaign_id: str) -> Campaign:
        """The entry's campaign for its event; one the campaign source no longer knows keeps its id as name."""
        found = self.campaigns.get(campaign_id, caller.authorization)
        if found is not None:
            return found
        return Campaign(id=campaign_id, name=campaign_id, status="CLOSED", markets=(), preferences=())
