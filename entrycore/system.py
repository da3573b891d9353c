"""The real Clock and Ids (stdlib only): wall-clock UTC time and cryptographically random codes."""

from __future__ import annotations

import base64
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
_TO_CROCKFORD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD)


@attrs.frozen
class RandomIds:
    def referral_code(self) -> str:
        return new_code()

    def message_id(self) -> str:
        """A ULID: 48 bits of milliseconds then 80 random bits, Crockford base32 (sorts by creation time)."""
        value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
        # 26 base-32 digits = 130 bits: the 128-bit value after 2 zero bits. Shifted left by 30 it fills 20
        # bytes exactly, which base32 writes as 32 digits (RFC 4648 alphabet); the first 26 are the ULID's.
        return base64.b32encode((value << 30).to_bytes(20, "big"))[:26].decode().translate(_TO_CROCKFORD)

    def secret(self, size: int) -> bytes:
        return secrets.token_bytes(size)


@attrs.frozen
class NoAccounts:
    """The user source of ``ENTRY_USERS=none``: every fan has an empty account (SPEC ENT-011)."""

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        return UserAccount.empty(user_id)
