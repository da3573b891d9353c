"""A fan's account as user-service describes it (API.md §7): identity, phone, linked accounts, cards, fanscore."""

from __future__ import annotations

import attrs


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
