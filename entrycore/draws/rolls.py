"""Roll-over (SPEC DRW-005): a unit released by a decline, an expiry or a void goes to the first waitlisted
entrant, in draw order, that ranks its market. ``Standing`` is a revealed draw's offers after its results and
its rolls so far; the service and the verifier both move it with ``release`` and ``leave``, so both compute
the same ``offeredTo`` for the same log."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from entrycore.draws.allocation import Entrant, Placement
from entrycore.timefmt import iso


class Reason(enum.StrEnum):
    DECLINED = "declined"
    EXPIRED = "expired"
    VOID = "void"  # the fan was erased (USR-003) or blocked (SCR-008)


class By(enum.StrEnum):
    FAN = "fan"  # the fan's own decline
    ADMIN = "admin"  # an admin's batch decline, a block or an erasure
    SYSTEM = "system"  # an expiry


ALLOWED_BY = {
    Reason.DECLINED: frozenset({By.FAN, By.ADMIN}),  # the fan's own decline, or an admin's batch
    Reason.EXPIRED: frozenset({By.SYSTEM}),
    Reason.VOID: frozenset({By.ADMIN}),  # a block or an erasure
}


@attrs.frozen
class Roll:
    """A line of the public rolls log. ``market`` None: a waitlisted entrant left the waitlist."""

    at: datetime
    by: By
    market: str | None
    offered_to: str | None
    reason: Reason
    released: str

    def line(self) -> dict[str, Any]:
        return {
            "at": iso(self.at),
            "by": str(self.by),
            "marketId": self.market,
            "offeredTo": self.offered_to,
            "reason": str(self.reason),
            "released": self.released,
        }


@attrs.frozen
class Holding:
    """A unit held for an entrant: its market, the rank that market has in the entrant's list, and when the offer
    expires (an accepted offer keeps its unit whatever the time)."""

    market: str
    rank: int
    expires_at: datetime
    accepted: bool = False


class RollError(ValueError):
    """A release the standing cannot make (the entrant holds nothing of that kind)."""


class Standing:
    """Who holds which unit, who waits, and what is free, of one revealed draw."""

    def __init__(
        self,
        entrants: Iterable[Entrant],
        placements: Iterable[Placement],
        capacities: Mapping[str, int],
        revealed_at: datetime,
        offer_hours: int,
    ) -> None:
        self.offer_time = timedelta(hours=offer_hours)
        self.markets = {entrant.ticket: entrant.markets for entrant in entrants}
        self.position: dict[str, int] = {}
        self.holding: dict[str, Holding] = {}
        self.waiting: set[str] = set()
        self.capacities = dict(capacities)
        self.free = dict(capacities)
        self._queues: dict[str, list[str]] = {market: [] for market in capacities}  # waitlisted, draw order
        self._heads: dict[str, int] = dict.fromkeys(capacities, 0)
        expires = revealed_at + self.offer_time
        for placement in placements:
            self.position[placement.ticket] = placement.position
            if placement.market is None:
                self.waiting.add(placement.ticket)
                for market in self.markets[placement.ticket]:
                    if market in self._queues:
                        self._queues[market].append(placement.ticket)
            else:
                self.free[placement.market] -= 1
                self.holding[placement.ticket] = Holding(placement.market, placement.rank or 0, expires)

    def waitlist_position(self, ticket: str) -> int | None:
        """1-based among those still waitlisted (O(waitlist): for one fan's view, not for loops)."""
        if ticket not in self.waiting:
            return None
        mine = self.position[ticket]
        return 1 + sum(1 for other in self.waiting if self.position[other] < mine)

    def next_waiting(self, market: str) -> str | None:
        """The first waitlisted entrant, in draw order, that ranks ``market``."""
        queue = self._queues.get(market)
        if queue is None:
            return None
        head = self._heads[market]
        while head < len(queue) and queue[head] not in self.waiting:
            head += 1
        self._heads[market] = head  # entrants never return to the waitlist: what was passed stays passed
        return queue[head] if head < len(queue) else None

    def accept(self, ticket: str) -> None:
        held = self.holding.get(ticket)
        if held is None:
            raise RollError(f"ticket {ticket} holds no offer")
        self.holding[ticket] = attrs.evolve(held, accepted=True)

    def release(self, ticket: str, reason: Reason, by: By, at: datetime) -> Roll:
        """The roll of ``ticket``'s unit (or its leaving the waitlist): moves the standing and returns the line."""
        if by not in ALLOWED_BY[reason]:
            raise RollError(f"a {reason} roll is not made by {by}")
        if ticket in self.waiting:
            if reason is Reason.EXPIRED:
                raise RollError(f"ticket {ticket} is waitlisted: nothing of it expires")
            self.waiting.discard(ticket)
            return Roll(at, by, None, None, reason, ticket)
        held = self.holding.pop(ticket, None)
        if held is None:
            raise RollError(f"ticket {ticket} holds no unit and is not waitlisted")
        taker = self.next_waiting(held.market)
        if taker is None:
            self.free[held.market] += 1
        else:
            self.waiting.discard(taker)
            self.holding[taker] = Holding(held.market, self.markets[taker].index(held.market), at + self.offer_time)
        return Roll(at, by, held.market, taker, reason, ticket)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per market: capacity, offered (open offers), accepted, free (DRW-006)."""
        result = {
            m: {"capacity": n, "offered": 0, "accepted": 0, "free": self.free[m]} for m, n in self.capacities.items()
        }
        for held in self.holding.values():
            result[held.market]["accepted" if held.accepted else "offered"] += 1
        return result
