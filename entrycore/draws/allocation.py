"""A draw's published objects and its allocation (SPEC DRW-001…DRW-003): entrants, rules and commitment, the draw
seed, lottery numbers, the draw order, and who is offered which market. Pure: the same inputs give the same
bytes on any machine, which is what lets a third party recompute a draw (docs/draws.md)."""

from __future__ import annotations

import enum
import hashlib
import heapq
import hmac
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from entrycore.draws.canonical import canonical, lines, sha256_hex

_string = json.JSONEncoder(ensure_ascii=False).encode  # a string as RFC 8785 writes it (canonical.py)
TICKET = re.compile(r"[0-9a-f]{32}")
HEX64 = re.compile(r"[0-9a-f]{64}")
MAX_RANKS = 4
OFFER_HOURS = (1, 720)
DEFAULT_OFFER_HOURS = 48


class Mechanism(enum.StrEnum):
    """How ranked preferences meet capacity (DRW-003)."""

    SERIAL_DICTATORSHIP = "serial-dictatorship"  # in draw order, each takes its best market with room left
    RANK_ROUNDS = "rank-rounds"  # everyone's first choices in draw order, then everyone's second, …


@attrs.frozen
class Entrant:
    """A fan in a draw, as the entrants file shows them: a ticket and the ranked markets (rank order)."""

    ticket: str
    markets: tuple[str, ...]

    def line(self) -> dict[str, Any]:
        return {"markets": list(self.markets), "ticket": self.ticket}


def entrants_file(entrants: Iterable[Entrant]) -> bytes:
    """The entrants file: one canonical line per entrant, sorted by ticket."""
    ordered = [entrant for _, _, entrant in sorted_in_steps([(e.ticket, i, e) for i, e in enumerate(entrants)])]
    if not all(TICKET.fullmatch(e.ticket) for e in ordered):
        return lines(entrant.line() for entrant in ordered)  # not the service's tickets: the general encoder
    # The same bytes as canonical(), written directly (a million lines: ~1 s instead of ~20): keys in their sorted
    # order, each market id encoded as RFC 8785 writes a string, the ticket hex (no escaping possible).
    return _joined(f'{{"markets":[{",".join(map(_string, e.markets))}],"ticket":"{e.ticket}"}}\n' for e in ordered)


@attrs.frozen
class Rules:
    """What a commit fixes (DRW-001); ``commitment`` is SHA-256 of its canonical JSON."""

    draw_id: str
    campaign_id: str
    capacities: Mapping[str, int]  # market -> capacity >= 1 (zero capacities are dropped before)
    mechanism: Mechanism
    offer_hours: int
    entrants_count: int
    entrants_hash: str
    beacon_round: int | None
    seed_hash: str | None  # SHA-256 of the secret seed, only when no beacon round is named
    beacon_chain: str | None = None  # the public key (hex) of a chain other than quicknet

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "beaconRound": self.beacon_round,
            "campaignId": self.campaign_id,
            "capacities": dict(self.capacities),
            "drawId": self.draw_id,
            "entrantsCount": self.entrants_count,
            "entrantsHash": self.entrants_hash,
            "mechanism": str(self.mechanism),
            "offerHours": self.offer_hours,
            "seedHash": self.seed_hash,
        }
        if self.beacon_chain is not None:
            doc["beaconChain"] = self.beacon_chain
        return doc

    def commitment(self) -> str:
        return sha256_hex(canonical(self.document()))

    @classmethod
    def read(cls, doc: Mapping[str, Any]) -> Rules:
        """The rules of a published document; ``ValueError`` naming what is wrong."""
        keys = {"beaconRound", "campaignId", "capacities", "drawId", "entrantsCount", "entrantsHash", "mechanism"}
        keys |= {"offerHours", "seedHash"}
        if not isinstance(doc, Mapping) or not keys <= set(doc) <= keys | {"beaconChain"}:
            raise ValueError(f"rules must hold exactly {sorted(keys)} (and beaconChain on another chain)")
        capacities = doc["capacities"]
        if not isinstance(capacities, Mapping) or not all(
            isinstance(m, str) and _count(n) and n >= 1 for m, n in capacities.items()
        ):
            raise ValueError("capacities must map market ids to whole numbers >= 1")
        return cls(
            draw_id=_text(doc["drawId"], "drawId"),
            campaign_id=_text(doc["campaignId"], "campaignId"),
            capacities=dict(capacities),
            mechanism=Mechanism(doc["mechanism"]),
            offer_hours=_whole(doc["offerHours"], "offerHours"),
            entrants_count=_whole(doc["entrantsCount"], "entrantsCount"),
            entrants_hash=_hex64(doc["entrantsHash"], "entrantsHash"),
            beacon_round=None if doc["beaconRound"] is None else _whole(doc["beaconRound"], "beaconRound"),
            seed_hash=None if doc["seedHash"] is None else _hex64(doc["seedHash"], "seedHash"),
            beacon_chain=None if doc.get("beaconChain") is None else _text(doc["beaconChain"], "beaconChain"),
        )


