"""In-memory fakes of the ports, for unit tests. The contract suite runs them too, so they stay honest."""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import attrs

from entrycore.audit import AuditRecord
from entrycore.choices import Bucket
from entrycore.eligibility import (
    EligibilityCounts,
    EligibilityCriteria,
    eligibility_counts,
    eligible_page,
    listed,
    sort_key,
)
from entrycore.errors import (
    DeliveryFailed,
    DependencyUnavailable,
    EntryExists,
    PhoneTaken,
    ReferralCodeTaken,
    StaleEntry,
)
from entrycore.events import TRANSFERRED, event
from entrycore.markets import MarketTransfer, transfer, transferred
from entrycore.model import Campaign, Entry, UserAccount
from entrycore.outbox import NEVER, Contact, DeadLetter, OutboxMessage, OutboxStatus, RetryRequest
from entrycore.ports import Progress
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
from entrycore.selection import EntryFilter, RegistrationTally, TimelinePoint, entry_page, timeline
from entrycore.timefmt import iso
from entrycore.writes import one_by_one
from entrywire.documents import documents
from entrywire.services import read_campaign

T = TypeVar("T")


@attrs.define
class FakeClock:
    current: datetime = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@attrs.define
class FakeHeartbeats:
    """Heartbeats that beat only when the test says (``beat_all``); ``running`` are the series not stopped."""

    running: list[Callable[[], None]] = attrs.field(factory=list)

    def start(self, every: float, beat: Callable[[], None]) -> Callable[[], None]:
        self.running.append(beat)
        return lambda: self.running.remove(beat)

    def beat_all(self) -> None:
        for beat in list(self.running):
            beat()


@attrs.define
class FakeIds:
    codes: list[str] = attrs.field(factory=list)
    counter: int = 0

    def referral_code(self) -> str:
        if self.codes:
            return self.codes.pop(0)
        self.counter += 1
        return f"CODE{self.counter:04d}"

    def message_id(self) -> str:
        self.counter += 1
        return f"MSG{self.counter:08d}"

    def secret(self, size: int) -> bytes:
        """Deterministic bytes (a hash of a counter): draws in tests are reproducible."""
        self.counter += 1
        return hashlib.shake_256(f"secret {self.counter}".encode()).digest(size)


@attrs.define
class FakeCampaignSource:
    campaigns: dict[str, Campaign] = attrs.field(factory=dict)
    down: bool = False

    def get(self, campaign_id: str, authorization: str | None = None) -> Campaign | None:
        if self.down:
            raise DependencyUnavailable("campaign source down")
        return self.campaigns.get(campaign_id)

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        return list(self.campaigns.values())


@attrs.define
class FakeUserSource:
    accounts: dict[str, UserAccount] = attrs.field(factory=dict)

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        return self.accounts.get(user_id) or UserAccount.empty(user_id)


@attrs.define
class Pending:
    message: OutboxMessage
    seq: int
    due: datetime | None = None
    owner: str | None = None
    lease_until: datetime | None = None
    attempts: int = 0
    error: str | None = None
    parked_at: datetime | None = None
    waiting: bool = False  # released uncounted: waits for its sink


