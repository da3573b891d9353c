"""The real Clock and Ids (stdlib only): wall-clock UTC time and cryptographically random codes."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from entrycore.referrals import new_code


@attrs.frozen
class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@attrs.frozen
class RandomIds:
    def referral_code(self) -> str:
        return new_code()
