"""Allocation draws (SPEC §12): commit, reveal, offers, roll-over, cancel, the public reads and the fan's view.

The algorithm is ``entrycore.draws`` (pure); this module applies it to the stores. Every change of a draw's offers
is one ``DrawChange`` computed from the draw as read and saved only over that version (``StaleDraw`` otherwise:
read again, compute again), so two workers can never give one unit, or one waitlisted fan, twice. Admin operations
are audited (OPS-002); draw events, offer events and offer notices are outbox messages saved with the change that
makes them (DRW-008, PUB-002)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from entrycore.audit import AuditRecord
from entrycore.batches import batched
from entrycore.caller import Caller
from entrycore.draws.allocation import (
    DEFAULT_OFFER_HOURS,
    OFFER_HOURS,
    TICKET,
    Entrant,
    Mechanism,
    Rules,
    allocate,
    draw_seed,
    entrants_file,
    results_file,
)
from entrycore.draws.beacon import QUICKNET, Chain, randomness
from entrycore.draws.canonical import MAX_INTEGER, sha256_hex
from entrycore.draws.model import (
    BeaconRound,
    Cancellation,
    Draw,
    DrawChange,
    DrawFile,
    DrawStatus,
    MarketUnits,
    OfferStatus,
    Reveal,
    StoredFile,
    Ticket,
)
from entrycore.draws.public import (
    CANCELLED,
    COMMITTED,
    OFFER_ENDED,
    OFFERED,
    REVEALED,
    draw_event,
    fan_item,
    offer_event,
    offer_notice,
)
from entrycore.draws.rolls import ALLOWED_BY, By, Reason, Roll
from entrycore.eligibility import EligibilityCriteria, public_criteria
from entrycore.errors import (
    BadRequest,
    BeaconNotReady,
    DependencyUnavailable,
    DrawClosed,
    DrawNotFound,
    DrawNotRevealed,
    EntryError,
    InvalidBeacon,
    InvalidDraw,
    OfferNotOpen,
    PayloadTooLarge,
    StaleDraw,
    TransferInProgress,
)
from entrycore.model import Campaign
from entrycore.outbox import OutboxMessage
from entrycore.ports import (
    AuditTrail,
    BeaconSource,
    CampaignSource,
    Clock,
    DrawStore,
    EntryStore,
    Ids,
    Locks,
    ScoringStore,
)
from entrycore.timefmt import utc_ms
from entrycore.usecases.common import known_campaign
from entrycore.usecases.leases import transfer_lock

log = logging.getLogger(__name__)

COMMIT_LEAD = timedelta(minutes=10)  # DRW-001: the beacon round at least this long after the commit
CANCEL_LEAD = timedelta(minutes=1)  # DRW-006: no cancel within this of the beacon round
MAX_BATCH_TICKETS = 1_000  # API.md: an admin's accept/decline batch
MAX_NAME = 200
MAX_REASON = 1_000
_PUBLISH_CHUNK = 1_000  # positions of the draw order whose offers' messages are written in one change
_RETRIES = 64  # a change computed over a version another worker moved on: read again and compute again
_STATUS_OF = {Reason.DECLINED: OfferStatus.DECLINED, Reason.EXPIRED: OfferStatus.EXPIRED, Reason.VOID: OfferStatus.VOID}


@attrs.frozen
class DrawRequest:
    """A commit as an admin asks for it; ``capacities``, ``mechanism``, ``offer_hours`` and ``beacon_round`` as they
    came (JSON values), so that every edge gets the same ``INVALID_DRAW`` for the same bad value."""

    name: str
    criteria: EligibilityCriteria
    capacities: Mapping[str, Any]
    mechanism: Any = None
    offer_hours: Any = None
    beacon_round: Any = None


@attrs.frozen
class FanDraw:
    """A fan's standing in one draw (their ``draws`` item)."""

    ticket: Ticket
    waitlist_position: int | None

    def item(self) -> dict[str, Any]:
        return fan_item(self.ticket, self.waitlist_position)


@attrs.frozen
class TicketOutcome:
    """One ticket of an admin's accept/decline batch: ``error`` None when it was done."""

    ticket: str
    error: EntryError | None = None


