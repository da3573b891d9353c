"""The scoring rows' ranked markets as integers (adapters_sqlite/scoring.py): ``combo`` holds four 15-bit market
slots, rank 0 lowest, an unused rank all ones; ``mask`` has one bit per market slot modulo 63."""

from __future__ import annotations

from collections.abc import Sequence

from entrycore.eligibility import MAX_RANKS

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
