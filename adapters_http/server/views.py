"""How entries look from outside: the fan view and the admin view (API.md §3)."""

from __future__ import annotations

from typing import Any

from entrycore.model import AssignedCode, Campaign, Entry
from entrycore.timefmt import iso
from entrycore.usecases.results import EntryWithCampaign


def _code(code: AssignedCode, admin: bool) -> dict[str, Any]:
    view: dict[str, Any] = {
        "code": code.code,
        "codeConfigId": code.code_config_id,
        "start": iso(code.start),
        "end": iso(code.end),
    }
    if admin:
        view["revealCode"] = iso(code.reveal_code)
    return view


def fan_view(viewed: EntryWithCampaign) -> dict[str, Any]:
    """What a fan sees of their entry: never fraud, fanscore, origin, review, attributes."""
    entry, campaign, now = viewed.entry, viewed.campaign, viewed.as_of
    codes = sorted((c for c in entry.codes if c.revealed(now)), key=lambda c: (c.start, c.assigned_at))
    view = _base(entry, campaign, [_code(c, admin=False) for c in codes])
    view["draws"] = [d.item() for d in viewed.draws]
    return view


def admin_view(viewed: EntryWithCampaign) -> dict[str, Any]:
    """The fan view plus what administrators need (referrer user, review, attributes, fraud, origin)."""
    entry, campaign, now = viewed.entry, viewed.campaign, viewed.as_of
    codes = sorted(entry.codes, key=lambda c: (c.start, c.assigned_at))
    view = _base(entry, campaign, [_code(c, admin=True) for c in codes])
    view["draws"] = [d.item() for d in viewed.draws]
    revealed = [c for c in codes if c.revealed(now)]
    view["presaleCode"] = revealed[0].code if revealed else None
    if entry.referrer:
        view["referrer"] = {"code": entry.referrer.code, "userId": entry.referrer.user_id}
    view["review"] = (
        {"isBlocked": entry.review.is_blocked, "date": iso(entry.review.date)}
        if entry.review
        else {"isBlocked": False, "date": None}
    )
    view["attributes"] = dict(entry.attributes)
    view["fraud"] = {"score": entry.fraud.score, "status": entry.fraud.status} if entry.fraud else None
    view["fanscore"] = entry.fanscore
    view["origin"] = (
        {"ip": entry.origin.ip, "userAgent": entry.origin.user_agent}
        if entry.origin
        else {"ip": None, "userAgent": None}
    )
    return view


def _base(entry: Entry, campaign: Campaign | None, codes: list[dict[str, Any]]) -> dict[str, Any]:
    ppc = bool(campaign and campaign.needs_phone_confirmation)
    return {
        "campaignId": entry.campaign_id,
        "userId": entry.user_id,
        "fields": dict(entry.fields),
        "markets": list(entry.markets),
        "locale": entry.locale,
        "code": entry.code,
        "link": entry.link,
        "referrer": {"code": entry.referrer.code} if entry.referrer else None,
        "phoneConfirmed": entry.phone_confirmed,
        "needsPhoneConfirmation": ppc and not entry.phone_confirmed,
        "dateCreated": iso(entry.date_created),
        "dateUpdated": iso(entry.date_updated),
        "datePhoneConfirmed": iso(entry.date_phone_confirmed),
        "dateReceipt": iso(entry.date_receipt),
        "presaleCode": codes[0]["code"] if codes else None,
        "codes": codes,
    }