@attrs.frozen
class Draws:
    campaigns: CampaignSource
    scoring: ScoringStore
    draws: DrawStore
    entries: EntryStore
    locks: Locks
    audit: AuditTrail
    clock: Clock
    ids: Ids
    beacon: BeaconSource | None = None  # ENTRY_DRAND_URL; None: the admin gives the signature
    chain: Chain = QUICKNET  # ENTRY_DRAND_CHAIN

    # --- commit (DRW-001) ---------------------------------------------------------------------------------------

    def commit(self, caller: Caller, campaign_id: str, request: DrawRequest) -> Draw:
        """Snapshots the entrants (the SCR-005 list under the criteria), gives each a random ticket and publishes
        the entrants file, rules and commitment (``draw.committed``). Nothing is stored on any refusal."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        now = utc_ms(self.clock.now())
        name, capacities, mechanism, hours, beacon_round = self._checked(campaign, request, now)
        if self.locks.lock_holder(transfer_lock(campaign.id), now) is not None:
            raise TransferInProgress(payload={"campaignId": campaign.id})
        draw_id = self.ids.message_id()
        tickets = self._tickets(campaign.id, draw_id, request.criteria)
        if not tickets:
            raise InvalidDraw("No entrant: no scoring record matches the criteria.")
        entrants = entrants_file(Entrant(t.ticket, t.markets) for t in tickets)
        seed = None if beacon_round is not None else self.ids.secret(32).hex()
        rules = Rules(
            draw_id=draw_id,
            campaign_id=campaign.id,
            capacities=capacities,
            mechanism=mechanism,
            offer_hours=hours,
            entrants_count=len(tickets),
            entrants_hash=sha256_hex(entrants),
            beacon_round=beacon_round,
            seed_hash=None if seed is None else sha256_hex(bytes.fromhex(seed)),
            beacon_chain=None if beacon_round is None or self.chain.is_quicknet else self.chain.public_key.hex(),
        )
        draw = Draw(
            draw_id=draw_id,
            campaign_id=campaign.id,
            name=name,
            criteria=public_criteria(request.criteria),
            rules=rules,
            commitment=rules.commitment(),
            committed_at=now,
            committed_by=caller.user_id,
            markets=tuple(MarketUnits(m, n, free=n) for m, n in capacities.items()),
            secret_seed=seed,
        )
        event = draw_event(self.ids.message_id(), COMMITTED, campaign, draw, now)
        self.draws.commit_draw(draw, tickets, entrants, [event])
        self._audit(
            caller, "draws.commit", draw, now, parameters=_commit_parameters(draw), counts={"entrants": len(tickets)}
        )
        return draw

    def _checked(
        self, campaign: Campaign, request: DrawRequest, now: datetime
    ) -> tuple[str, dict[str, int], Mechanism, int, int | None]:
        name = request.name.strip() if isinstance(request.name, str) else ""
        if not name or len(name) > MAX_NAME:
            raise InvalidDraw(f"A draw needs a name of 1 to {MAX_NAME} characters.")
        if not isinstance(request.capacities, Mapping) or not request.capacities:
            raise InvalidDraw("capacities must map market ids to whole numbers >= 0.")
        capacities: dict[str, int] = {}
        known = set(campaign.market_ids())
        for market, capacity in request.capacities.items():
            if market not in known:
                raise InvalidDraw(f"Unknown market '{market}' of campaign '{campaign.id}'.", {"marketId": market})
            if not _whole(capacity) or not 0 <= capacity <= MAX_INTEGER:
                raise InvalidDraw(f"The capacity of '{market}' must be a whole number >= 0.", {"marketId": market})
            if capacity:
                capacities[market] = capacity
        if not capacities:
            raise InvalidDraw("Every capacity is zero: the draw would offer nothing.")
        try:
            mechanism = Mechanism(request.mechanism or Mechanism.SERIAL_DICTATORSHIP)
        except ValueError:
            raise InvalidDraw(f"mechanism must be one of {', '.join(m.value for m in Mechanism)}.") from None
        hours = DEFAULT_OFFER_HOURS if request.offer_hours is None else request.offer_hours
        if not _whole(hours) or not OFFER_HOURS[0] <= hours <= OFFER_HOURS[1]:
            raise InvalidDraw(f"offerHours must be a whole number from {OFFER_HOURS[0]} to {OFFER_HOURS[1]}.")
        beacon_round = request.beacon_round
        if beacon_round is not None:
            if not _whole(beacon_round) or not 1 <= beacon_round <= MAX_INTEGER:
                raise InvalidDraw("beaconRound must be a whole number >= 1.")
            earliest = (now + COMMIT_LEAD).timestamp()
            if self.chain.round_time(beacon_round) < earliest:
                soonest = self.chain.first_round_at_or_after(earliest)
                raise InvalidDraw(
                    f"Beacon round {beacon_round} is less than 10 minutes ahead; the first possible is {soonest}.",
                    {"earliestRound": soonest},
                )
        return name, dict(sorted(capacities.items())), mechanism, hours, beacon_round

    def _tickets(self, campaign_id: str, draw_id: str, criteria: EligibilityCriteria) -> list[Ticket]:
        """A ticket for each record of the list: 128 random bits, unique in the draw (a repeat is drawn again)."""
        tickets: list[Ticket] = []
        seen: set[str] = set()
        for user_id, markets in self.scoring.entrants(campaign_id, criteria):
            ticket = self.ids.secret(16).hex()
            while ticket in seen:
                ticket = self.ids.secret(16).hex()
            seen.add(ticket)
            tickets.append(Ticket(draw_id, campaign_id, ticket, user_id, markets[:4]))
        return tickets

    # --- reveal (DRW-002, DRW-003) --------------------------------------------------------------------------------

    def reveal(self, caller: Caller, campaign_id: str, draw_id: str, beacon: tuple[int, str] | None = None) -> Draw:
        """Reveals the draw with the beacon round's signature (given, or fetched from ``ENTRY_DRAND_URL``), or
        with its secret seed when it names no round; allocates and writes the results file."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        draw = self._draw(campaign_id, draw_id)
        if draw.status is not DrawStatus.COMMITTED:
            raise DrawClosed(f"The draw is {draw.status}.")
        revealed = self._reveal(campaign, draw, beacon)
        assert revealed.reveal is not None
        self._audit(
            caller, "draws.reveal", revealed, revealed.reveal.revealed_at, parameters={"drawId": draw_id}, counts={}
        )
        return revealed

    def _reveal(self, campaign: Campaign, draw: Draw, beacon: tuple[int, str] | None) -> Draw:
        now = utc_ms(self.clock.now())
        round_number = draw.rules.beacon_round
        if round_number is None:
            source = bytes.fromhex(draw.secret_seed or "")
            shown_beacon = None
        else:
            chain = self._chain_of(draw)
            signature = self._signature(chain, round_number, beacon)
            source = randomness(signature)
            shown_beacon = BeaconRound(round_number, signature.hex(), source.hex())
        seed = draw_seed(source, draw.commitment)
        tickets = list(self.draws.tickets(draw.draw_id))  # by ticket
        entrants = [Entrant(t.ticket, t.markets) for t in tickets]
        placements = allocate(entrants, draw.rules.capacities, draw.rules.mechanism, seed)
        by_ticket = {t.ticket: t for t in tickets}
        expires = now + timedelta(hours=draw.rules.offer_hours)
        placed: list[Ticket] = []
        waitlist_rank = 0
        offered: dict[str, int] = {}
        for placement in placements:
            t = by_ticket[placement.ticket]
            market = placement.market
            waiting = market is None
            if market is None:
                waitlist_rank += 1
            else:
                offered[market] = offered.get(market, 0) + 1
            placed.append(  # built, not attrs.evolve'd: 2 µs instead of 8, a million times
                Ticket(
                    t.draw_id,
                    t.campaign_id,
                    t.ticket,
                    t.user_id,
                    t.markets,
                    OfferStatus.WAITLISTED if waiting else OfferStatus.OFFERED,
                    placement.position,
                    f"{placement.lottery:064x}",
                    placement.market,
                    placement.rank,
                    None if waiting else expires,
                    waitlist_rank if waiting else None,
                    t.voided,
                )
            )
        revealed = attrs.evolve(
            draw.moved(**{m: {"offered": n, "free": -n} for m, n in offered.items()}),
            status=DrawStatus.REVEALED,
            reveal=Reveal(now, draw.secret_seed if round_number is None else None, shown_beacon, seed.hex()),
            version=draw.version + 1,
        )
        # The flip carries the draw's own event; the offers' events and notices follow in chunks (_publish): a
        # hundred thousand of them in the flip's one transaction would hold the fans' writes for seconds.
        outbox = [draw_event(self.ids.message_id(), REVEALED, campaign, revealed, now)]
        try:
            self.draws.save_reveal(revealed, placed, results_file(placements), outbox)  # placed: in draw order
        except StaleDraw:
            raise DrawClosed("The draw was revealed or cancelled meanwhile.") from None
        self._publish(campaign, revealed.draw_id, placed)
        for ticket in [t for t in placed if t.voided]:  # fans blocked or erased since the commit, in draw order
            self._release_now(campaign, revealed.draw_id, ticket.ticket, reason=Reason.VOID, by=By.ADMIN, at=now)
        return self._draw(draw.campaign_id, draw.draw_id)

    def _publish(self, campaign: Campaign, draw_id: str, placed: Sequence[Ticket] | None = None) -> None:
        """The first offers' ``entry.offered`` events and notices, ``_PUBLISH_CHUNK`` positions of the draw order a
        change, each chunk saved with the draw's ``offers_published`` moving past it — so a reveal that stopped
        half-way resumes where it was (``reveal_due``), and no offer gets two. An offer answered or void before its
        chunk gets none (its fan had it already: ``entry.offer_ended`` says how it ended)."""
        while True:
            draw = self._draw(campaign.id, draw_id)
            done, total = draw.offers_published, draw.rules.entrants_count
            if draw.status is not DrawStatus.REVEALED or done >= total or draw.reveal is None:
                return
            if placed is None:  # resuming: the draw order from the store
                placed = sorted(self.draws.tickets(draw_id), key=lambda t: t.position or 0)
            first_expiry = draw.reveal.revealed_at + timedelta(hours=draw.rules.offer_hours)
            chunk = [t for t in placed[done : done + _PUBLISH_CHUNK] if t.status is OfferStatus.OFFERED]
            if draw.rolls or any(u.accepted for u in draw.markets):  # some offer changed since the flip: read again
                current = (self.draws.ticket(draw_id, t.ticket) for t in chunk)
                chunk = [
                    t for t in current if t and t.status is OfferStatus.OFFERED and t.offer_expires_at == first_expiry
                ]
            messages = self._offer_messages(campaign, chunk, utc_ms(self.clock.now()))
            moved = attrs.evolve(draw, offers_published=min(done + _PUBLISH_CHUNK, total), version=draw.version + 1)
            try:
                self.draws.save_change(DrawChange(moved, draw.version, outbox=tuple(messages)))
            except StaleDraw:
                continue

    def _chain_of(self, draw: Draw) -> Chain:
        """The chain whose signature reveals the draw: quicknet, or the configured one when the draw names it."""
        if draw.rules.beacon_chain is not None and draw.rules.beacon_chain != self.chain.public_key.hex():
            raise BeaconNotReady(
                "The draw names a beacon chain this service is not configured for (ENTRY_DRAND_CHAIN)."
            )
        return self._known_chain(draw)

    def _known_chain(self, draw: Draw) -> Chain:
        return QUICKNET if draw.rules.beacon_chain is None else self.chain

    def _signature(self, chain: Chain, round_number: int, given: tuple[int, str] | None) -> bytes:
        if given is not None:
            number, text = given
            try:
                signature = bytes.fromhex(text)
            except ValueError:
                raise InvalidBeacon("The signature must be hex.") from None
            if number != round_number:
                raise InvalidBeacon(f"The draw names beacon round {round_number}, not {number}.")
        else:
            try:
                fetched = self.beacon.signature(chain, round_number) if self.beacon is not None else None
            except DependencyUnavailable as exc:
                raise BeaconNotReady(
                    f"The beacon relay cannot be reached: {exc.message} Reveal with the signature."
                ) from None
            if fetched is None:
                raise BeaconNotReady(
                    f"Beacon round {round_number} cannot be had yet"
                    + ("" if self.beacon is not None else " (ENTRY_DRAND_URL is none: reveal with its signature)")
                    + ".",
                    {"round": round_number, "roundTime": chain.round_time(round_number)},
                )
            signature = fetched
        if not chain.verifies(round_number, signature):
            raise InvalidBeacon(f"The signature does not verify for beacon round {round_number}.")
        return signature

    def reveal_due(self) -> int:
        """The service's own reveals (DRW-002): every committed draw whose beacon round has come, where the relay has
        its signature. Returns how many were revealed; a draw that cannot be revealed yet is left for later. First,
        the offer messages of any reveal that stopped before writing them all."""
        for revealed in self.draws.draws_in(DrawStatus.REVEALED):  # a reveal that stopped before its messages
            if revealed.offers_published < revealed.rules.entrants_count:
                known = self.campaigns.get(revealed.campaign_id)
                if known is not None:
                    self._publish(known, revealed.draw_id)
        if self.beacon is None:
            return 0
        now = self.clock.now().timestamp()
        done = 0
        for draw in self.draws.draws_in(DrawStatus.COMMITTED):
            round_number = draw.rules.beacon_round
            if round_number is None or self._chain_time(draw, round_number) > now:
                continue
            campaign = self.campaigns.get(draw.campaign_id)
            if campaign is None:
                continue
            try:
                revealed = self._reveal(campaign, draw, None)
            except (BeaconNotReady, DrawClosed) as exc:
                log.info("draw %s not revealed yet: %s", draw.draw_id, exc)
                continue
            except InvalidBeacon as exc:
                log.error("draw %s: the relay's signature does not verify: %s", draw.draw_id, exc)
                continue
            assert revealed.reveal is not None
            self.audit.record(
                AuditRecord(
                    revealed.reveal.revealed_at, "system", "draws.reveal", draw.campaign_id, {"drawId": draw.draw_id}
                )
            )
            done += 1
        return done

    def _chain_time(self, draw: Draw, round_number: int) -> float:
        """When the draw's beacon round is published, as this service knows its chain (quicknet otherwise)."""
        return float(self._known_chain(draw).round_time(round_number))

    # --- cancel (DRW-006) -----------------------------------------------------------------------------------------

    def cancel(self, caller: Caller, campaign_id: str, draw_id: str, reason: str) -> Draw:
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        reason = reason.strip() if isinstance(reason, str) else ""
        if not reason or len(reason) > MAX_REASON:
            raise BadRequest.at([("body.reason", f"a reason of 1 to {MAX_REASON} characters is required")])
        for _ in range(_RETRIES):
            draw = self._draw(campaign_id, draw_id)
            now = utc_ms(self.clock.now())
            if draw.status is not DrawStatus.COMMITTED:
                raise DrawClosed(f"The draw is {draw.status}: only a committed draw can be cancelled.")
            round_number = draw.rules.beacon_round
            if round_number is not None and now.timestamp() > self._chain_time(draw, round_number) - 60:
                raise DrawClosed(
                    f"Beacon round {round_number} is less than a minute away or past: the draw can only be revealed."
                )
            cancelled = attrs.evolve(
                draw, status=DrawStatus.CANCELLED, cancelled=Cancellation(now, reason), version=draw.version + 1
            )
            event = draw_event(self.ids.message_id(), CANCELLED, campaign, cancelled, now)
            try:
                self.draws.save_change(DrawChange(cancelled, draw.version, outbox=(event,)))
            except StaleDraw:
                continue
            self._audit(
                caller, "draws.cancel", cancelled, now, parameters={"drawId": draw_id, "reason": reason}, counts={}
            )
            return cancelled
        raise StaleDraw(draw_id)

    # --- public reads (DRW-006) -----------------------------------------------------------------------------------

    def listed(self, campaign_id: str) -> list[Draw]:
        """The campaign's draws, newest first, from the store alone (``[]`` for a campaign unknown or without)."""
        return self.draws.draws(campaign_id)

    def show(self, campaign_id: str, draw_id: str) -> Draw:
        return self._draw(campaign_id, draw_id)

    def file(self, campaign_id: str, draw_id: str, name: DrawFile) -> StoredFile:
        draw = self._draw(campaign_id, draw_id)
        stored = self.draws.draw_file(campaign_id, draw_id, name)
        if stored is None:
            if name is DrawFile.RESULTS:
                raise DrawNotRevealed(f"Draw {draw.draw_id} is {draw.status}: its results are written at the reveal.")
            raise DrawNotFound()
        return stored

    # --- offers (DRW-004, DRW-005) ---------------------------------------------------------------------------------

    def respond(self, caller: Caller, campaign_id: str, draw_id: str, accept: bool) -> FanDraw:
        """The fan accepts or declines their own offer (declining leaves the waitlist too), in any campaign
        status; OFFER_NOT_OPEN for an offer not open."""
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        self._draw(campaign_id, draw_id)
        ticket = self.draws.ticket_of(draw_id, caller.user_id)
        if ticket is None:
            raise OfferNotOpen("You are not an entrant of this draw.")
        saved = self._respond(campaign, draw_id, ticket.ticket, accept, By.FAN)
        return FanDraw(saved, self.draws.waitlist_position(saved))

    def respond_batch(
        self, caller: Caller, campaign_id: str, draw_id: str, tickets: Sequence[str], accept: bool
    ) -> list[TicketOutcome]:
        """An admin's batch (e.g. from the purchase system): each ticket done or refused on its own."""
        caller.require_supreme()
        if len(tickets) > MAX_BATCH_TICKETS:
            raise PayloadTooLarge(f"At most {MAX_BATCH_TICKETS:,} tickets per batch.")
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        self._draw(campaign_id, draw_id)
        outcomes: list[TicketOutcome] = []
        for ticket in tickets:
            try:
                if not isinstance(ticket, str) or not TICKET.fullmatch(ticket):
                    raise OfferNotOpen("Not a ticket of this draw.")
                self._respond(campaign, draw_id, ticket, accept, By.ADMIN)
                outcomes.append(TicketOutcome(ticket))
            except EntryError as refused:
                outcomes.append(TicketOutcome(str(ticket), refused))
        done = sum(1 for o in outcomes if o.error is None)
        action = "draws.accept" if accept else "draws.decline"
        now = utc_ms(self.clock.now())
        record = AuditRecord(
            now, caller.user_id, action, campaign_id, {"drawId": draw_id}, {"input": len(tickets), "done": done}
        )
        self.audit.record(record)
        return outcomes

    def _respond(self, campaign: Campaign, draw_id: str, ticket_id: str, accept: bool, by: By) -> Ticket:
        for _ in range(_RETRIES):
            draw = self._draw(campaign.id, draw_id)
            ticket = self.draws.ticket(draw_id, ticket_id)
            now = utc_ms(self.clock.now())
            if ticket is None:
                raise OfferNotOpen("Not a ticket of this draw.")
            if draw.status is not DrawStatus.REVEALED:
                raise OfferNotOpen(f"The draw is {draw.status}: there is no offer yet.")
            is_open = (
                ticket.status is OfferStatus.OFFERED
                and ticket.offer_expires_at is not None
                and now < ticket.offer_expires_at
            )
            if accept:
                if ticket.status is OfferStatus.ACCEPTED:
                    return ticket  # accepting an accepted offer answers it again
                if not is_open:
                    raise OfferNotOpen(f"The offer is not open (the ticket is {_shown(ticket, now)}).")
                assert ticket.market is not None
                accepted = attrs.evolve(ticket, status=OfferStatus.ACCEPTED)
                changed = attrs.evolve(
                    draw.moved(**{ticket.market: {"offered": -1, "accepted": 1}}), version=draw.version + 1
                )
                outbox = tuple(self._ended_messages(campaign, accepted, now))
                change = DrawChange(changed, draw.version, (accepted,), None, outbox)
            else:
                if not (is_open or ticket.status is OfferStatus.WAITLISTED):
                    raise OfferNotOpen(f"The offer is not open (the ticket is {_shown(ticket, now)}).")
                change = self._release(campaign, draw, ticket, reason=Reason.DECLINED, by=by, at=now)
            try:
                self.draws.save_change(change)
            except StaleDraw:
                continue
            return next(t for t in change.tickets if t.ticket == ticket_id)
        raise StaleDraw(draw_id)

    def _release(
        self, campaign: Campaign, draw: Draw, ticket: Ticket, *, reason: Reason, by: By, at: datetime
    ) -> DrawChange:
        """The change that releases ``ticket``'s unit to the first waitlisted entrant ranking its market (or frees
        it), or takes the ticket off the waitlist; with its roll line and messages."""
        assert by in ALLOWED_BY[reason]
        released = attrs.evolve(ticket, status=_STATUS_OF[reason])
        outbox: list[OutboxMessage] = list(self._ended_messages(campaign, released, at))
        if ticket.status is OfferStatus.WAITLISTED:
            roll = Roll(at, by, None, None, reason, ticket.ticket)
            changed = draw
            tickets: tuple[Ticket, ...] = (released,)
        else:
            market = ticket.market
            assert market is not None and ticket.holds_unit()
            held = "accepted" if ticket.status is OfferStatus.ACCEPTED else "offered"
            taker = self.draws.next_waiting(draw.draw_id, market)
            if taker is None:
                changed = draw.moved(**{market: {held: -1, "free": 1}})
                tickets = (released,)
            else:
                offer = attrs.evolve(
                    taker,
                    status=OfferStatus.OFFERED,
                    market=market,
                    rank=taker.markets.index(market),
                    offer_expires_at=at + timedelta(hours=draw.rules.offer_hours),
                )
                deltas = {held: -1, "offered": 1} if held == "accepted" else {}
                changed = draw.moved(**{market: deltas}) if deltas else draw
                tickets = (released, offer)
                outbox += self._offer_messages(campaign, [offer], at)
            roll = Roll(at, by, market, None if taker is None else taker.ticket, reason, ticket.ticket)
        changed = attrs.evolve(changed, rolls=draw.rolls + 1, version=draw.version + 1)
        return DrawChange(changed, draw.version, tickets, roll, tuple(outbox))

    def _release_now(
        self, campaign: Campaign, draw_id: str, ticket_id: str, *, reason: Reason, by: By, at: datetime
    ) -> bool:
        """Releases the ticket if it still holds a unit or waits; False when there is nothing to release."""
        for _ in range(_RETRIES):
            draw = self._draw(campaign.id, draw_id)
            ticket = self.draws.ticket(draw_id, ticket_id)
            if ticket is None or draw.status is not DrawStatus.REVEALED:
                return False
            if not (ticket.holds_unit() or ticket.status is OfferStatus.WAITLISTED):
                return False
            if reason is Reason.EXPIRED and ticket.status is not OfferStatus.OFFERED:
                return False
            try:
                self.draws.save_change(self._release(campaign, draw, ticket, reason=reason, by=by, at=at))
            except StaleDraw:
                continue
            return True
        raise StaleDraw(draw_id)

    def roll_due(self, limit: int = 1_000) -> int:
        """Processes expired offers (DRW-005), by expiry time then draw order; each expiry's roll is dated at the
        offer's ``offerExpiresAt``. Returns how many offers it expired (run again until 0 for a backlog)."""
        now = self.clock.now()
        done = 0
        campaigns: dict[str, Campaign | None] = {}
        for ticket in self.draws.due_offers(now, limit):
            if ticket.campaign_id not in campaigns:
                campaigns[ticket.campaign_id] = self.campaigns.get(ticket.campaign_id)
            campaign = campaigns[ticket.campaign_id]
            if campaign is None or ticket.offer_expires_at is None:
                continue
            expired = self._release_now(
                campaign, ticket.draw_id, ticket.ticket, reason=Reason.EXPIRED, by=By.SYSTEM, at=ticket.offer_expires_at
            )
            if expired:
                done += 1
        return done

    def void_fan(self, campaign: Campaign, user_id: str, *, erase: bool) -> int:
        """A fan blocked (SCR-008) or erased (USR-003): their offers become void and roll, they leave the waitlists
        (``by: admin``); in draws not yet revealed their tickets are marked, to be voided at the reveal. Erasure
        also forgets the link between ticket and fan, in every draw of the campaign. Returns how many tickets it
        changed."""
        changed = 0
        now = utc_ms(self.clock.now())
        for found in self.draws.tickets_of_user(campaign.id, [user_id]).values():
            for ticket, status in found:
                if status is DrawStatus.REVEALED:
                    changed += self._release_now(
                        campaign, ticket.draw_id, ticket.ticket, reason=Reason.VOID, by=By.ADMIN, at=now
                    )
                elif not ticket.voided:
                    self.draws.mark_voided(ticket.draw_id, ticket.ticket, True)
                    changed += 1
        if erase:  # after the voids, whose offer_ended events name the fan; cancelled draws' tickets too
            self.draws.forget_user(campaign.id, user_id)
        return changed

    def unvoid_fan(self, campaign: Campaign, user_id: str) -> None:
        """An unblocked fan's tickets in draws not yet revealed count again (a revealed draw's void stays)."""
        for found in self.draws.tickets_of_user(campaign.id, [user_id]).values():
            for ticket, status in found:
                if status is DrawStatus.COMMITTED and ticket.voided:
                    self.draws.mark_voided(ticket.draw_id, ticket.ticket, False)

    # --- the fan's view and the code issuer's export ------------------------------------------------------------

    def fan_draws(self, campaign_id: str, user_ids: Sequence[str]) -> dict[str, tuple[FanDraw, ...]]:
        """Each fan's ``draws`` items (DRW-004): committed and revealed draws, newest first."""
        found = self.draws.tickets_of_user(campaign_id, user_ids)
        return {
            user_id: tuple(_standing(ticket, status, self.draws) for ticket, status in tickets)
            for user_id, tickets in found.items()
        }

    def export(self, caller: Caller, campaign_id: str, draw_id: str) -> Iterator[Ticket]:
        """Every ticket that holds or held an offer, in draw order, with its fan: for the code issuer."""
        caller.require_supreme()
        known_campaign(self.campaigns, caller, campaign_id)
        draw = self._draw(campaign_id, draw_id)
        if draw.status is not DrawStatus.REVEALED:
            raise DrawNotRevealed()
        offered = [t for t in self.draws.tickets(draw_id) if t.market is not None]
        offered.sort(key=lambda t: t.position or 0)
        self.audit.record(
            AuditRecord(
                utc_ms(self.clock.now()),
                caller.user_id,
                "draws.export",
                campaign_id,
                {"drawId": draw_id},
                {"rows": len(offered)},
            )
        )
        return iter(offered)

    # --- helpers --------------------------------------------------------------------------------------------------

    def _draw(self, campaign_id: str, draw_id: str) -> Draw:
        draw = self.draws.draw(campaign_id, draw_id)
        if draw is None:
            raise DrawNotFound(f"No draw '{draw_id}' in campaign '{campaign_id}'.")
        return draw

    def _offer_messages(self, campaign: Campaign, offers: Sequence[Ticket], now: datetime) -> list[OutboxMessage]:
        """``entry.offered`` and the offer notice of each offer (a fan whose entry is gone gets neither)."""
        messages: list[OutboxMessage] = []
        for chunk in batched(offers, 1_000):
            contacts = self.entries.contacts(campaign.id, [t.user_id for t in chunk if t.user_id])
            for ticket in chunk:
                contact = contacts.get(ticket.user_id or "")
                if contact is None:
                    continue
                item = fan_item(ticket, None)
                messages.append(offer_event(self.ids.message_id(), OFFERED, campaign, contact, item=item, now=now))
                messages.append(offer_notice(self.ids.message_id(), contact, ticket, now))
        return messages

    def _ended_messages(self, campaign: Campaign, ticket: Ticket, now: datetime) -> list[OutboxMessage]:
        """``entry.offer_ended``: the fan's offer (or waitlist place) ended, accepted, declined, expired or void."""
        contact = self.entries.contacts(campaign.id, [ticket.user_id]).get(ticket.user_id) if ticket.user_id else None
        if contact is None:
            return []
        item = fan_item(ticket, None)
        return [offer_event(self.ids.message_id(), OFFER_ENDED, campaign, contact, item=item, now=now)]

    def _audit(
        self,
        caller: Caller,
        action: str,
        draw: Draw,
        at: datetime,
        *,
        parameters: dict[str, Any],
        counts: dict[str, int],
    ) -> None:
        self.audit.record(AuditRecord(at, caller.user_id, action, draw.campaign_id, parameters, counts))


