"""Registration gates of a new entry: invite, linked account, card (SPEC GATE-002, GATE-004)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from entrycore.errors import NoCard, NoInvite, NotLinked
from entrycore.model import Campaign, UserAccount


def normalize_invite(value: str) -> str:
    """How invite values are kept and compared: trimmed; email-like values lower-cased."""
    value = value.strip()
    return value.lower() if "@" in value else value


def invite_candidate(match: str, account: UserAccount, invite_code: str | None) -> str | None:
    """The value of the fan that the campaign's invite list is searched for, if any."""
    raw = {
        "code": invite_code,
        "email": account.email,
        "globalUserId": account.global_user_id,
        "memberId": account.member_id,
    }.get(match)
    if raw is None or not raw.strip():
        return None
    return normalize_invite(raw) if match in ("code", "email") else raw


def check_gates(
    campaign: Campaign,
    account: UserAccount,
    invite_code: str | None,
    is_invited: Callable[[str], bool],
) -> dict[str, Any]:
    """Raises the first failing gate in the order invite, linked account, card; returns the attributes
    that let the fan in (stored on the entry, GATE-004)."""
    gates = campaign.gates
    attributes: dict[str, Any] = {}
    if gates.invite_only:
        candidate = invite_candidate(gates.invite_only, account, invite_code)
        if candidate is None or not is_invited(candidate):
            raise NoInvite()
        attributes["invite"] = candidate
    if gates.linked_account:
        wanted = gates.linked_account.casefold()
        linked = next((a for a in account.linked_accounts if a.casefold() == wanted), None)
        if linked is None:
            raise NotLinked()
        attributes["linkedAccount"] = linked
    if gates.card:
        wanted = gates.card.casefold()
        card = next(
            (
                c
                for c in account.cards
                if c.active
                and c.verified
                and (wanted == "any" or wanted in ((c.brand or "").casefold(), (c.issuer or "").casefold()))
            ),
            None,
        )
        if card is None:
            raise NoCard()
        attributes["card"] = {"brand": card.brand, "issuer": card.issuer}
    return attributes
