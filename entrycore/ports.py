"""Ports: what the domain needs from the outside world, as typing.Protocols named by role."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import attrs

from entrycore.audit import AuditRecord
from entrycore.choices import Bucket, FlipMode, TagBy
from entrycore.draws.beacon import Chain
from entrycore.draws.model import Draw, DrawChange, DrawFile, DrawStatus, StoredFile, Ticket
from entrycore.eligibility import EligibilityCounts, EligibilityCriteria
from entrycore.markets import MarketTransfer
from entrycore.model import Campaign, Entry, FraudResult, UserAccount
from entrycore.outbox import Contact, DeadLetter, OutboxMessage, OutboxStatus, RetryRequest
from entrycore.scoring import ScoreRow, ScoringRecord
from entrycore.selection import EntryFilter, RegistrationTally, TimelinePoint

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class Pending(Protocol[T_co]):
    """A call running elsewhere (a ``concurrent.futures.Future`` is one)."""

    def result(self, timeout: float | None = None) -> T_co:
        """Its value, waiting up to ``timeout`` seconds; raises what the call raised, or TimeoutError."""
        ...

    def cancel(self) -> bool:
        """Cancels it if it has not started; whether it was cancelled."""
        ...


class Runner(Protocol):
    """Where calls that must not hold the caller run (the fraud check beside the fanscore, unwaited probes)."""

    def submit(self, call: Callable[..., T], /, *args: Any) -> Pending[T]:
        """Starts ``call(*args)`` at once, in the caller's context (contextvars: the request's correlation id
        goes along); returns without waiting for it."""
        ...


class Heartbeats(Protocol):
    """Calls repeated in the background while a long operation runs (renewing the lease of a lock it holds)."""

    def start(self, every: float, beat: Callable[[], None]) -> Callable[[], None]:
        """Calls ``beat()`` every ``every`` seconds, from elsewhere, until the returned ``stop()`` is called;
        ``stop()`` returns once no beat runs any more. A beat that raises is logged and the beats go on."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware UTC."""
        ...


class Ids(Protocol):
    def referral_code(self) -> str:
        """A new random referral code (uniqueness is enforced by the EntryStore)."""
        ...

    def message_id(self) -> str:
        """A new unique id for an outbox message (an event's ``eventId``); sortable by creation time."""
        ...

    def secret(self, size: int) -> bytes:
        """``size`` bytes from a cryptographically secure source (a draw's tickets and seed, SPEC DRW-001)."""
        ...


class CampaignSource(Protocol):
    def get(self, campaign_id: str, authorization: str | None = None) -> Campaign | None:
        """The campaign, or None when unknown; raises DependencyUnavailable when the source fails."""
        ...

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        """Every campaign the source knows; raises DependencyUnavailable when the source fails."""
        ...


class UserSource(Protocol):
    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        """The fan's account; an empty account when unknown; raises DependencyUnavailable on failure."""
        ...


class EntryStore(Protocol):
    def ping(self) -> None:
        """Returns when the datastore answers; raises DependencyUnavailable otherwise."""
        ...

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        """The fan's entry in the campaign, or None."""
        ...

    def contacts(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, Contact]:
        """The contact facts of the fans' entries in the campaign (those that exist), in batches."""
        ...

    def create(self, entry: Entry, outbox: Sequence[OutboxMessage] = ()) -> None:
        """Stores a new entry and its outbox messages in one atomic write. Raises EntryExists when
        (campaign, user) is taken, ReferralCodeTaken when its code is used in the campaign, PhoneTaken when
        it is phone-confirmed with a phone another entry of the campaign has confirmed. Nothing is stored
        when it raises."""
        ...

    def replace(self, entry: Entry, expected_version: int, outbox: Sequence[OutboxMessage] = ()) -> None:
        """Replaces the stored entry (and adds its outbox messages, atomically) if its version is still
        ``expected_version``; raises StaleEntry otherwise, PhoneTaken as ``create``. Nothing changes when
        it raises. A store that keeps scoring records keeps the entry's in step (SCR-001, REQ-006): removed
        when the entry is no longer phone-confirmed with the record's phone, else given the entry's current
        name, email, locale, ranked markets, codes and block — in the same atomic write where the datastore
        has transactions (SQLite), right after it otherwise (MongoDB)."""
        ...

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        """The entry of the campaign whose referral code is ``code``, or None."""
        ...

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        """The user id of the entry of the campaign that has ``phone`` confirmed, or None."""
        ...

    def entries_of_user(self, user_id: str) -> list[Entry]:
        """Every entry of the fan across campaigns, newest first."""
        ...

    def delete(
        self, campaign_id: str, user_id: str, expected_version: int, outbox: Sequence[OutboxMessage] = ()
    ) -> None:
        """Erases the entry (its confirmed phone and referral code are free again, its failed confirmation
        attempts forgotten) and adds its outbox messages, atomically, if its version is still
        ``expected_version``; raises StaleEntry otherwise (also when it is gone). The entry's messages still
        pending are delivered as usual, before these (USR-003)."""
        ...

    def write_together(self, items: Sequence[Callable[[], T]]) -> list[T | Exception]:
        """Runs each item — one use case's steps for one write: its reads and rules, then its writes through this
        store and the stores sharing its datastore — and answers, in order, what each returned or the Exception
        it or its writes raised. The items' writes reach the datastore in as few transactions as it allows, each
        item's writes atomic and isolated: an item whose writes fail leaves nothing and never fails the others
        (SQLite: one transaction, a SAVEPOINT per item; stores without multi-document transactions: the item's
        own atomic writes, one after the other). An item's reads may run before earlier items' writes are
        applied, and its writes may raise (EntryExists, StaleEntry, PhoneTaken, ReferralCodeTaken) only when all
        items have run, as the answer of that item: the caller keeps apart items whose reads depend on each
        other's writes, and runs again on its own an item answered with one of these. Batch replication
        (USR-004) calls it with bounded chunks, so one call holds the datastore's writer briefly."""
        ...


