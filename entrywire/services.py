"""The documents other services send (API.md §7): a campaign from campaign-service (or a campaigns file), a fan's
account from user-service (or a users file). Each reader checks the shape and raises DocumentError, naming the
campaign or user and the key, on anything else; unknown keys are ignored (the other service may know more).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from entrycore.model import (
    CAMPAIGN_STATUSES,
    FIELD_TYPES,
    INVITE_MATCHES,
    Campaign,
    Card,
    Gates,
    Locale,
    Market,
    Preference,
    UserAccount,
)


class DocumentError(ValueError):
    """A campaign or account document from another service does not have the API.md §7 shape."""


def required(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if doc.get(key) is None:  # a JSON null is as absent as a missing key
        raise DocumentError(f"{where}: '{key}' is required")
    return optional(doc, key, kind, where, None)


def optional(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    value = doc.get(key, default)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise DocumentError(f"{where}: '{key}' has the wrong type")
    return value


def read_campaign(doc: Any, default_region: str = "US") -> Campaign:
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
    return Campaign(
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


def read_account(doc: Any) -> UserAccount:
    """Reads a user-service document (API.md §7); raises DocumentError on a bad shape."""
    if not isinstance(doc, Mapping):
        raise DocumentError("user: not an object")
    uid = required(doc, "id", str, "user")
    where = f"user {uid}"
    phone = optional(doc, "phone", (dict, str), where, None)
    if isinstance(phone, str):
        phone = {"number": phone, "verified": False}
    cards = []
    for card in optional(doc, "cards", list, where, []):
        if not isinstance(card, Mapping):
            raise DocumentError(f"{where}: a card is not an object")
        cards.append(
            Card(
                brand=optional(card, "brand", str, where, None),
                issuer=optional(card, "issuer", str, where, None),
                verified=optional(card, "verified", bool, where, False),
                active=optional(card, "active", bool, where, False),
            )
        )
    linked = optional(doc, "linkedAccounts", list, where, [])
    if not all(isinstance(a, str) for a in linked):
        raise DocumentError(f"{where}: linkedAccounts must be strings")
    fanscore = optional(doc, "fanscore", (int, float), where, None)
    return UserAccount(
        id=uid,
        global_user_id=optional(doc, "globalUserId", str, where, None),
        member_id=optional(doc, "memberId", str, where, None),
        email=optional(doc, "email", str, where, None),
        first_name=optional(doc, "firstName", str, where, None),
        last_name=optional(doc, "lastName", str, where, None),
        phone=optional(phone, "number", str, where, None) if phone else None,
        phone_verified=bool(phone and optional(phone, "verified", bool, where, False)),
        linked_accounts=tuple(linked),
        cards=tuple(cards),
        fanscore=None if fanscore is None or isinstance(fanscore, bool) else float(fanscore),
    )
