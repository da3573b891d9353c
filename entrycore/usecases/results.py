"""What the entry use cases answer: each entry with the campaign it was read in (so no caller fetches it again),
and the counts of the selection's batch changes (codes, blocking)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from entrycore.model import Campaign, Entry
from entrycore.scoring import ScoringRecord
from entrycore.usecases.draws import FanDraw


@attrs.frozen
class EntryWithCampaign:
    """An entry, its campaign and the moment it was read (``as_of``): what every outside view of the entry needs
    (the campaign's phone-confirmation rule, which codes are revealed by then, API.md §3)."""

    entry: Entry
    campaign: Campaign | None  # None only for a fan's entries across campaigns that the source no longer knows
    as_of: datetime
    draws: tuple[FanDraw, ...] = attrs.field(default=(), kw_only=True)  # the fan's standing in the draws (DRW-004)


@attrs.frozen
class Registration(EntryWithCampaign):
    """``Registrations.register``'s answer: the entry as saved, and whether this request created it (ENT-001)."""

    is_new: bool


@attrs.frozen
class EntryPage:
    """A page of an entry list (SCR-009), each entry with its campaign, and how many match in all."""

    entries: tuple[EntryWithCampaign, ...]
    total: int

    @classmethod
    def of(
        cls,
        entries: list[Entry],
        total: int,
        campaign: Campaign,
        as_of: datetime,
        draws: Mapping[str, tuple[FanDraw, ...]] | None = None,
    ) -> EntryPage:
        found = draws or {}
        return cls(tuple(EntryWithCampaign(e, campaign, as_of, draws=found.get(e.user_id, ())) for e in entries), total)


@attrs.frozen
class CodesAssigned:
    """SCR-007's answer: ``received`` items, ``assigned`` codes new to their entries, ``scoring`` records updated,
    and the user ids without an entry (``unmatched``, in the order they came)."""

    received: int
    assigned: int
    scoring: int
    unmatched: tuple[str, ...]


@attrs.frozen
class BlocksSaved:
    """SCR-008's answer: ``received`` items, ``saved`` (entries found), the user ids without an entry."""

    received: int
    saved: int
    unmatched: tuple[str, ...]


@attrs.frozen
class DataExport:
    """Everything kept about a fan (USR-003): every entry, newest first, and every scoring record, as stored."""

    user_id: str
    entries: tuple[Entry, ...]
    scoring: tuple[ScoringRecord, ...]