class InviteStore(Protocol):
    def add(self, campaign_id: str, values: Iterable[str]) -> int:
        """Adds invite values (already normalised); returns how many were not present before."""
        ...

    def contains(self, campaign_id: str, value: str) -> bool:
        """Whether ``value`` (already normalised) is on the campaign's invite list."""
        ...


ATTEMPTS_KEPT = timedelta(days=1)  # a store may forget failed attempts older than this (PHN-010 looks 10 min back)


class AttemptStore(Protocol):
    def record_failed_attempt(self, campaign_id: str, user_id: str, at: datetime) -> None:
        """Records one failed phone confirmation of the entry (SPEC PHN-010)."""
        ...

    def failed_attempts(self, campaign_id: str, user_id: str, since: datetime) -> int:
        """How many failed phone confirmations the entry had after ``since``."""
        ...

    def reserve_attempt(self, campaign_id: str, user_id: str, at: datetime, since: datetime, limit: int) -> str | None:
        """Records an attempt at ``at`` as failed — unless the entry already had ``limit`` failed attempts after
        ``since``: then records nothing and answers None. The check and the record are one atomic step, so
        parallel attempts never pass the limit together (PHN-010). Answers the reservation, for
        ``release_attempt`` when the attempt turns out not to have failed."""
        ...

    def release_attempt(self, campaign_id: str, user_id: str, reservation: str) -> None:
        """Forgets the attempt ``reserve_attempt`` recorded (it did not fail); nothing when it is gone."""
        ...


class Locks(Protocol):
    """Named leases kept in the datastore, so they hold across worker processes and hosts: one holder at a time
    (a campaign's transfer, MKT-003; the draw commit checks it too). A holder that dies stops renewing, and its
    lease lapses at its ``until``."""

    def take_lock(self, name: str, owner: str, now: datetime, until: datetime) -> bool:
        """Takes ``name`` for ``owner`` until ``until`` — when nobody holds it, its lease ended at or before
        ``now``, or ``owner`` holds it already (a renewal); one atomic step. Whether ``owner`` holds it now."""
        ...

    def lock_holder(self, name: str, now: datetime) -> str | None:
        """The owner holding ``name`` at ``now``, or None (free, or its lease ended)."""
        ...

    def release_lock(self, name: str, owner: str) -> None:
        """Frees ``name`` if ``owner`` holds it; nothing otherwise (taken over after its lease ended)."""
        ...


