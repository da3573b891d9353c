"""One fan's registration in a campaign (SPEC ENT-001) and its parts: referrer, origin, fraud result, review, codes."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from entrycore.timefmt import iso, parse_iso, parse_iso_opt


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
