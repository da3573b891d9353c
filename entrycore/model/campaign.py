"""A campaign as campaign-service describes it (API.md §7): its markets, preference fields, locales and gates."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from entrycore.model.documents import DocumentError, optional, required

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

    @classmethod
    def from_document(cls, doc: Any, default_region: str = "US") -> Campaign:
        """Reads a campaign-service document (API.md §7); raises DocumentError on a bad shape."""
        if not isinstance(doc, Mapping):
            raise DocumentError("campaign: not an object")
        cid = required(doc, "id", str, "campaign")
        where = f"campaign {cid}"
        status = required(doc, "status", str, where)
        if status not in CAMPAIGN_STATUSES:
            raise DocumentError(f"{where}: unknown status {status!r}")
        markets = tuple(_market(m, where) for m in required(doc, "markets", list, where))
        preferences = tuple(_preference(p, where) for p in required(doc, "preferences", list, where))
        for market_type in ("market_select", "additional_markets_select"):
            if sum(p.type == market_type for p in preferences) > 1:
                raise DocumentError(f"{where}: more than one {market_type} preference")
        domain = optional(doc, "domain", dict, where, {})
        gate = optional(doc, "gate", dict, where, {})
        invite = optional(gate, "inviteOnly", str, where + " gate", None)
        if invite is not None and invite not in INVITE_MATCHES:
            raise DocumentError(f"{where}: unknown inviteOnly {invite!r}")
        return cls(
            id=cid,
            name=optional(doc, "name", str, where, cid),
            status=status,
            markets=markets,
            preferences=preferences,
            needs_phone_confirmation=optional(doc, "needsPhoneConfirmation", bool, where, False),
            require_referral=optional(doc, "requireReferral", bool, where, False),
            share_domain=optional(domain, "share", str, where + " domain", None) or None,
            region=optional(doc, "region", str, where, default_region) or default_region,
            locales=tuple(_locale(loc, where) for loc in optional(doc, "locales", list, where, [])),
            gates=Gates(
                invite_only=invite,
                linked_account=optional(gate, "linkedAccount", str, where + " gate", None) or None,
                card=optional(gate, "card", str, where + " gate", None) or None,
            ),
        )

    @property
    def is_open(self) -> bool:
        return self.status == "OPEN"

    def market_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.markets)

    def preference(self, field_id: str) -> Preference | None:
        return next((p for p in self.preferences if p.id == field_id), None)

    def first_of_type(self, field_type: str) -> Preference | None:
        return next((p for p in self.preferences if p.type == field_type), None)


def _market(doc: Any, where: str) -> Market:
    if not isinstance(doc, Mapping):
        raise DocumentError(f"{where}: a market is not an object")
    mid = required(doc, "id", str, where + " market")
    return Market(
        id=mid,
        name=optional(doc, "name", str, where, mid),
        city=optional(doc, "city", str, where, None),
        state=optional(doc, "state", str, where, None),
    )


def _preference(doc: Any, where: str) -> Preference:
    if not isinstance(doc, Mapping):
        raise DocumentError(f"{where}: a preference is not an object")
    pid = required(doc, "id", str, where + " preference")
    ptype = required(doc, "type", str, f"{where} preference {pid}")
    if ptype not in FIELD_TYPES:
        raise DocumentError(f"{where}: preference {pid} has unknown type {ptype!r}")
    return Preference(
        id=pid,
        type=ptype,
        is_optional=optional(doc, "is_optional", bool, where, False),
        additional=dict(optional(doc, "additional", dict, where, {})),
    )


def _locale(doc: Any, where: str) -> Locale:
    if isinstance(doc, str):
        return Locale(id=doc)
    if not isinstance(doc, Mapping):
        raise DocumentError(f"{where}: a locale is not an object")
    return Locale(
        id=required(doc, "id", str, where + " locale"), is_default=optional(doc, "is_default", bool, where, False)
    )