class Outbox(Protocol):
    """The pending side effects written with the entries (transactional outbox, SPEC PUB-002)."""

    def claim(self, owner: str, limit: int, now: datetime, lease: timedelta) -> list[OutboxMessage]:
        """Leases up to ``limit`` due messages to ``owner`` until ``now + lease``, oldest first; never a
        message of an entry while an older message of that entry in the same channel (``kind``) is pending
        and not claimable: each channel keeps its order, and no channel waits for another (PUB-002)."""
        ...

    def delivered(self, owner: str, ids: Sequence[str], now: datetime) -> None:
        """Marks the owner's leased messages delivered (they are not claimed again)."""
        ...

    def retry_later(
        self, owner: str, ids: Sequence[str], at: datetime, *, error: str | None = None, counted: bool = True
    ) -> None:
        """Releases the owner's leased messages, due again at ``at``, with their last ``error``; one more
        attempt counted, unless ``counted`` is false: then the messages are not at fault, they wait for their
        sink (``release_waiting`` makes them due at once)."""
        ...

    def release_waiting(self, kind: str, now: datetime) -> int:
        """Makes every message of channel ``kind`` that waits for its sink (released uncounted) due at once,
        leases untouched; returns how many. For a sink that is back after an outage."""
        ...

    def park(self, owner: str, ids: Sequence[str], now: datetime, error: str) -> None:
        """Parks the owner's leased messages as dead letters (one more attempt counted, ``error`` kept): never
        claimed again until requeued, and each holds back the later messages of its own entry and channel."""
        ...

    def dead_letters(self, limit: int) -> list[DeadLetter]:
        """Up to ``limit`` dead letters, oldest parked first (then by id), each with how many messages it holds
        back."""
        ...

    def requeue_dead_letters(self, ids: Sequence[str] | None, now: datetime) -> int:
        """Puts the named dead letters (every one when ``ids`` is None) back in the queue, due at once with
        their attempts counted from 0; returns how many."""
        ...

    def outbox_status(self) -> OutboxStatus:
        """The backlog, the last delivery, the oldest waiting message and the dead letters; dead letters are not in
        the backlog, the messages they hold back are."""
        ...


class ReceiptSender(Protocol):
    def send(self, receipt: Mapping[str, Any]) -> None:
        """Sends one receipt email (API.md §6 shape); raises MessageRejected when the email service refused
        this receipt, DeliveryFailed when the service failed as a whole (down, timing out)."""
        ...


class EventSink(Protocol):
    def publish(self, events: Sequence[OutboxMessage]) -> dict[str, str]:
        """Publishes events in order; returns ``{id: reason}`` of the events that failed one by one (refused,
        unencodable, too large, or not sent after a later call failed), empty when all landed; raises
        DeliveryFailed when the sink failed as a whole and none could be sent."""
        ...


class FraudCheck(Protocol):
    def check(self, entry: Entry, placement: str) -> FraudResult:
        """Nudetect's verdict on ``entry`` (with its origin IP and user agent) for ``placement``
        (``VerifiedFanSignUp`` or ``VerifiedFanEdit``), status ``scored``; raises EnrichmentFailed on an
        error, a timeout or an answer that is not a valid score — never a pass (SPEC PUB-003)."""
        ...

    def trusted(self) -> bool:
        """Whether the service answers normally now. When not (its circuit is open, or being probed), a
        fan's request does not wait for ``check``: it may still run, unwaited, as the probe (PUB-007)."""
        ...


class FanscoreSource(Protocol):
    def fanscore(self, user_id: str, authorization: str | None, account: UserAccount | None = None) -> float | None:
        """The fan's account fanscore, or None when the account has none; ``account`` when the caller has
        already read it. Raises EnrichmentFailed on an error, a timeout or a malformed answer (PUB-004)."""
        ...

    def trusted(self) -> bool:
        """Whether the source answers normally now (see FraudCheck.trusted)."""
        ...


class RetryQueue(Protocol):
    """Requests to re-run enrichment of entries (SPEC PUB-005): SQS in production, the store embedded."""

    def enqueue(self, requests: Sequence[RetryRequest]) -> dict[RetryRequest, str]:
        """Queues every request (duplicates may be merged); returns ``{request: reason}`` of those the queue
        refused one by one (empty when all were queued); raises DeliveryFailed when the queue is down."""
        ...

    def receive(self, max_count: int, wait_seconds: float) -> list[tuple[str, RetryRequest]]:
        """Up to ``max_count`` ``(receipt handle, request)`` pairs, hidden from other consumers until
        acknowledged or a visibility timeout passes; waits up to ``wait_seconds`` for the first.
        Raises DeliveryFailed when the queue is down."""
        ...

    def acknowledge(self, handles: Sequence[str]) -> None:
        """Removes handled requests from the queue; raises DeliveryFailed when the queue is down."""
        ...