@attrs.define
class FakeEntryStore:
    """EntryStore, AttemptStore and Outbox in memory (the real stores implement all three)."""

    docs: dict[tuple[str, str], dict] = attrs.field(factory=dict)  # type: ignore[type-arg]
    lock: threading.RLock = attrs.field(factory=threading.RLock)
    pending: list[Pending] = attrs.field(factory=list)
    delivered_messages: list[OutboxMessage] = attrs.field(factory=list)
    last_delivered_at: datetime | None = None
    failures: list[tuple[str, str, datetime]] = attrs.field(factory=list)
    reservations: dict[str, tuple[str, str, datetime]] = attrs.field(factory=dict)
    _reservation_ids: Iterator[int] = attrs.field(factory=itertools.count)
    seq: int = 0
    held: dict[str, tuple[str, datetime]] = attrs.field(factory=dict)  # Locks: name -> (owner, until)
    # called with each replaced entry inside its write (FakeScoring keeps its records in step, SCR-001)
    followers: list[Callable[[Entry], None]] = attrs.field(factory=list)

    def _enqueue(self, outbox: Sequence[OutboxMessage]) -> None:
        for message in outbox:
            self.seq += 1
            self.pending.append(Pending(message, self.seq))

    def ping(self) -> None:
        return None

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        doc = self.docs.get((campaign_id, user_id))
        return documents.structure(doc, Entry) if doc else None

    def contacts(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, Contact]:
        found = (self.get(campaign_id, user_id) for user_id in dict.fromkeys(user_ids))
        return {entry.user_id: Contact.of(entry) for entry in found if entry is not None}

    def _check_unique(self, entry: Entry) -> None:
        for (cid, uid), doc in self.docs.items():
            if cid != entry.campaign_id or uid == entry.user_id:
                continue
            if doc["code"] == entry.code:
                raise ReferralCodeTaken(entry.code)
            if entry.phone_confirmed and doc["phoneConfirmed"] and doc["phone"] == entry.phone:
                raise PhoneTaken(entry.phone)

    def create(self, entry: Entry, outbox: Sequence[OutboxMessage] = ()) -> None:
        with self.lock:
            if (entry.campaign_id, entry.user_id) in self.docs:
                raise EntryExists()
            self._check_unique(entry)
            self.docs[(entry.campaign_id, entry.user_id)] = documents.unstructure(entry)
            self._enqueue(outbox)

    def replace(
        self, entry: Entry, expected_version: int, outbox: Sequence[OutboxMessage] = (), *, followed: bool = True
    ) -> None:
        """``followed`` false: a bulk write of the stores' own (a transfer), which moves the records apart."""
        with self.lock:
            doc = self.docs.get((entry.campaign_id, entry.user_id))
            if doc is None or doc["version"] != expected_version or doc["dateCreated"] != iso(entry.date_created):
                raise StaleEntry()
            self._check_unique(entry)
            self.docs[(entry.campaign_id, entry.user_id)] = documents.unstructure(entry)
            for follow in self.followers if followed else ():
                follow(entry)
            self._enqueue(outbox)

    def delete(
        self, campaign_id: str, user_id: str, expected_version: int, outbox: Sequence[OutboxMessage] = ()
    ) -> None:
        with self.lock:
            doc = self.docs.get((campaign_id, user_id))
            if doc is None or doc["version"] != expected_version:
                raise StaleEntry()
            del self.docs[(campaign_id, user_id)]
            self.failures = [f for f in self.failures if f[:2] != (campaign_id, user_id)]
            self._enqueue(outbox)

    def write_together(self, items: Sequence[Callable[[], T]]) -> list[T | Exception]:
        return one_by_one(items)  # each item's writes are atomic on their own, as create/replace/delete

    # AttemptStore

    def record_failed_attempt(self, campaign_id: str, user_id: str, at: datetime) -> None:
        with self.lock:
            self.failures.append((campaign_id, user_id, at))

    def failed_attempts(self, campaign_id: str, user_id: str, since: datetime) -> int:
        with self.lock:
            return sum(1 for c, u, at in self.failures if (c, u) == (campaign_id, user_id) and at > since)

    def reserve_attempt(self, campaign_id: str, user_id: str, at: datetime, since: datetime, limit: int) -> str | None:
        with self.lock:
            if self.failed_attempts(campaign_id, user_id, since) >= limit:
                return None
            failure = (campaign_id, user_id, at)
            self.failures.append(failure)
            reservation = str(next(self._reservation_ids))
            self.reservations[reservation] = failure
            return reservation

    def release_attempt(self, campaign_id: str, user_id: str, reservation: str) -> None:
        with self.lock:
            failure = self.reservations.pop(reservation, None)
            if failure is not None and failure[:2] == (campaign_id, user_id):
                self.failures = [f for f in self.failures if f is not failure]

    # Locks

    def take_lock(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        with self.lock:
            holder = self.held.get(name)
            if holder is not None and holder[0] != owner and holder[1] > now:
                return False
            self.held[name] = (owner, until)
            return True

    def lock_holder(self, name: str, now: datetime) -> str | None:
        with self.lock:
            holder = self.held.get(name)
            return holder[0] if holder is not None and holder[1] > now else None

    def release_lock(self, name: str, owner: str) -> None:
        with self.lock:
            if self.held.get(name, ("", None))[0] == owner:
                del self.held[name]

    # Outbox

    def claim(self, owner: str, limit: int, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        with self.lock:
            blocked: set[tuple[str, str, str]] = set()
            claimed: list[OutboxMessage] = []
            for item in sorted(self.pending, key=lambda p: p.seq):
                key = (item.message.campaign_id, item.message.user_id, item.message.kind)  # order per channel
                leased = item.lease_until is not None and item.lease_until > now
                claimable = not leased and (item.due is None or item.due <= now)
                if key in blocked or not claimable:
                    blocked.add(key)
                    continue
                if len(claimed) >= limit:
                    break
                item.owner, item.lease_until = owner, now + lease
                claimed.append(attrs.evolve(item.message, attempts=item.attempts))
            return claimed

    def delivered(self, owner: str, ids: Sequence[str], now: datetime) -> None:
        with self.lock:
            done = [p for p in self.pending if p.message.id in ids and p.owner == owner]
            for item in done:
                self.pending.remove(item)
                self.delivered_messages.append(item.message)
            if done:
                self.last_delivered_at = now

    def retry_later(
        self, owner: str, ids: Sequence[str], at: datetime, *, error: str | None = None, counted: bool = True
    ) -> None:
        with self.lock:
            for item in self.pending:
                if item.message.id in ids and item.owner == owner:
                    item.owner, item.lease_until, item.due = None, None, at
                    item.attempts += 1 if counted else 0
                    item.error = error if error is not None else item.error
                    item.waiting = not counted

    def release_waiting(self, kind: str, now: datetime) -> int:
        with self.lock:
            waiting = [p for p in self.pending if p.waiting and p.message.kind == kind]
            for item in waiting:
                item.due, item.waiting = None, False
            return len(waiting)

    def park(self, owner: str, ids: Sequence[str], now: datetime, error: str) -> None:
        with self.lock:
            for item in self.pending:
                if item.message.id in ids and item.owner == owner:
                    item.owner, item.lease_until, item.due = None, None, NEVER
                    item.attempts += 1
                    item.error, item.parked_at, item.waiting = error, now, False

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        with self.lock:
            dead = sorted(
                (p for p in self.pending if p.parked_at is not None), key=lambda p: (p.parked_at, p.message.id)
            )
            return [
                DeadLetter(
                    attrs.evolve(p.message, attempts=p.attempts),
                    p.parked_at,
                    p.error or "",
                    sum(1 for o in self.pending if o.seq > p.seq and _same_lane(o, p) and o.parked_at is None),
                )
                for p in dead[:limit]
                if p.parked_at is not None
            ]

    def requeue_dead_letters(self, ids: Sequence[str] | None, now: datetime) -> int:
        with self.lock:
            chosen = [p for p in self.pending if p.parked_at is not None and (ids is None or p.message.id in ids)]
            for item in chosen:
                item.parked_at, item.due, item.attempts, item.waiting = None, None, 0, False
            return len(chosen)

    def outbox_status(self) -> OutboxStatus:
        with self.lock:
            live = [p for p in self.pending if p.parked_at is None]
            dead = [p.parked_at for p in self.pending if p.parked_at is not None]
            return OutboxStatus(
                backlog=len(live),
                last_delivered_at=self.last_delivered_at,
                oldest_pending_at=min((p.message.created_at for p in live), default=None),
                dead_letters=len(dead),
                oldest_dead_letter_at=min(dead, default=None),
            )

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        return next(
            (
                documents.structure(d, Entry)
                for (cid, _), d in self.docs.items()
                if cid == campaign_id and d["code"] == code
            ),
            None,
        )

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        return next(
            (
                uid
                for (cid, uid), d in self.docs.items()
                if cid == campaign_id and d["phoneConfirmed"] and d["phone"] == phone
            ),
            None,
        )

    def entries_of_user(self, user_id: str) -> list[Entry]:
        found = [documents.structure(d, Entry) for (_, uid), d in self.docs.items() if uid == user_id]
        return sorted(found, key=lambda e: (e.date_created, e.campaign_id), reverse=True)


def _same_lane(one: Pending, other: Pending) -> bool:
    """Same entry and same channel: the order the outbox keeps (PUB-002)."""
    mine, theirs = one.message, other.message
    return (mine.campaign_id, mine.user_id, mine.kind) == (theirs.campaign_id, theirs.user_id, theirs.kind)


@attrs.define
class FakeInviteStore:
    values: dict[str, set[str]] = attrs.field(factory=dict)

    def add(self, campaign_id: str, values: Iterable[str]) -> int:
        existing = self.values.setdefault(campaign_id, set())
        new = set(values) - existing
        existing |= new
        return len(new)

    def contains(self, campaign_id: str, value: str) -> bool:
        return value in self.values.get(campaign_id, set())


@attrs.define
class _Queued:
    request: RetryRequest
    handle: str | None = None
    visible: bool = True
    requeue: bool = False


@attrs.define
class FakeRetryQueue:
    """RetryQueue in memory: one request per entry (merged), hidden while received, removed when acknowledged
    by the handle of its latest receive; a request merged in while received is re-queued on acknowledge."""

    items: list[_Queued] = attrs.field(factory=list)
    down: bool = False
    counter: int = 0

    @property
    def queued(self) -> dict[str, RetryRequest]:
        return {str(i.handle): i.request for i in self.items if i.visible}

    @property
    def hidden(self) -> dict[str, RetryRequest]:
        return {str(i.handle): i.request for i in self.items if not i.visible}

    def enqueue(self, requests: Sequence[RetryRequest]) -> dict[RetryRequest, str]:
        if self.down:
            raise DeliveryFailed("retry queue down")
        for request in requests:
            same = next((i for i in self.items if i.request == request), None)
            if same is None:
                self.items.append(_Queued(request))
            elif same.handle is not None:
                same.requeue = True
        return {}

    def receive(self, max_count: int, wait_seconds: float) -> list[tuple[str, RetryRequest]]:
        if self.down:
            raise DeliveryFailed("retry queue down")
        taken = []
        for item in [i for i in self.items if i.visible][:max_count]:
            self.counter += 1
            item.handle, item.visible = f"h{self.counter}", False
            taken.append((item.handle, item.request))
        return taken

    def acknowledge(self, handles: Sequence[str]) -> None:
        if self.down:
            raise DeliveryFailed("retry queue down")
        for item in [i for i in self.items if i.handle is not None and i.handle in handles]:
            if item.requeue:
                item.handle, item.visible, item.requeue = None, True, False
            else:
                self.items.remove(item)

    def expire(self) -> None:
        """The visibility timeout passed: unacknowledged requests are visible again (handles kept until the
        next receive, as SQS does)."""
        for item in self.items:
            item.visible = True


@attrs.define
class FakeScoring:
    """ScoringStore in memory over a FakeEntryStore: the reference functions of entrycore.eligibility applied
    to every record, so the contract suite compares the real stores with the plain rules."""

    entries: FakeEntryStore
    records: dict[tuple[str, str], ScoringRecord] = attrs.field(factory=dict)

    def __attrs_post_init__(self) -> None:
        self.entries.followers.append(self._follow)

    def _follow(self, entry: Entry) -> None:
        """SCR-001, REQ-006: the record shows its entry's facts, and goes when its phone is no longer confirmed."""
        key = (entry.campaign_id, entry.user_id)
        record = self.records.get(key)
        if record is None:
            return
        if not entry.phone_confirmed or entry.phone != record.phone:
            del self.records[key]
        else:
            self.records[key] = refreshed(record, EntryFacts.of(entry))

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        outcomes = []
        with self.entries.lock:
            for row, drawn in zip(rows, random_scores, strict=True):
                holder = self.entries.confirmed_holder(campaign_id, row.phone)
                entry = self.entries.get(campaign_id, holder) if holder is not None else None
                if entry is None:
                    outcomes.append(NO_CONFIRMED_ENTRY)
                    continue
                existing = self.records.get((campaign_id, entry.user_id))
                self.records[(campaign_id, entry.user_id)] = merge(existing, row, EntryFacts.of(entry), drawn)
                outcomes.append(INSERTED if existing is None else UPDATED)
        return outcomes

    def scoring_record(self, campaign_id: str, user_id: str) -> ScoringRecord | None:
        return self.records.get((campaign_id, user_id))

    def _of(self, campaign_id: str) -> list[ScoringRecord]:
        return [r for (cid, _), r in self.records.items() if cid == campaign_id]

    def eligibility_counts(
        self, campaign_id: str, criteria: EligibilityCriteria, markets: Sequence[str]
    ) -> EligibilityCounts:
        return eligibility_counts([r.candidate() for r in self._of(campaign_id)], criteria, markets)

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        by_user = {r.user_id: r for r in self._of(campaign_id)}
        page, total = eligible_page([r.candidate() for r in by_user.values()], criteria, limit, offset)
        return [by_user[c.user_id] for c in page], total

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        chosen = [r for r in self._of(campaign_id) if listed(r.candidate(), criteria)]
        yield from sorted(chosen, key=lambda r: sort_key(r.candidate(), criteria))

    def entrants(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[tuple[str, tuple[str, ...]]]:
        return ((r.user_id, tuple(r.markets)) for r in self.eligible(campaign_id, criteria))

    def copy_entries(self, campaign_id: str, user_ids: Sequence[str]) -> int:
        copied = 0
        with self.entries.lock:
            for user_id in dict.fromkeys(user_ids):
                record = self.records.get((campaign_id, user_id))
                entry = self.entries.get(campaign_id, user_id)
                if record is not None and entry is not None and entry.phone == record.phone:
                    self.records[(campaign_id, user_id)] = refreshed(record, EntryFacts.of(entry))
                    copied += 1
        return copied

    def tag(self, campaign_id: str, tag: str, by: str, values: Sequence[str]) -> int:
        wanted, tagged = set(values), 0
        for key, record in list(self.records.items()):
            if key[0] == campaign_id and (record.phone if by == "phone" else record.user_id) in wanted:
                self.records[key] = attrs.evolve(record, tags={**record.tags, tag: True})
                tagged += 1
        return tagged

    def flip_verdicts(self, campaign_id: str, tag: str, mode: str) -> int:
        modified = 0
        for key, record in list(self.records.items()):
            carries = record.tags.get(tag) is True
            if key[0] == campaign_id and record.verdict and carries == (mode == "exclude"):
                self.records[key] = attrs.evolve(record, verdict=False)
                modified += 1
        return modified

    def transfer_records(self, move: MarketTransfer) -> int:
        moved = 0
        for key, record in list(self.records.items()):
            markets = transfer(record.markets, move.source, move.target)
            if key[0] == move.campaign_id and markets != record.markets:
                self.records[key] = attrs.evolve(record, markets=markets)
                moved += 1
        return moved

    def delete_records(self, user_id: str, campaign_id: str | None = None) -> int:
        doomed = [k for k in self.records if k[1] == user_id and campaign_id in (None, k[0])]
        for key in doomed:
            del self.records[key]
        return len(doomed)


@attrs.define
class FakeAudit:
    """AuditTrail in memory."""

    kept: list[AuditRecord] = attrs.field(factory=list)

    def record(self, record: AuditRecord) -> None:
        self.kept.append(record)

    def records(self, campaign_id: str | None, since: datetime | None, limit: int) -> list[AuditRecord]:
        chosen = [
            r
            for r in self.kept
            if (campaign_id is None or r.campaign_id == campaign_id) and (since is None or r.at >= since)
        ]
        return sorted(chosen, key=lambda r: r.at, reverse=True)[:limit]


@attrs.define
class FakeSelection:
    """SelectionStore in memory over a FakeEntryStore: the reference functions of entrycore.selection; a transfer
    moves the records of ``scoring`` too."""

    entries: FakeEntryStore
    scoring: FakeScoring | None = None

    def _of(self, campaign_id: str) -> list[Entry]:
        return [documents.structure(d, Entry) for (cid, _), d in self.entries.docs.items() if cid == campaign_id]

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        return entry_page(self._of(campaign.id), chosen, campaign, limit, offset)

    def registration_tally(self, campaign_id: str) -> RegistrationTally:
        return RegistrationTally.of_lists((e.markets, e.phone_confirmed, 1) for e in self._of(campaign_id))

    def transfer_entries(self, move: MarketTransfer, progress: Progress | None = None) -> tuple[int, int]:
        campaign = read_campaign(
            {"id": move.campaign_id, "name": move.campaign_name, "status": "OPEN", "markets": [], "preferences": []}
        )
        moved = 0
        with self.entries.lock:
            for entry in self._of(move.campaign_id):
                changed = transferred(entry, move)
                if changed is not None:
                    moved += 1
                    message = event(move.event_id(moved), TRANSFERRED, campaign, changed, move.at)
                    self.entries.replace(changed, entry.version, [message], followed=False)
        if progress is not None:
            progress(moved, moved)
        return moved, self.scoring.transfer_records(move) if self.scoring is not None else 0

    def timeline(self, campaign_id: str, bucket: Bucket) -> list[TimelinePoint]:
        entries = self._of(campaign_id)
        confirmed = [e.date_phone_confirmed for e in entries if e.phone_confirmed and e.date_phone_confirmed]
        return timeline([e.date_created for e in entries], confirmed, bucket)
