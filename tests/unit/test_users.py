"""A fan's entries across campaigns, and who may add invites (SPEC USR-001, AUTH-002)."""

from __future__ import annotations

import pytest

from entrycore.caller import Caller
from entrycore.errors import BadRequest, CampaignNotFound, Forbidden
from entrycore.usecases.invites import Invites
from tests.unit.conftest import World

# USR-001 -----------------------------------------------------------------------------------------


def three_entries(world: World) -> None:
    """u1 registers in c2, then c1, then c3, a minute apart; u2 registers in c1."""
    world.add_campaign(id="c2")
    world.add_campaign(id="c3")
    for campaign_id in ("c2", "c1", "c3"):
        world.register("u1", campaign_id=campaign_id)
        world.clock.advance(minutes=1)
    world.register("u2")


def test_USR_001_fan_sees_own_entries_newest_first(world: World) -> None:
    three_entries(world)

    entries = world.registrations.entries_of_user(Caller("u1"), "u1")

    assert [e.entry.campaign_id for e in entries] == ["c3", "c1", "c2"]
    assert {e.entry.user_id for e in entries} == {"u1"}


def test_USR_001_newest_first_by_creation_not_by_update(world: World) -> None:
    three_entries(world)
    world.register("u1", {"zip": "10001"}, campaign_id="c2")  # updating an old entry does not move it

    entries = world.registrations.entries_of_user(Caller("u1"), "u1")

    assert [e.entry.campaign_id for e in entries] == ["c3", "c1", "c2"]


def test_USR_001_supreme_sees_anyones_entries(world: World) -> None:
    three_entries(world)

    entries = world.registrations.entries_of_user(Caller("admin", is_supreme=True), "u1")

    assert [e.entry.campaign_id for e in entries] == ["c3", "c1", "c2"]


def test_USR_001_each_entry_comes_with_its_campaign_even_one_the_source_no_longer_knows(world: World) -> None:
    three_entries(world)
    del world.campaigns.campaigns["c1"]  # the campaign is gone from the source; the fan's entry is still theirs

    entries = world.registrations.entries_of_user(Caller("u1"), "u1")

    assert [(e.entry.campaign_id, e.campaign and e.campaign.id) for e in entries] == [
        ("c3", "c3"),
        ("c1", None),
        ("c2", "c2"),
    ]
    assert {e.as_of for e in entries} == {world.clock.now()}  # which codes are revealed is judged then


def test_USR_001_fan_without_entries_gets_an_empty_list(world: World) -> None:
    assert world.registrations.entries_of_user(Caller("u9"), "u9") == []


@pytest.mark.parametrize("caller", [Caller("u2"), Caller("u2", is_supreme=False), Caller("U1"), Caller("")])
def test_USR_001_other_fans_are_forbidden(world: World, caller: Caller) -> None:
    three_entries(world)
    with pytest.raises(Forbidden) as raised:
        world.registrations.entries_of_user(caller, "u1")
    assert raised.value.code == "FORBIDDEN"


# AUTH-002: Invites.add ---------------------------------------------------------------------------


def invites(world: World) -> Invites:
    return Invites(campaigns=world.campaigns, invites=world.invites)


@pytest.mark.parametrize("caller", [Caller("u1"), Caller("admin"), Caller("admin", is_supreme=False)])
def test_AUTH_002_non_supreme_cannot_add_invites(world: World, caller: Caller) -> None:
    with pytest.raises(Forbidden) as raised:
        invites(world).add(caller, "c1", ["VIP"])
    assert raised.value.code == "FORBIDDEN"
    assert world.invites.values == {}


def test_AUTH_002_role_is_checked_before_the_campaign(world: World) -> None:
    with pytest.raises(Forbidden):
        invites(world).add(Caller("u1"), "nope", ["VIP"])


def test_AUTH_002_supreme_adds_normalised_invites_and_counts_new_ones(world: World) -> None:
    admin = Caller("admin", is_supreme=True)
    world.add_campaign(id="vip", gate={"inviteOnly": "code"})

    assert invites(world).add(admin, "vip", [" VIP ", "Fan@Example.com", "g-1", "  ", ""]) == 3
    assert invites(world).add(admin, "vip", ["VIP", "fan@example.com", "m-1"]) == 1
    assert invites(world).add(admin, "vip", []) == 0

    assert world.invites.values == {"vip": {"VIP", "fan@example.com", "g-1", "m-1"}}


def test_SCR_002_invites_for_a_campaign_that_is_not_invite_only_are_a_bad_request(world: World) -> None:
    with pytest.raises(BadRequest) as raised:
        invites(world).add(Caller("admin", is_supreme=True), "c1", ["VIP"])
    assert raised.value.payload == {
        "errors": [{"path": "$.invites", "message": "campaign c1 is not invite-only: it never reads invites"}]
    }
    assert world.invites.values == {}


def test_AUTH_002_supreme_adding_invites_to_an_unknown_campaign_is_not_found(world: World) -> None:
    with pytest.raises(CampaignNotFound):
        invites(world).add(Caller("admin", is_supreme=True), "nope", ["VIP"])
    assert world.invites.values == {}