def fan_draws(draws: Draws | None, campaign_id: str, user_id: str) -> tuple[FanDraw, ...]:
    """One fan's ``draws`` items, or none where the service has no draws wired."""
    if draws is None:
        return ()
    return draws.fan_draws(campaign_id, [user_id]).get(user_id, ())


def _standing(ticket: Ticket, status: DrawStatus, draws: DrawStore) -> FanDraw:
    """The fan's item: before the reveal only the ticket (whatever a half-done reveal already wrote)."""
    if status is not DrawStatus.REVEALED:
        return FanDraw(Ticket(ticket.draw_id, ticket.campaign_id, ticket.ticket, ticket.user_id, ticket.markets), None)
    return FanDraw(ticket, draws.waitlist_position(ticket))


def _whole(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _shown(ticket: Ticket, now: datetime) -> str:
    if ticket.status is OfferStatus.OFFERED and ticket.offer_expires_at is not None and now >= ticket.offer_expires_at:
        return "expired"
    return str(ticket.status)


def _commit_parameters(draw: Draw) -> dict[str, Any]:
    return {
        "drawId": draw.draw_id,
        "name": draw.name,
        "criteria": dict(draw.criteria),
        "capacities": dict(draw.rules.capacities),
        "mechanism": str(draw.rules.mechanism),
        "offerHours": draw.rules.offer_hours,
        "beaconRound": draw.rules.beacon_round,
    }
