"""Selection's changes to entries and its views of them (SPEC SCR-007…010): codes, blocking, entry lists by
filter, registration counts and the registrations timeline. Plain values and rules; the stores query."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

import attrs

from entrycore.choices import Bucket, FilterType
from entrycore.eligibility import MAX_RANKS
from entrycore.model import AssignedCode, Campaign, Entry, Review
from entrycore.timefmt import parse_iso


@attrs.frozen
class CodeAssignment:
    """One item of ``POST /{campaignId}/entries/codes`` (SCR-007)."""

    user_id: str
    code: str
    code_config_id: str | None
    start: datetime
    end: datetime | None = None
    reveal_code: datetime | None = None


@attrs.frozen
class BlockItem:
    """One item of ``POST /{campaignId}/entries/verdicts`` (SCR-008); ``date`` None = now."""

    user_id: str
    is_blocked: bool
    date: datetime | None = None


def with_codes(entry: Entry, assignments: Iterable[CodeAssignment], now: datetime) -> Entry | None:
    """The entry with the codes it does not have yet (the same code again is a no-op, SCR-007); None when
    nothing is new."""
    held = {c.code for c in entry.codes}
    added = []
    for item in assignments:
        if item.code in held:
            continue
        held.add(item.code)
        added.append(AssignedCode(item.code, item.code_config_id, item.start, item.end, item.reveal_code, now))
    if not added:
        return None
    return attrs.evolve(entry, codes=(*entry.codes, *added), date_updated=now, version=entry.version + 1)


def with_review(entry: Entry, item: BlockItem, now: datetime) -> Entry | None:
    """The entry blocked or unblocked (SCR-008: verdicts untouched); None when it is so already."""
    if entry.is_blocked == item.is_blocked:
        return None
    review = Review(is_blocked=item.is_blocked, date=item.date or now)
    return attrs.evolve(entry, review=review, date_updated=now, version=entry.version + 1)


def in_filter(entry: Entry, filter_type: FilterType, campaign: Campaign) -> bool:
    """SCR-009's lists: winners (a code, not blocked), codeless (no code, not blocked), blocked, verified (not
    blocked, and phone-confirmed when the campaign has PPC)."""
    if filter_type == FilterType.BLOCKED:
        return entry.is_blocked
    if entry.is_blocked:
        return False
    if filter_type == FilterType.WINNERS:
        return bool(entry.codes)
    if filter_type == FilterType.CODELESS:
        return not entry.codes
    return entry.phone_confirmed or not campaign.needs_phone_confirmation


@attrs.frozen
class EntryFilter:
    """An entry list's choice (SCR-009): its type, optionally a primary market or a code configuration."""

    filter_type: FilterType
    market: str | None = None
    code_config_id: str | None = None

    def matches(self, entry: Entry, campaign: Campaign) -> bool:
        if not in_filter(entry, self.filter_type, campaign):
            return False
        if self.market is not None and entry.markets[:1] != (self.market,):
            return False
        return self.code_config_id is None or any(c.code_config_id == self.code_config_id for c in entry.codes)


def entry_page(
    entries: Iterable[Entry], chosen: EntryFilter, campaign: Campaign, limit: int, offset: int
) -> tuple[list[Entry], int]:
    """The reference of the entry lists: matching entries by creation time then user id, a page and the total."""
    found = sorted((e for e in entries if chosen.matches(e, campaign)), key=lambda e: (e.date_created, e.user_id))
    return found[offset : offset + limit], len(found)


@attrs.frozen
class RegistrationCounts:
    """SCR-010: entries per campaign market and rank, ``total`` and ``confirmed`` entries."""

    total: int
    confirmed: int
    by_market: tuple[tuple[str, tuple[int, int, int, int]], ...]


@attrs.frozen
class RegistrationTally:
    """What a store counts of a campaign's entries for SCR-010: how many, how many phone-confirmed, and per
    ``(market, rank, phone confirmed)`` how many entries rank that market there — the datastore's own grouping,
    whose size is markets x ranks x 2 whatever the spread of the ranked lists."""

    total: int
    confirmed: int
    ranks: tuple[tuple[str, int, bool, int], ...]

    @classmethod
    def of_lists(cls, ranked_lists: Iterable[tuple[Sequence[str], bool, int]]) -> RegistrationTally:
        """The tally of ``(ranked markets, phone confirmed, how many entries)`` groups (the fake's, the tests')."""
        total = confirmed = 0
        ranks: dict[tuple[str, int, bool], int] = {}
        for markets, is_confirmed, count in ranked_lists:
            total += count
            confirmed += count if is_confirmed else 0
            for rank, market in enumerate(list(markets)[:MAX_RANKS]):
                key = (market, rank, bool(is_confirmed))
                ranks[key] = ranks.get(key, 0) + count
        return cls(total, confirmed, tuple((*key, count) for key, count in sorted(ranks.items())))


def registration_counts(tally: RegistrationTally, campaign: Campaign) -> RegistrationCounts:
    """SCR-010: ranks counted over the phone-confirmed entries when the campaign has PPC, over all of them
    otherwise; blocked ones included; every campaign market in campaign order."""
    ranks = {m.id: [0] * MAX_RANKS for m in campaign.markets}
    for market, rank, is_confirmed, count in tally.ranks:
        if market in ranks and rank < MAX_RANKS and (is_confirmed or not campaign.needs_phone_confirmation):
            ranks[market][rank] += count
    return RegistrationCounts(
        tally.total, tally.confirmed, tuple((m, (r[0], r[1], r[2], r[3])) for m, r in ranks.items())
    )


@attrs.frozen
class TimelinePoint:
    at: datetime
    created: int
    confirmed: int


def bucket_start(moment: datetime, bucket: Bucket) -> datetime:
    """The start of the hour or UTC day ``moment`` falls in."""
    start = moment.replace(minute=0, second=0, microsecond=0)
    return start.replace(hour=0) if bucket == Bucket.DAY else start


def timeline(created: Iterable[datetime], confirmed: Iterable[datetime], bucket: Bucket) -> list[TimelinePoint]:
    """Entries created and phones confirmed per bucket, oldest first, buckets with neither left out."""
    points: dict[datetime, list[int]] = {}
    for moment in created:
        points.setdefault(bucket_start(moment, bucket), [0, 0])[0] += 1
    for moment in confirmed:
        points.setdefault(bucket_start(moment, bucket), [0, 0])[1] += 1
    return [TimelinePoint(at, c, p) for at, (c, p) in sorted(points.items())]


# The first characters of a timefmt.iso timestamp (2026-11-27T12:00:00.123Z) that name its hour or its day: the
# stores group the stored text by them.
BUCKET_PREFIX = {Bucket.HOUR: 13, Bucket.DAY: 10}


def timeline_of_prefixes(
    created: Iterable[tuple[str, int]], confirmed: Iterable[tuple[str, int]]
) -> list[TimelinePoint]:
    """The timeline from a store's counts per bucket prefix (``BUCKET_PREFIX``) of created entries and of confirmed
    phones, oldest first."""
    points: dict[str, list[int]] = {}
    for column, counts in ((0, created), (1, confirmed)):
        for prefix, count in counts:
            points.setdefault(prefix, [0, 0])[column] += count
    return [TimelinePoint(_prefix_start(prefix), c, p) for prefix, (c, p) in sorted(points.items())]


def _prefix_start(prefix: str) -> datetime:
    """``2026-11-27T12`` or ``2026-11-27`` as the UTC moment it starts."""
    return parse_iso(prefix + (":00:00Z" if len(prefix) == BUCKET_PREFIX[Bucket.HOUR] else "T00:00:00Z"))