class ScoringStore(Protocol):
    """Scoring records and the selection queries over them (SPEC §7), kept in the datastore."""

    def upsert_scores(self, campaign_id: str, rows: Sequence[ScoreRow], random_scores: Sequence[float]) -> list[str]:
        """Matches each row, in order, to the phone-confirmed entry with its phone in the campaign and stores
        ``entrycore.scoring.merge`` of it (SCR-001); ``random_scores[i]`` is row i's if it inserts a record
        without one. Returns per row ``inserted``, ``updated`` or ``NO_CONFIRMED_ENTRY`` (nothing stored)."""
        ...

    def scoring_record(self, campaign_id: str, user_id: str) -> ScoringRecord | None: ...

    def eligibility_counts(
        self, campaign_id: str, criteria: EligibilityCriteria, markets: Sequence[str]
    ) -> EligibilityCounts:
        """``entrycore.eligibility.eligibility_counts`` of the campaign's records (SCR-004)."""
        ...

    def eligible_page(
        self, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        """``entrycore.eligibility.eligible_page`` of the campaign's records (SCR-005): the page and the total."""
        ...

    def eligible(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        """Every record of the list, in the list's order, streamed (for exports of any size)."""
        ...

    def entrants(self, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[tuple[str, tuple[str, ...]]]:
        """Every record of the list as ``(user id, ranked markets)``, in no particular order (a draw's snapshot)."""
        ...

    def copy_entries(self, campaign_id: str, user_ids: Sequence[str]) -> int:
        """Brings these fans' scoring records in step with their entries' facts (codes, block, markets, contact),
        after selection changed the entries (SCR-007/008): the entries as they are now, not as any caller read
        them (two admin writes of one entry, codes and a block, may finish in either order); a record whose entry
        has another phone is left to the entry's own write, which removes it. A store whose records read those
        facts from the entry itself (SQLite) has nothing to copy. Returns how many records these fans have."""
        ...

    def tag(self, campaign_id: str, tag: str, by: TagBy, values: Sequence[str]) -> int:
        """Sets ``tag`` true on every record whose ``by`` (``phone``, E.164, or ``userId``) is among ``values``;
        returns how many records carry it by these values (SCR-006)."""
        ...

    def flip_verdicts(self, campaign_id: str, tag: str, mode: FlipMode) -> int:
        """``exclude``: verdict false on the records carrying ``tag``; ``include``: on those not carrying it
        (SCR-006). Returns how many records changed from true to false."""
        ...

    def delete_records(self, user_id: str, campaign_id: str | None = None) -> int:
        """Erases the fan's records (of one campaign, or of all) with their tags (USR-003); how many."""
        ...


Progress = Callable[[int, int], None]  # (done, total) of a long bulk operation, for the CLI


class SelectionStore(Protocol):
    """Selection's views of the entries (SPEC SCR-009, SCR-010, the timeline) and the bulk change of them
    (transfers, MKT-003), kept in the datastore."""

    def transfer_entries(self, move: MarketTransfer, progress: Progress | None = None) -> tuple[int, int]:
        """Applies ``entrycore.markets.transferred`` to every entry of the campaign, in bulk inside the datastore
        (no read-modify-write of each entry here), and ``entrycore.markets.transfer`` to the ranked markets of
        their scoring records: each moved entry is rewritten with its ``entry.transferred`` event
        (``entrycore.events.event_body``, id ``move.event_id(…)``) in the same atomic write, in short write
        transactions that fans' writes go between (OPS-005). Entries a fan writes meanwhile are moved too. Returns
        ``(entries moved, scoring records moved)``."""
        ...

    def entry_page(self, campaign: Campaign, chosen: EntryFilter, limit: int, offset: int) -> tuple[list[Entry], int]:
        """``entrycore.selection.entry_page`` of the campaign's entries: a page and the total."""
        ...

    def registration_tally(self, campaign_id: str) -> RegistrationTally:
        """The campaign's entries counted for ``entrycore.selection.registration_counts`` (SCR-010)."""
        ...

    def timeline(self, campaign_id: str, bucket: Bucket) -> list[TimelinePoint]:
        """``entrycore.selection.timeline`` of the campaign's entries (``hour`` or ``day`` buckets, UTC)."""
        ...


class DrawStore(Protocol):
    """Draws and their tickets (SPEC §12). Every change of a draw's offers is one ``DrawChange``, saved whole or not
    at all and only over the version it was computed from, so workers on several hosts never offer one unit twice."""

    def commit_draw(
        self, draw: Draw, tickets: Sequence[Ticket], entrants: bytes, outbox: Sequence[OutboxMessage]
    ) -> None:
        """Stores a new draw with its tickets and entrants file and its outbox messages: all of it or nothing."""
        ...

    def draw(self, campaign_id: str, draw_id: str) -> Draw | None: ...

    def draws(self, campaign_id: str) -> list[Draw]:
        """The campaign's draws, newest first (cancelled ones too)."""
        ...

    def draw_file(self, campaign_id: str, draw_id: str, name: DrawFile) -> StoredFile | None:
        """A public file of a draw of the campaign (the caller has read the draw) as stored, the rolls log as its
        lines so far; None before it exists."""
        ...

    def tickets(self, draw_id: str) -> Iterator[Ticket]:
        """Every ticket of the draw, by ticket (reveal, export)."""
        ...

    def ticket(self, draw_id: str, ticket: str) -> Ticket | None: ...

    def ticket_of(self, draw_id: str, user_id: str) -> Ticket | None: ...

    def tickets_of_user(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, list[tuple[Ticket, DrawStatus]]]:
        """The fans' tickets in the campaign's committed and revealed draws (the fan view's ``draws``), newest draw
        first, each with its draw's status (a ticket of a draw not revealed may already hold a half-written place:
        only the draw's status says whether it counts)."""
        ...

    def waitlist_position(self, ticket: Ticket) -> int | None:
        """1-based among the draw's entrants still waitlisted; None when not waitlisted."""
        ...

    def next_waiting(self, draw_id: str, market: str) -> Ticket | None:
        """The first waitlisted ticket, in draw order, that ranks ``market``."""
        ...

    def due_offers(self, now: datetime, limit: int) -> list[Ticket]:
        """Open offers of revealed draws whose time is up, by expiry time then draw order."""
        ...

    def save_reveal(
        self, draw: Draw, tickets: Sequence[Ticket], results: bytes, outbox: Sequence[OutboxMessage]
    ) -> None:
        """The reveal: the draw (now revealed), every ticket's place, the results file, the messages; raises
        ``StaleDraw`` when the draw changed since it was read (another reveal, a cancel)."""
        ...

    def save_change(self, change: DrawChange) -> None:
        """One change of the draw's offers (or its cancel); ``StaleDraw`` when the draw's version moved on."""
        ...

    def draws_in(self, status: DrawStatus) -> list[Draw]:
        """The draws of every campaign in ``status``, oldest first (few: the draws thread's work list)."""
        ...

    def mark_voided(self, draw_id: str, ticket: str, voided: bool) -> None:
        """Marks (or unmarks) a ticket of a draw not yet revealed to be voided at its reveal."""
        ...

    def forget_user(self, campaign_id: str, user_id: str) -> None:
        """Erasure (USR-003): the fan's tickets in every draw of the campaign (cancelled ones too) stay in their
        draws, their link to the fan is gone."""
        ...


class BeaconSource(Protocol):
    """Where a beacon round's signature comes from (``ENTRY_DRAND_URL``): a drand HTTP relay."""

    def signature(self, chain: Chain, round_number: int) -> bytes | None:
        """The round's signature, or None while the relay does not have it (not published yet, or none
        configured). Raises DependencyUnavailable when the relay cannot be reached."""
        ...


class AuditTrail(Protocol):
    """The audit trail in the datastore (SPEC OPS-002)."""

    def record(self, record: AuditRecord) -> None: ...

    def records(self, campaign_id: str | None, since: datetime | None, limit: int) -> list[AuditRecord]:
        """The newest ``limit`` records (of one campaign, at or after ``since`` when given), newest first."""
        ...


class DatastoreRefused(Exception):
    """``Stores.prepare`` found a datastore this release must not use as it is — a file or layout of a newer release
    (OPS-006), an existing index that conflicts with one the rules rely on; the message says why, in one line, and
    what to do. The composition root reports it as a configuration error of ``ENTRY_STORE``."""


def _writable() -> str | None:
    return None


@attrs.frozen
class Stores:
    """Every port one datastore implements, opened together on its connections by its adapter package
    (``adapters_sqlite.open_sqlite``, ``adapters_mongo.open_mongo``); the composition root wires the use cases
    from these fields and never asks which technology it has. One object may play several parts."""

    entries: EntryStore
    invites: InviteStore
    attempts: AttemptStore
    locks: Locks
    outbox: Outbox
    retries: RetryQueue  # the datastore's own queue (``ENTRY_RETRY_QUEUE=store``)
    scoring: ScoringStore
    selection: SelectionStore
    audit: AuditTrail
    draws: DrawStore
    ping: Callable[[], None]  # returns when the datastore answers; raises DependencyUnavailable otherwise
    prepare: Callable[[], None]
    """Makes the datastore enforce what it promises before anything uses it (SQLite: opens the file, which
    migrates it; MongoDB: ensures its layout and unique indexes, cheaply when they exist); idempotent. Raises
    DatastoreRefused, or DependencyUnavailable when it cannot be reached."""
    close: Callable[[], None]  # releases its connections (at shutdown)
    write_failure: Callable[[], str | None] = _writable
    """Why the datastore cannot take writes now while it still reads (a full or read-only disk, SPEC OPS-007), or
    None; cheap (the heartbeat asks it). None where the store cannot tell (MongoDB: its health is ``ping``'s)."""
