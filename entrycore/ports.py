"""Ports: what the domain needs from the outside world, as typing.Protocols named by role."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from entrycore.model import Campaign, Entry, UserAccount


class Clock(Protocol):
    def now(self) -> datetime:
        """The current moment, timezone-aware UTC."""
        ...


class Ids(Protocol):
    def referral_code(self) -> str:
        """A new random referral code (uniqueness is enforced by the EntryStore)."""
        ...


class CampaignSource(Protocol):
    def get(self, campaign_id: str, authorization: str | None = None) -> Campaign | None:
        """The campaign, or None when unknown; raises DependencyUnavailable when the source fails."""
        ...

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        """Every campaign the source knows; raises DependencyUnavailable when the source fails."""
        ...


class UserSource(Protocol):
    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        """The fan's account; an empty account when unknown; raises DependencyUnavailable on failure."""
        ...


class EntryStore(Protocol):
    def ping(self) -> None:
        """Returns when the datastore answers; raises DependencyUnavailable otherwise."""
        ...

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        """The fan's entry in the campaign, or None."""
        ...

    def create(self, entry: Entry) -> None:
        """Stores a new entry atomically. Raises EntryExists when (campaign, user) is taken,
        ReferralCodeTaken when its code is used in the campaign, PhoneTaken when it is phone-confirmed
        with a phone another entry of the campaign has confirmed. Nothing is stored when it raises."""
        ...

    def replace(self, entry: Entry, expected_version: int) -> None:
        """Replaces the stored entry if its version is still ``expected_version``; raises StaleEntry
        otherwise, PhoneTaken as ``create``. Nothing changes when it raises."""
        ...

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        """The entry of the campaign whose referral code is ``code``, or None."""
        ...

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        """The user id of the entry of the campaign that has ``phone`` confirmed, or None."""
        ...

    def entries_of_user(self, user_id: str) -> list[Entry]:
        """Every entry of the fan across campaigns, newest first."""
        ...


class InviteStore(Protocol):
    def add(self, campaign_id: str, values: Iterable[str]) -> int:
        """Adds invite values (already normalised); returns how many were not present before."""
        ...

    def contains(self, campaign_id: str, value: str) -> bool:
        """Whether ``value`` (already normalised) is on the campaign's invite list."""
        ...