def draw_seed(source: bytes, commitment: str) -> bytes:
    """DRW-002: SHA-256(randomness ‖ commitment) with a beacon, SHA-256(seed ‖ commitment) without (32 raw bytes
    each)."""
    return hashlib.sha256(source + bytes.fromhex(commitment)).digest()


def lottery(seed: bytes, ticket: str) -> int:
    """A ticket's lottery number: HMAC-SHA256(key = drawSeed, message = the ticket's 32 ASCII characters)."""
    return int.from_bytes(hmac.digest(seed, ticket.encode("ascii"), "sha256"), "big")


@attrs.frozen
class Placement:
    """A line of the results file: an entrant's place in the draw order and what the allocation offered it."""

    position: int  # 1-based in draw order
    ticket: str
    lottery: int
    market: str | None  # None: waitlisted
    rank: int | None

    def line(self) -> dict[str, Any]:
        return {
            "lottery": f"{self.lottery:064x}",
            "marketId": self.market,
            "position": self.position,
            "rank": self.rank,
            "ticket": self.ticket,
        }


def draw_order(entrants: Iterable[Entrant], seed: bytes) -> list[tuple[int, Entrant]]:
    """Entrants by lottery number ascending (ties, which will not happen, by ticket)."""
    numbered = [(lottery(seed, entrant.ticket), entrant.ticket, entrant) for entrant in entrants]
    return [(number, entrant) for number, _, entrant in sorted_in_steps(numbered)]


_STEP = 10_000  # items one sort call handles at once


def sorted_in_steps(items: list[Any]) -> list[Any]:
    """``sorted(items)``, made of sorts of ``_STEP`` items merged in Python: one sort of a million tuples is a single
    call of a second or more that no other thread of the process runs during (the GIL); this way a server thread
    waits a few milliseconds at most while a draw of a million entrants is revealed in its process."""
    if len(items) <= _STEP:
        return sorted(items)
    runs = [sorted(items[i : i + _STEP]) for i in range(0, len(items), _STEP)]
    return list(heapq.merge(*runs))


def allocate(
    entrants: Iterable[Entrant], capacities: Mapping[str, int], mechanism: Mechanism, seed: bytes
) -> list[Placement]:
    """DRW-003: every entrant in draw order with the market (and its rank) the mechanism offers it, or none."""
    order = draw_order(entrants, seed)
    left = dict(capacities)
    offers: list[tuple[str, int] | None] = [None] * len(order)
    if mechanism is Mechanism.SERIAL_DICTATORSHIP:
        for index, (_, entrant) in enumerate(order):
            offers[index] = _take(entrant.markets, left)
    else:
        for rank in range(MAX_RANKS):
            for index, (_, entrant) in enumerate(order):
                if offers[index] is None and rank < len(entrant.markets):
                    market = entrant.markets[rank]
                    if left.get(market, 0) > 0:
                        left[market] -= 1
                        offers[index] = (market, rank)
    return [
        Placement(index + 1, entrant.ticket, number, *(offer or (None, None)))
        for index, ((number, entrant), offer) in enumerate(zip(order, offers, strict=True))
    ]


def _take(markets: Sequence[str], left: dict[str, int]) -> tuple[str, int] | None:
    for rank, market in enumerate(markets):
        if left.get(market, 0) > 0:
            left[market] -= 1
            return market, rank
    return None


def results_file(placements: Iterable[Placement]) -> bytes:
    """The results file; the bytes of ``canonical(placement.line())`` per line, written directly (see
    ``entrants_file``)."""
    placed = list(placements)
    if not all(TICKET.fullmatch(p.ticket) for p in placed):
        return lines(p.line() for p in placed)
    return _joined(
        f'{{"lottery":"{p.lottery:064x}","marketId":{"null" if p.market is None else _string(p.market)},'
        f'"position":{p.position},"rank":{"null" if p.rank is None else p.rank},"ticket":"{p.ticket}"}}\n'
        for p in placed
    )


def _joined(lines: Iterable[str]) -> bytes:
    """The lines as UTF-8, joined ``_STEP`` at a time (one join of a million strings holds the GIL for a second)."""
    parts, step = [], []
    for line in lines:
        step.append(line)
        if len(step) == _STEP:
            parts.append("".join(step).encode("utf-8"))
            step = []
    parts.append("".join(step).encode("utf-8"))
    return b"".join(parts)


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _whole(value: object, name: str) -> int:
    if not _count(value) or value < 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a whole number")
    return value  # type: ignore[return-value]


def _text(value: object, name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def _hex64(value: object, name: str) -> str:
    if not isinstance(value, str) or not HEX64.fullmatch(value):
        raise ValueError(f"{name} must be 64 lower-case hex characters")
    return value
