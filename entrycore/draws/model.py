"""What the service keeps of a draw (SPEC §12): the draw itself (public, but for its secret seed before the
reveal) and one ticket per entrant (private: it links the ticket to the fan)."""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from entrycore.draws.allocation import Rules
from entrycore.draws.rolls import Roll
from entrycore.outbox import OutboxMessage


class DrawStatus(enum.StrEnum):
    COMMITTED = "committed"
    REVEALED = "revealed"
    CANCELLED = "cancelled"


class OfferStatus(enum.StrEnum):
    """A ticket's standing in its draw, as the fan sees it (DRW-004)."""

    COMMITTED = "committed"  # the draw is not revealed yet
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"
    WAITLISTED = "waitlisted"
    VOID = "void"  # the fan was erased or blocked


class DrawFile(enum.StrEnum):
    """The public files of a draw (DRW-006)."""

    ENTRANTS = "entrants"
    RESULTS = "results"
    ROLLS = "rolls"


@attrs.frozen
class BeaconRound:
    round: int
    signature: str  # hex, 48 bytes
    randomness: str  # hex, SHA-256 of the signature


@attrs.frozen
class Reveal:
    revealed_at: datetime
    seed: str | None  # hex; only for a draw without a beacon round
    beacon: BeaconRound | None
    draw_seed: str  # hex


@attrs.frozen
class Cancellation:
    at: datetime
    reason: str


@attrs.frozen
class MarketUnits:
    """A market's units in a draw: capacity = offered (open offers) + accepted + free."""

    market_id: str
    capacity: int
    offered: int = 0
    accepted: int = 0
    free: int = 0


@attrs.frozen
class Draw:
    draw_id: str  # a ULID
    campaign_id: str
    name: str
    criteria: Mapping[str, Any]  # as the admin gave them (JSON-typed): public
    rules: Rules
    commitment: str
    committed_at: datetime
    committed_by: str | None
    status: DrawStatus = DrawStatus.COMMITTED
    markets: tuple[MarketUnits, ...] = ()
    reveal: Reveal | None = None
    cancelled: Cancellation | None = None
    secret_seed: str | None = None  # hex; never public before the reveal, and only for a draw without a beacon
    rolls: int = 0  # lines of the rolls log
    offers_published: int = 0  # positions in draw order whose first offers have their events and notices written
    version: int = 0  # each change of the draw's units bumps it (optimistic concurrency between workers)

    def moved(self, **deltas: dict[str, int]) -> Draw:
        """The draw with each named market's counts changed by the given deltas (``nyc={"offered": -1}``)."""
        changed = tuple(
            attrs.evolve(u, **{k: getattr(u, k) + d for k, d in deltas[u.market_id].items()})
            if u.market_id in deltas
            else u
            for u in self.markets
        )
        return attrs.evolve(self, markets=changed)


@attrs.frozen
class Ticket:
    """An entrant of a draw, linked to its fan (private). ``user_id`` None once the fan is erased (DRW-005)."""

    draw_id: str
    campaign_id: str
    ticket: str
    user_id: str | None
    markets: tuple[str, ...]
    status: OfferStatus = OfferStatus.COMMITTED
    position: int | None = None  # in draw order, from the reveal
    lottery: str | None = None  # hex
    market: str | None = None  # the market offered (or accepted)
    rank: int | None = None
    offer_expires_at: datetime | None = None
    waitlist_rank: int | None = None  # 1-based among the waitlisted at the reveal; never changes
    voided: bool = False  # the fan was blocked or erased before the reveal: void at the reveal (DRW-005)

    def holds_unit(self) -> bool:
        return self.status in (OfferStatus.OFFERED, OfferStatus.ACCEPTED)


@attrs.frozen
class DrawChange:
    """One change of a draw's offers, saved whole: the draw as it becomes (its ``version`` one past ``expected``),
    the tickets it changes, the roll it appends to the rolls log (if any), and its outbox messages."""

    draw: Draw
    expected_version: int
    tickets: tuple[Ticket, ...] = ()
    roll: Roll | None = None
    outbox: tuple[OutboxMessage, ...] = ()


@attrs.frozen
class StoredFile:
    """A public file as the store keeps it: its chunks in order, its size, its ETag, and (for the files written once)
    the same bytes gzip-compressed at write time, so no request compresses anything."""

    chunks: Sequence[bytes] | Iterator[bytes]
    size: int
    etag: str
    gzip_chunks: Sequence[bytes] | Iterator[bytes] | None = None
    gzip_size: int | None = None
