"""Referral codes and share links (SPEC ENT-008, ENT-009)."""

from __future__ import annotations

import secrets

from entrycore.errors import InvalidReferral
from entrycore.model import Campaign, Entry

# No 0/O, 1/I/L: codes are read aloud and typed from screenshots.
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


_CODES = len(ALPHABET) ** CODE_LENGTH


def new_code() -> str:
    """A random referral code: unguessable, unrelated to the user id. One uniform draw below 31**8 (one
    read of the system's random source, not one per character) written in base 31."""
    value = secrets.randbelow(_CODES)
    digits = []
    for _ in range(CODE_LENGTH):
        value, digit = divmod(value, len(ALPHABET))
        digits.append(ALPHABET[digit])
    return "".join(digits)


def share_link(campaign: Campaign, code: str) -> str | None:
    return f"https://{campaign.share_domain}/{code}" if campaign.share_domain else None


def check_update_referral(existing: Entry, referral_code: str | None) -> None:
    """On update a referral cannot change: only the stored code (or none) is accepted (ENT-009)."""
    if referral_code is None:
        return
    if existing.referrer is None or referral_code != existing.referrer.code:
        raise InvalidReferral("A referral code cannot be added or changed after registration.")
