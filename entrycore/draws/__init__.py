"""Allocation draws (SPEC §12), the pure algorithm: canonical files, the beacon check, the allocation, roll-over
and the verifier. Importable by anyone who wants to recompute a draw (docs/draws.md)."""

from entrycore.draws.allocation import (
    DEFAULT_OFFER_HOURS,
    Entrant,
    Mechanism,
    Placement,
    Rules,
    allocate,
    draw_order,
    draw_seed,
    entrants_file,
    lottery,
    results_file,
)
from entrycore.draws.beacon import QUICKNET, Chain, randomness, round_message
from entrycore.draws.canonical import canonical, lines, sha256_hex
from entrycore.draws.rolls import By, Holding, Reason, Roll, RollError, Standing
from entrycore.draws.verify import Verdict, verify_draw

__all__ = [
    "DEFAULT_OFFER_HOURS",
    "QUICKNET",
    "By",
    "Chain",
    "Entrant",
    "Holding",
    "Mechanism",
    "Placement",
    "Reason",
    "Roll",
    "RollError",
    "Rules",
    "Standing",
    "Verdict",
    "allocate",
    "canonical",
    "draw_order",
    "draw_seed",
    "entrants_file",
    "lines",
    "lottery",
    "randomness",
    "results_file",
    "round_message",
    "sha256_hex",
    "verify_draw",
]
