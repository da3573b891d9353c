"""A campaign as campaign-service describes it (API.md §7): its markets, preference fields, locales and gates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

CAMPAIGN_STATUSES = frozenset({"DRAFT", "PREVIEW", "OPEN", "CLOSED", "INACTIVE"})
INVITE_MATCHES = frozenset({"code", "email", "globalUserId", "memberId"})
FIELD_TYPES = frozenset(
    {
        "email",
        "phone",
        "name",
        "zip",
        "market_select",
        "additional_markets_select",
        "ticket_count",
        "boolean_select",
        "opt_in",
        "freeform_text",
        "checklist",
    }
)


@attrs.frozen
class Market:
    id: str
    name: str
    city: str | None = None
    state: str | None = None


@attrs.frozen
class Preference:
    """One preference field a campaign asks fans for (API.md §7)."""

    id: str
    type: str
    is_optional: bool = False
    additional: Mapping[str, Any] = attrs.field(factory=dict, hash=False)


@attrs.frozen
class Locale:
    id: str
    is_default: bool = False


@attrs.frozen
class Gates:
    """The registration gates of a campaign (SPEC GATE-002); None = no such gate."""

    invite_only: str | None = None
    linked_account: str | None = None
    card: str | None = None


@attrs.frozen
class Campaign:
    id: str
    name: str
    status: str
    markets: tuple[Market, ...]
    preferences: tuple[Preference, ...]
    needs_phone_confirmation: bool = False
    require_referral: bool = False
    share_domain: str | None = None
    region: str = "US"
    locales: tuple[Locale, ...] = ()
    gates: Gates = Gates()

    @property
    def is_open(self) -> bool:
        return self.status == "OPEN"

    def market_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.markets)

    def preference(self, field_id: str) -> Preference | None:
        return next((p for p in self.preferences if p.id == field_id), None)

    def first_of_type(self, field_type: str) -> Preference | None:
        return next((p for p in self.preferences if p.type == field_type), None)
