"""Shared unit-test world: the Registrations use case wired to the in-memory fakes of tests/fakes.py."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.model import Campaign, Entry, Origin, UserAccount
from entrycore.usecases.registrations import Registrations, Submission
from tests.builders import VALID_FIELDS, campaign
from tests.fakes import (
    FakeCampaignSource,
    FakeClock,
    FakeEntryStore,
    FakeIds,
    FakeInviteStore,
    FakeUserSource,
)


@attrs.define
class World:
    """The fakes behind one Registrations service, plus short ways to act on and inspect them."""

    campaigns: FakeCampaignSource = attrs.field(factory=FakeCampaignSource)
    users: FakeUserSource = attrs.field(factory=FakeUserSource)
    entries: FakeEntryStore = attrs.field(factory=FakeEntryStore)
    invites: FakeInviteStore = attrs.field(factory=FakeInviteStore)
    clock: FakeClock = attrs.field(factory=FakeClock)
    ids: FakeIds = attrs.field(factory=FakeIds)

    @property
    def registrations(self) -> Registrations:
        return Registrations(
            campaigns=self.campaigns,
            users=self.users,
            entries=self.entries,
            invites=self.invites,
            clock=self.clock,
            ids=self.ids,
        )

    def add_campaign(self, **overrides: Any) -> Campaign:
        """A campaign built from tests/builders.BASE_CAMPAIGN with ``overrides``, known to the source."""
        built = campaign(**overrides)
        self.campaigns.campaigns[built.id] = built
        return built

    def add_account(self, user_id: str, **values: Any) -> UserAccount:
        account = UserAccount(id=user_id, **values)
        self.users.accounts[user_id] = account
        return account

    def register(
        self,
        user_id: str = "u1",
        fields: Mapping[str, Any] | None = None,
        campaign_id: str = "c1",
        *,
        locale: str | None = None,
        referral_code: str | None = None,
        invite_code: str | None = None,
        origin: Origin | None = None,
    ) -> tuple[Entry, bool]:
        submission = Submission(
            fields=dict(VALID_FIELDS if fields is None else fields),
            locale=locale,
            referral_code=referral_code,
            invite_code=invite_code,
        )
        registered = self.registrations.register(Caller(user_id, origin=origin), campaign_id, submission)
        return registered.entry, registered.is_new

    def stored(self, user_id: str = "u1", campaign_id: str = "c1") -> Entry:
        """The stored entry, which must exist."""
        entry = self.entries.get(campaign_id, user_id)
        assert entry is not None, (campaign_id, user_id)
        return entry

    def snapshot(self) -> dict[tuple[str, str], dict[str, Any]]:
        """A deep copy of every stored document, to prove that nothing changed."""
        return copy.deepcopy(self.entries.docs)

    def confirm_in_store(self, user_id: str, campaign_id: str = "c1") -> None:
        """Marks a stored entry phone-confirmed directly (the confirmation use case is not tested here)."""
        doc = self.entries.docs[(campaign_id, user_id)]
        doc["phoneConfirmed"] = True
        doc["datePhoneConfirmed"] = doc["dateUpdated"]


@attrs.define
class StaleFirstRead(FakeEntryStore):
    """An entry store whose first ``stale_reads`` reads miss: they happened before a concurrent create."""

    stale_reads: int = 0

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        if self.stale_reads:
            self.stale_reads -= 1
            return None
        return super().get(campaign_id, user_id)


def fields_with(**changes: Any) -> dict[str, Any]:
    """VALID_FIELDS with ``changes`` applied; a value of ``...`` drops the key."""
    values = dict(VALID_FIELDS)
    for key, value in changes.items():
        if value is ...:
            values.pop(key, None)
        else:
            values[key] = value
    return values


@pytest.fixture
def world() -> World:
    """A world with the base campaign ``c1`` (OPEN, no gates, PPC off)."""
    w = World()
    w.add_campaign()
    return w
