"""Entries: identity, campaign status, timestamps, origin and the fan's own data
(SPEC ENT-001/002/003/010/011)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from entrycore.caller import Caller
from entrycore.errors import CampaignNotFound, CampaignNotOpen, EntryNotFound, MissingFields
from entrycore.model import Origin
from tests.unit.conftest import StaleFirstRead, World, fields_with

NOT_OPEN = ["DRAFT", "PREVIEW", "CLOSED", "INACTIVE"]
ALL_STATUSES = ["OPEN", *NOT_OPEN]


# ENT-001 ----------------------------------------------------------------------------------------


def test_ENT_001_second_register_updates_the_same_entry(world: World) -> None:
    first, first_is_new = world.register("u1")
    second, second_is_new = world.register("u1", fields_with(first_name="Anabel"))

    assert (first_is_new, second_is_new) == (True, False)
    assert len(world.entries.docs) == 1
    assert (second.campaign_id, second.user_id, second.code) == ("c1", "u1", first.code)
    assert world.stored().first_name == "Anabel"


def test_ENT_001_entries_are_keyed_by_campaign_and_user(world: World) -> None:
    world.add_campaign(id="c2")
    world.register("u1")
    world.register("u2")
    world.register("u1", campaign_id="c2")

    assert set(world.entries.docs) == {("c1", "u1"), ("c1", "u2"), ("c2", "u1")}


def test_ENT_001_a_lost_create_race_becomes_an_update(world: World) -> None:
    """The entry was created by a concurrent request after this one read the store: it becomes an update."""
    world.register("u1", fields_with(first_name="First"))
    racing = StaleFirstRead(docs=world.entries.docs, stale_reads=1)
    world.entries = racing

    entry, is_new = world.register("u1", fields_with(first_name="Second"))

    assert is_new is False
    assert entry.first_name == "Second"
    assert entry.code == "CODE0001"
    assert len(racing.docs) == 1


# ENT-002 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", NOT_OPEN)
def test_ENT_002_create_only_while_open(world: World, status: str) -> None:
    world.add_campaign(status=status)

    with pytest.raises(CampaignNotOpen) as raised:
        world.register("u1")

    assert raised.value.code == "CAMPAIGN_NOT_OPEN"
    assert world.entries.docs == {}


@pytest.mark.parametrize("status", NOT_OPEN)
def test_ENT_002_update_only_while_open(world: World, status: str) -> None:
    world.register("u1")
    before = world.snapshot()
    world.add_campaign(status=status)

    with pytest.raises(CampaignNotOpen):
        world.register("u1", fields_with(first_name="Changed"))

    assert world.snapshot() == before


@pytest.mark.parametrize("status", NOT_OPEN)
def test_ENT_002_status_is_checked_before_any_entry_rule(world: World, status: str) -> None:
    world.add_campaign(status=status, gate={"card": "VISA"})

    with pytest.raises(CampaignNotOpen):
        world.register("u1", {"score": 99})  # would fail gates, names and missing fields


def test_ENT_002_unknown_campaign_is_not_found_before_any_entry_rule(world: World) -> None:
    with pytest.raises(CampaignNotFound) as raised:
        world.register("u1", {"phoneConfirmed": True}, campaign_id="nope")
    assert raised.value.code == "CAMPAIGN_NOT_FOUND"

    with pytest.raises(CampaignNotFound):
        world.registrations.get_entry(Caller("u1"), "nope")
    with pytest.raises(CampaignNotFound):
        world.registrations.registration_eligibility(Caller("u1"), "nope")
    assert world.entries.docs == {}


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_ENT_002_reads_work_in_every_status(world: World, status: str) -> None:
    created, _ = world.register("u1")
    world.add_campaign(status=status)

    campaign = world.campaigns.get("c1", None)
    read = world.registrations.get_entry(Caller("u1"), "c1")
    assert (read.entry, read.campaign) == (created, campaign)
    assert [(e.entry, e.campaign) for e in world.registrations.entries_of_user(Caller("u1"), "u1")] == [
        (created, campaign)
    ]


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_ENT_002_reading_a_missing_entry_is_entry_not_found(world: World, status: str) -> None:
    world.add_campaign(status=status)
    with pytest.raises(EntryNotFound) as raised:
        world.registrations.get_entry(Caller("u1"), "c1")
    assert raised.value.code == "ENTRY_NOT_FOUND"


# ENT-003 ----------------------------------------------------------------------------------------


def test_ENT_003_date_created_set_once_date_updated_changes(world: World) -> None:
    created, _ = world.register("u1")
    assert created.date_created == created.date_updated == world.clock.current

    world.clock.advance(minutes=5)
    updated, _ = world.register("u1", fields_with(first_name="Bea"))
    world.clock.advance(seconds=1)
    again, _ = world.register("u1", {"zip": "10001"})

    assert updated.date_created == again.date_created == created.date_created
    assert updated.date_updated == created.date_created + timedelta(minutes=5)
    assert again.date_updated == updated.date_updated + timedelta(seconds=1)
    assert world.stored() == again


def test_ENT_003_timestamps_are_utc_with_millisecond_precision(world: World) -> None:
    world.clock.current = datetime(2026, 11, 27, 7, 0, 0, 123987, tzinfo=timezone(timedelta(hours=-5)))

    entry, _ = world.register("u1")

    assert entry.date_created == datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=UTC)
    assert entry.date_created.utcoffset() == timedelta(0)
    assert world.entries.docs[("c1", "u1")]["dateCreated"] == "2026-11-27T12:00:00.123Z"
    assert world.entries.docs[("c1", "u1")]["dateUpdated"] == "2026-11-27T12:00:00.123Z"


def test_ENT_003_a_failed_update_changes_no_timestamp(world: World) -> None:
    world.register("u1")
    before = world.snapshot()
    world.clock.advance(minutes=1)

    with pytest.raises(MissingFields):
        world.register("u1", {"email": None})

    assert world.snapshot() == before


# ENT-010 ----------------------------------------------------------------------------------------


def test_ENT_010_origin_is_kept_on_the_entry(world: World) -> None:
    origin = Origin(ip="203.0.113.9", user_agent="Mozilla/5.0")

    entry, _ = world.register("u1", origin=origin)

    assert entry.origin == origin
    assert world.stored().origin == origin
    assert world.entries.docs[("c1", "u1")]["origin"] == {"ip": "203.0.113.9", "userAgent": "Mozilla/5.0"}


def test_ENT_010_an_update_records_the_latest_origin(world: World) -> None:
    world.register("u1", origin=Origin(ip="203.0.113.9", user_agent="A"))

    updated, _ = world.register("u1", origin=Origin(ip="198.51.100.7", user_agent="B"))

    assert world.stored().origin == updated.origin == Origin(ip="198.51.100.7", user_agent="B")


# ENT-011 ----------------------------------------------------------------------------------------


def test_ENT_011_entry_data_is_what_the_fan_typed_not_the_account(world: World) -> None:
    world.add_account(
        "u1",
        email="account@example.org",
        first_name="Acc",
        last_name="Ount",
        phone="+13105550199",
        phone_verified=True,
    )

    entry, _ = world.register("u1", fields_with(last_name=" Lee "))

    assert entry.email == "ana@example.com"
    assert entry.phone == "+12125550123"
    assert (entry.first_name, entry.last_name) == ("Ana", "Lee")
    assert world.stored() == entry


def test_ENT_011_an_update_never_pulls_data_from_the_account(world: World) -> None:
    world.register("u1")
    world.add_account("u1", email="account@example.org", first_name="Acc", phone="+13105550199")

    entry, _ = world.register("u1", {"zip": "10001"})

    assert (entry.email, entry.phone, entry.first_name, entry.last_name) == (
        "ana@example.com",
        "+12125550123",
        "Ana",
        None,
    )


def test_ENT_011_email_and_phone_come_from_the_first_preference_of_their_type(world: World) -> None:
    world.add_campaign(
        id="c2",
        preferences=[
            {"id": "contact", "type": "email"},
            {"id": "other_email", "type": "email", "is_optional": True},
            {"id": "mobile", "type": "phone"},
            {"id": "landline", "type": "phone", "is_optional": True},
        ],
    )

    entry, _ = world.register(
        "u1",
        {
            "contact": "first@example.com",
            "other_email": "second@example.com",
            "mobile": "2125550123",
            "landline": "2125550124",
        },
        campaign_id="c2",
    )

    assert (entry.email, entry.phone) == ("first@example.com", "+12125550123")
    assert (entry.first_name, entry.last_name) == (None, None)


def test_ENT_011_campaign_without_email_or_phone_gives_none_even_with_an_account(world: World) -> None:
    world.add_account("u1", email="account@example.org", phone="+13105550199", phone_verified=True)
    world.add_campaign(id="c2", preferences=[{"id": "first_name", "type": "name"}])

    entry, _ = world.register("u1", {"first_name": "Ana"}, campaign_id="c2")

    assert (entry.email, entry.phone, entry.first_name) == (None, None, "Ana")


def test_ENT_011_unknown_fan_has_an_empty_account_not_an_error(world: World) -> None:
    assert world.users.accounts == {}
    account = world.users.get("ghost")
    assert account.id == "ghost"
    assert (account.email, account.phone, account.linked_accounts, account.cards, account.fanscore) == (
        None,
        None,
        (),
        (),
        None,
    )

    entry, is_new = world.register("ghost")

    assert is_new
    assert entry.email == "ana@example.com"


def test_ENT_011_empty_account_passes_no_gate_but_a_code_invite(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "code"})
    world.invites.add("c1", ["VIP-1"])

    entry, _ = world.register("ghost", invite_code="VIP-1")

    assert entry.attributes == {"invite": "VIP-1"}
