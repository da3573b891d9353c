"""Domain values: Campaign, Market, Preference, UserAccount, Entry and their parts (attrs, frozen)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from entrycore.timefmt import iso, parse_iso, parse_iso_opt

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


class DocumentError(ValueError):
    """A campaign or account document from another service does not have the API.md §7 shape."""


def _req(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if doc.get(key) is None:  # a JSON null is as absent as a missing key
        raise DocumentError(f"{where}: '{key}' is required")
    return _opt(doc, key, kind, where, None)


def _opt(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    value = doc.get(key, default)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise DocumentError(f"{where}: '{key}' has the wrong type")
    return value


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
        cid = _req(doc, "id", str, "campaign")
        where = f"campaign {cid}"
        status = _req(doc, "status", str, where)
        if status not in CAMPAIGN_STATUSES:
            raise DocumentError(f"{where}: unknown status {status!r}")
        markets = tuple(_market(m, where) for m in _req(doc, "markets", list, where))
        preferences = tuple(_preference(p, where) for p in _req(doc, "preferences", list, where))
        for market_type in ("market_select", "additional_markets_select"):
            if sum(p.type == market_type for p in preferences) > 1:
                raise DocumentError(f"{where}: more than one {market_type} preference")
        domain = _opt(doc, "domain", dict, where, {})
        gate = _opt(doc, "gate", dict, where, {})
        invite = _opt(gate, "inviteOnly", str, where + " gate", None)
        if invite is not None and invite not in INVITE_MATCHES:
            raise DocumentError(f"{where}: unknown inviteOnly {invite!r}")
        return cls(
            id=cid,
            name=_opt(doc, "name", str, where, cid),
            status=status,
            markets=markets,
            preferences=preferences,
            needs_phone_confirmation=_opt(doc, "needsPhoneConfirmation", bool, where, False),
            require_referral=_opt(doc, "requireReferral", bool, where, False),
            share_domain=_opt(domain, "share", str, where + " domain", None) or None,
            region=_opt(doc, "region", str, where, default_region) or default_region,
            locales=tuple(_locale(loc, where) for loc in _opt(doc, "locales", list, where, [])),
            gates=Gates(
                invite_only=invite,
                linked_account=_opt(gate, "linkedAccount", str, where + " gate", None) or None,
                card=_opt(gate, "card", str, where + " gate", None) or None,
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
    mid = _req(doc, "id", str, where + " market")
    return Market(
        id=mid,
        name=_opt(doc, "name", str, where, mid),
        city=_opt(doc, "city", str, where, None),
        state=_opt(doc, "state", str, where, None),
    )


def _preference(doc: Any, where: str) -> Preference:
    if not isinstance(doc, Mapping):
        raise DocumentError(f"{where}: a preference is not an object")
    pid = _req(doc, "id", str, where + " preference")
    ptype = _req(doc, "type", str, f"{where} preference {pid}")
    if ptype not in FIELD_TYPES:
        raise DocumentError(f"{where}: preference {pid} has unknown type {ptype!r}")
    return Preference(
        id=pid,
        type=ptype,
        is_optional=_opt(doc, "is_optional", bool, where, False),
        additional=dict(_opt(doc, "additional", dict, where, {})),
    )


def _locale(doc: Any, where: str) -> Locale:
    if isinstance(doc, str):
        return Locale(id=doc)
    if not isinstance(doc, Mapping):
        raise DocumentError(f"{where}: a locale is not an object")
    return Locale(id=_req(doc, "id", str, where + " locale"), is_default=_opt(doc, "is_default", bool, where, False))


@attrs.frozen
class Card:
    brand: str | None = None
    issuer: str | None = None
    verified: bool = False
    active: bool = False


@attrs.frozen
class UserAccount:
    """What user-service knows of a fan (API.md §7). Every part may be empty."""

    id: str
    global_user_id: str | None = None
    member_id: str | None = None
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    phone_verified: bool = False
    linked_accounts: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()
    fanscore: float | None = None

    @classmethod
    def empty(cls, user_id: str) -> UserAccount:
        """The account of a fan the user source does not know (SPEC ENT-011)."""
        return cls(id=user_id)

    @classmethod
    def from_document(cls, doc: Any) -> UserAccount:
        """Reads a user-service document (API.md §7); raises DocumentError on a bad shape."""
        if not isinstance(doc, Mapping):
            raise DocumentError("user: not an object")
        uid = _req(doc, "id", str, "user")
        where = f"user {uid}"
        phone = _opt(doc, "phone", (dict, str), where, None)
        if isinstance(phone, str):
            phone = {"number": phone, "verified": False}
        cards = []
        for card in _opt(doc, "cards", list, where, []):
            if not isinstance(card, Mapping):
                raise DocumentError(f"{where}: a card is not an object")
            cards.append(
                Card(
                    brand=_opt(card, "brand", str, where, None),
                    issuer=_opt(card, "issuer", str, where, None),
                    verified=_opt(card, "verified", bool, where, False),
                    active=_opt(card, "active", bool, where, False),
                )
            )
        linked = _opt(doc, "linkedAccounts", list, where, [])
        if not all(isinstance(a, str) for a in linked):
            raise DocumentError(f"{where}: linkedAccounts must be strings")
        fanscore = _opt(doc, "fanscore", (int, float), where, None)
        return cls(
            id=uid,
            global_user_id=_opt(doc, "globalUserId", str, where, None),
            member_id=_opt(doc, "memberId", str, where, None),
            email=_opt(doc, "email", str, where, None),
            first_name=_opt(doc, "firstName", str, where, None),
            last_name=_opt(doc, "lastName", str, where, None),
            phone=_opt(phone, "number", str, where, None) if phone else None,
            phone_verified=bool(phone and _opt(phone, "verified", bool, where, False)),
            linked_accounts=tuple(linked),
            cards=tuple(cards),
            fanscore=None if fanscore is None or isinstance(fanscore, bool) else float(fanscore),
        )


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

    def to_document(self) -> dict[str, Any]:
        """The storage-neutral JSON document of the entry (both stores keep exactly this)."""
        return {
            "campaignId": self.campaign_id,
            "userId": self.user_id,
            "fields": dict(self.fields),
            "markets": list(self.markets),
            "locale": self.locale,
            "code": self.code,
            "link": self.link,
            "email": self.email,
            "phone": self.phone,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "referrer": ({"code": self.referrer.code, "userId": self.referrer.user_id} if self.referrer else None),
            "phoneConfirmed": self.phone_confirmed,
            "dateCreated": iso(self.date_created),
            "dateUpdated": iso(self.date_updated),
            "datePhoneConfirmed": iso(self.date_phone_confirmed),
            "dateReceipt": iso(self.date_receipt),
            "codes": [
                {
                    "code": c.code,
                    "codeConfigId": c.code_config_id,
                    "start": iso(c.start),
                    "end": iso(c.end),
                    "revealCode": iso(c.reveal_code),
                    "assignedAt": iso(c.assigned_at),
                }
                for c in self.codes
            ],
            "review": ({"isBlocked": self.review.is_blocked, "date": iso(self.review.date)} if self.review else None),
            "attributes": dict(self.attributes),
            "fraud": {"score": self.fraud.score, "status": self.fraud.status} if self.fraud else None,
            "fanscore": self.fanscore,
            "origin": {"ip": self.origin.ip, "userAgent": self.origin.user_agent} if self.origin else None,
            "version": self.version,
        }

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> Entry:
        """Inverse of ``to_document``."""
        ref = doc.get("referrer")
        review = doc.get("review")
        fraud = doc.get("fraud")
        origin = doc.get("origin")
        return cls(
            campaign_id=doc["campaignId"],
            user_id=doc["userId"],
            fields=dict(doc.get("fields") or {}),
            markets=tuple(doc.get("markets") or ()),
            locale=doc.get("locale"),
            code=doc["code"],
            link=doc.get("link"),
            email=doc.get("email"),
            phone=doc.get("phone"),
            first_name=doc.get("firstName"),
            last_name=doc.get("lastName"),
            referrer=Referrer(code=ref["code"], user_id=ref["userId"]) if ref else None,
            phone_confirmed=bool(doc.get("phoneConfirmed")),
            date_created=parse_iso(doc["dateCreated"]),
            date_updated=parse_iso(doc["dateUpdated"]),
            date_phone_confirmed=parse_iso_opt(doc.get("datePhoneConfirmed")),
            date_receipt=parse_iso_opt(doc.get("dateReceipt")),
            codes=tuple(
                AssignedCode(
                    code=c["code"],
                    code_config_id=c.get("codeConfigId"),
                    start=parse_iso(c["start"]),
                    end=parse_iso_opt(c.get("end")),
                    reveal_code=parse_iso_opt(c.get("revealCode")),
                    assigned_at=parse_iso(c["assignedAt"]),
                )
                for c in doc.get("codes") or ()
            ),
            review=(Review(is_blocked=bool(review["isBlocked"]), date=parse_iso(review["date"])) if review else None),
            attributes=dict(doc.get("attributes") or {}),
            fraud=FraudResult(score=fraud.get("score"), status=fraud["status"]) if fraud else None,
            fanscore=doc.get("fanscore"),
            origin=Origin(ip=origin.get("ip"), user_agent=origin.get("userAgent")) if origin else None,
            version=int(doc.get("version", 1)),
        )
