"""SQL functions every connection of the store has (``register``): entrycore's rules, called by SQLite inside
bulk statements, so a rule that must run in the database lives once (DESIGN.md) and a bulk change stays one
statement over the rows, with no entry read into Python and written back.

The scoring rows' ranked markets are one integer, ``combo``: four 15-bit market slots, rank 0 lowest, an unused
rank all ones; ``mask`` has one bit per market slot modulo 63 (adapters_sqlite/scoring.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from entrycore.eligibility import MAX_RANKS
from entrycore.markets import transfer

SLOT_BITS = 15
NO_SLOT = (1 << SLOT_BITS) - 1  # an unused rank
MASK_BITS = 63  # bits of the mask column (SQLite integers are signed 64-bit)


def encode(slots: Sequence[int]) -> tuple[int, int]:
    """``(combo, mask)`` of ranked market slots (at most MAX_RANKS)."""
    combo = mask = 0
    for rank in range(MAX_RANKS):
        slot = slots[rank] if rank < len(slots) else NO_SLOT
        combo |= slot << (SLOT_BITS * rank)
        if slot != NO_SLOT:
            mask |= 1 << (slot % MASK_BITS)
    return combo, mask


def decode(combo: int) -> tuple[int, ...]:
    """The ranked market slots of ``combo``."""
    slots = ((combo >> (SLOT_BITS * rank)) & NO_SLOT for rank in range(MAX_RANKS))
    return tuple(slot for slot in slots if slot != NO_SLOT)


def transfer_json(markets: str | None, source: str, target: str) -> str | None:
    """``es_transfer(markets, source, target)``: the JSON list of ranked markets after MKT-003's transfer, or
    NULL when the list does not rank ``source`` (nothing to change)."""
    if markets is None:
        return None
    ranked = tuple(json.loads(markets))
    moved = transfer(ranked, source, target)
    return None if moved == ranked else json.dumps(list(moved), separators=(",", ":"))


def transfer_combo(combo: int, source: int, target: int) -> int:
    """``es_transfer_combo(combo, source_slot, target_slot)``: ``combo`` after the transfer of its slots."""
    ranked = decode(combo)
    if source not in ranked:
        return combo
    return encode(transfer(ranked, source, target))[0]


def mask_of(combo: int) -> int:
    """``es_mask(combo)``."""
    return encode(decode(combo))[1]


def register(conn: sqlite3.Connection) -> None:
    conn.create_function("es_transfer", 3, transfer_json, deterministic=True)
    conn.create_function("es_transfer_combo", 3, transfer_combo, deterministic=True)
    conn.create_function("es_mask", 1, mask_of, deterministic=True)
