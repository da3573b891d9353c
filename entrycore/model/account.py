"""A fan's account as user-service describes it (API.md §7): identity, phone, linked accounts, cards, fanscore."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from entrycore.model.documents import DocumentError, optional, required


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
        return cls(
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
