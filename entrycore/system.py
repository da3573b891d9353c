"""The real Clock and Ids (stdlib only): wall-clock UTC time and cryptographically random codes."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from entrycore.model import UserAccount
from entrycore.referrals import new_code


@attrs.frozen
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.frozen
class RandomIds:
    def referral_code(self) -> str:
        return new_code()


@attrs.frozen
class NoAccounts:
    """The user source of ``ENTRY_USERS=none``: every fan has an empty account (SPEC ENT-011)."""

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        return UserAccount.empty(user_id)
