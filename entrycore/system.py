"""The real Clock and Ids (stdlib only): wall-clock UTC time and cryptographically random codes."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

import attrs

from entrycore.model import UserAccount
from entrycore.referrals import new_code


@attrs.frozen
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@attrs.frozen
class RandomIds:
    def referral_code(self) -> str:
        return new_code()

    def message_id(self) -> str:
        """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32 (sorts by creation time)."""
        value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
        # 26 base-32 digits = 130 bits: the 128-bit value after 2 zero bits, 5 bits a digit from the last (a reveal
        # makes two ids per offer: 3 µs each this way, 12 µs through base64.b32encode, pure Python in 3.11).
        digits = []
        for _ in range(26):
            digits.append(_CROCKFORD[value & 31])
            value >>= 5
        return "".join(reversed(digits))

    def secret(self, size: int) -> bytes:
        return secrets.token_bytes(size)


@attrs.frozen
class NoAccounts:
    """The user source of ``ENTRY_USERS=none``: every fan has an empty account (SPEC ENT-011)."""

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        return UserAccount.empty(user_id)
