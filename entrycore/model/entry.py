"""One fan's registration in a campaign (SPEC ENT-001) and its parts: referrer, origin, fraud result, review, codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs


@attrs.frozen
class Referrer:
    code: str
    user_id: str


@attrs.frozen
class Origin:
    ip: str | None = None
    user_agent: str | None = None


@attrs.frozen
class FraudResult:
    score: float | None
    status: str  # "scored" or "unknown"


@attrs.frozen
class Review:
    is_blocked: bool
    date: datetime


@attrs.frozen
class AssignedCode:
    code: str
    code_config_id: str | None
    start: datetime
    end: datetime | None
    reveal_code: datetime | None
    assigned_at: datetime

    def revealed(self, now: datetime) -> bool:
        """A fan sees a code once its reveal date (or start) has passed (SPEC SCR-007)."""
        return (self.reveal_code or self.start) <= now


REPLICATED = "replicated"  # the attribute of an entry created by batch replication (USR-004)


@attrs.frozen
class Entry:
    """One fan's registration in one campaign (key ``(campaign_id, user_id)``, SPEC ENT-001)."""

    campaign_id: str
    user_id: str
    fields: Mapping[str, Any] = attrs.field(hash=False)
    markets: tuple[str, ...]
    locale: str | None
    code: str
    link: str | None
    date_created: datetime
    date_updated: datetime
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    referrer: Referrer | None = None
    phone_confirmed: bool = False
    date_phone_confirmed: datetime | None = None
    date_receipt: datetime | None = None
    codes: tuple[AssignedCode, ...] = ()
    review: Review | None = None
    attributes: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    fraud: FraudResult | None = None
    fanscore: float | None = None
    origin: Origin | None = None
    version: int = 1

    @property
    def is_blocked(self) -> bool:
        return bool(self.review and self.review.is_blocked)

    @property
    def owes_receipt(self) -> bool:
        """No receipt was sent yet, and one is due at the first phone confirmation: never for an entry created by
        batch replication (SPEC PUB-006), marked by its ``replicated`` attribute."""
        return self.date_receipt is None and not self.attributes.get(REPLICATED)
