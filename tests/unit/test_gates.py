"""Registration gates and eligibility (SPEC GATE-001…004)."""

from __future__ import annotations

from typing import Any

import pytest

from entrycore.caller import Caller
from entrycore.errors import CampaignNotOpen, GateFailed, NoCard, NoInvite, NotLinked
from entrycore.gates import check_gates
from entrycore.model import Card, UserAccount
from entrycore.usecases.invites import Invites
from tests.builders import campaign
from tests.unit.conftest import World, fields_with

ADMIN = Caller("admin", is_supreme=True)
VISA = Card(brand="VISA", issuer="CHASE", verified=True, active=True)


def invite(world: World, *values: str, campaign_id: str = "c1") -> None:
    Invites(campaigns=world.campaigns, invites=world.invites).add(ADMIN, campaign_id, values)


def eligibility(world: World, user_id: str = "u1", invite_code: str | None = None) -> tuple[bool, str | None]:
    return world.registrations.registration_eligibility(Caller(user_id), "c1", invite_code)


def assert_refused(world: World, error: type[GateFailed], user_id: str = "u1", invite_code: str | None = None) -> None:
    """A create and the eligibility question both refuse the fan with the same reason; nothing is stored."""
    before = world.snapshot()
    with pytest.raises(error) as raised:
        world.register(user_id, invite_code=invite_code)
    assert eligibility(world, user_id, invite_code) == (False, raised.value.code)
    assert world.snapshot() == before


def assert_admitted(world: World, user_id: str = "u1", invite_code: str | None = None) -> dict[str, Any]:
    assert eligibility(world, user_id, invite_code) == (True, None)
    entry, is_new = world.register(user_id, invite_code=invite_code)
    assert is_new
    return dict(entry.attributes)


# GATE-002: inviteOnly ----------------------------------------------------------------------------


def test_GATE_002_invite_by_code(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "code"})
    invite(world, " VIP-001 ")

    assert assert_admitted(world, "u1", "VIP-001") == {"invite": "VIP-001"}
    assert assert_admitted(world, "u2", "  VIP-001\t") == {"invite": "VIP-001"}  # trimmed
    assert assert_admitted(world, "u3", "VIP-001") == {"invite": "VIP-001"}  # a code admits any number of fans


@pytest.mark.parametrize("code", [None, "", "  ", "VIP-002", "VIP-0011", "VIP"])
def test_GATE_002_invite_by_code_refused(world: World, code: str | None) -> None:
    world.add_campaign(gate={"inviteOnly": "code"})
    invite(world, "VIP-001")
    world.add_account("u1", email="VIP-001", global_user_id="VIP-001", member_id="VIP-001")
    assert_refused(world, NoInvite, invite_code=code)


def test_GATE_002_invite_codes_belong_to_their_campaign(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "code"})
    world.add_campaign(id="c2", gate={"inviteOnly": "code"})  # invite-only too: its list is its own
    invite(world, "VIP-001", campaign_id="c2")
    assert_refused(world, NoInvite, invite_code="VIP-001")


@pytest.mark.parametrize(
    ("invited", "account_email"),
    [
        ("fan@example.com", "fan@example.com"),
        ("Fan@Example.COM", "fan@example.com"),
        ("fan@example.com", "  FAN@Example.com "),
        (" FAN@EXAMPLE.COM ", "Fan@example.com"),
    ],
)
def test_GATE_002_invite_by_email_trimmed_and_case_insensitive(world: World, invited: str, account_email: str) -> None:
    world.add_campaign(gate={"inviteOnly": "email"})
    invite(world, invited)
    world.add_account("u1", email=account_email)

    assert assert_admitted(world) == {"invite": "fan@example.com"}


def test_GATE_002_invite_by_email_refused(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "email"})
    invite(world, "fan@example.com")

    assert_refused(world, NoInvite, "ghost")  # no account: only code invites can pass
    assert_refused(world, NoInvite, "ghost", invite_code="fan@example.com")  # a presented code is not the email
    world.add_account("u1", email="other@example.com")
    assert_refused(world, NoInvite, "u1")
    world.add_account("u2")
    assert_refused(world, NoInvite, "u2")


def test_GATE_002_invite_email_is_the_accounts_not_the_typed_one(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "email"})
    invite(world, "ana@example.com")  # the email VALID_FIELDS types
    world.add_account("u1", email="other@example.com")
    assert_refused(world, NoInvite)


@pytest.mark.parametrize(("gate", "attribute"), [("globalUserId", "global_user_id"), ("memberId", "member_id")])
def test_GATE_002_invite_by_account_id_exactly(world: World, gate: str, attribute: str) -> None:
    world.add_campaign(gate={"inviteOnly": gate})
    invite(world, "Id-42")
    world.add_account("u1", **{attribute: "Id-42"})
    world.add_account("u2", **{attribute: "id-42"})
    world.add_account("u3", **{attribute: "Id-43"})

    assert assert_admitted(world, "u1") == {"invite": "Id-42"}
    assert_refused(world, NoInvite, "u2")  # exactly: case matters
    assert_refused(world, NoInvite, "u3")
    assert_refused(world, NoInvite, "ghost")  # no account
    assert_refused(world, NoInvite, "ghost", invite_code="Id-42")  # a presented code does not stand in


@pytest.mark.parametrize(
    ("gate", "linked", "stored"),
    [
        ("SPOTIFY", ("SPOTIFY",), "SPOTIFY"),
        ("SPOTIFY", ("spotify",), "spotify"),
        ("Verizon", ("CITI", "VERIZON"), "VERIZON"),
        ("citi", ("Citi",), "Citi"),
    ],
)
def test_GATE_002_linked_account_case_insensitive(
    world: World, gate: str, linked: tuple[str, ...], stored: str
) -> None:
    world.add_campaign(gate={"linkedAccount": gate})
    world.add_account("u1", linked_accounts=linked)
    assert assert_admitted(world) == {"linkedAccount": stored}


@pytest.mark.parametrize("linked", [(), ("CITI",), ("SPOTIFY-FREE",)])
def test_GATE_002_linked_account_refused(world: World, linked: tuple[str, ...]) -> None:
    world.add_campaign(gate={"linkedAccount": "SPOTIFY"})
    world.add_account("u1", linked_accounts=linked)
    assert_refused(world, NotLinked)
    assert_refused(world, NotLinked, "ghost")


@pytest.mark.parametrize(
    ("gate", "cards", "stored"),
    [
        ("VISA", (VISA,), {"brand": "VISA", "issuer": "CHASE"}),
        ("visa", (VISA,), {"brand": "VISA", "issuer": "CHASE"}),
        ("CHASE", (VISA,), {"brand": "VISA", "issuer": "CHASE"}),  # by issuer
        ("AMEX", (Card("Amex", "amex", True, True),), {"brand": "Amex", "issuer": "amex"}),
        (
            "CAPITALONE",
            (Card("MASTERCARD", "CapitalOne", True, True),),
            {"brand": "MASTERCARD", "issuer": "CapitalOne"},
        ),
        ("ANY", (Card("DISCOVER", None, True, True),), {"brand": "DISCOVER", "issuer": None}),
        ("any", (Card(None, "SOMEBANK", True, True),), {"brand": None, "issuer": "SOMEBANK"}),
        # the first card that passes is the one recorded; inactive or unverified ones are skipped
        (
            "VISA",
            (Card("VISA", "A", False, True), Card("VISA", "B", True, False), Card("VISA", "C", True, True)),
            {"brand": "VISA", "issuer": "C"},
        ),
        ("ANY", (Card("VISA", "A", True, False), VISA), {"brand": "VISA", "issuer": "CHASE"}),
    ],
)
def test_GATE_002_card_gate_admits(world: World, gate: str, cards: tuple[Card, ...], stored: dict[str, Any]) -> None:
    world.add_campaign(gate={"card": gate})
    world.add_account("u1", cards=cards)
    assert assert_admitted(world) == {"card": stored}


@pytest.mark.parametrize(
    ("gate", "cards"),
    [
        ("VISA", ()),
        ("ANY", ()),
        ("VISA", (Card("VISA", "CHASE", verified=True, active=False),)),  # inactive
        ("VISA", (Card("VISA", "CHASE", verified=False, active=True),)),  # unverified
        ("ANY", (Card("VISA", "CHASE", verified=False, active=True), Card("AMEX", "AMEX", True, False))),
        ("AMEX", (VISA,)),
        ("VIS", (VISA,)),  # names are matched whole
        ("VISA", (Card(None, None, True, True),)),
    ],
)
def test_GATE_002_card_gate_refuses(world: World, gate: str, cards: tuple[Card, ...]) -> None:
    world.add_campaign(gate={"card": gate})
    world.add_account("u1", cards=cards)
    assert_refused(world, NoCard)


def test_GATE_002_no_gates_admit_everyone_with_no_attributes(world: World) -> None:
    assert assert_admitted(world, "ghost") == {}


# GATE-002: order of failures ---------------------------------------------------------------------

ALL_GATES = {"inviteOnly": "code", "linkedAccount": "SPOTIFY", "card": "VISA"}


@pytest.mark.parametrize(
    ("code", "linked", "cards", "error"),
    [
        (None, (), (), NoInvite),
        (None, ("SPOTIFY",), (VISA,), NoInvite),
        (None, (), (VISA,), NoInvite),
        ("VIP", (), (), NotLinked),
        ("VIP", (), (VISA,), NotLinked),
        ("VIP", ("SPOTIFY",), (), NoCard),
    ],
)
def test_GATE_002_first_failure_in_order_invite_linked_card(
    world: World, code: str | None, linked: tuple[str, ...], cards: tuple[Card, ...], error: type[GateFailed]
) -> None:
    world.add_campaign(gate=ALL_GATES)
    invite(world, "VIP")
    world.add_account("u1", linked_accounts=linked, cards=cards)
    assert_refused(world, error, invite_code=code)


def test_GATE_002_gates_run_before_field_rules(world: World) -> None:
    world.add_campaign(gate={"card": "VISA"})
    with pytest.raises(NoCard):
        world.register("u1", {"score": 1})


@pytest.mark.parametrize(("error", "code"), [(NoInvite, "NO_INVITE"), (NotLinked, "NOT_LINKED"), (NoCard, "NO_CARD")])
def test_GATE_002_gate_error_codes(error: type[GateFailed], code: str) -> None:
    assert error.code == code
    assert issubclass(error, GateFailed)


def test_GATE_002_check_gates_pure_function() -> None:
    camp = campaign(gate=ALL_GATES)
    account = UserAccount(id="u1", linked_accounts=("spotify",), cards=(VISA,))

    with pytest.raises(NoInvite):
        check_gates(camp, account, "VIP", lambda value: False)
    seen: list[str] = []

    def is_invited(value: str) -> bool:
        seen.append(value)
        return True

    attributes = check_gates(camp, account, " VIP ", is_invited)

    assert seen == ["VIP"]
    assert attributes == {
        "invite": "VIP",
        "linkedAccount": "spotify",
        "card": {"brand": "VISA", "issuer": "CHASE"},
    }


# GATE-001 ----------------------------------------------------------------------------------------


def test_GATE_001_existing_entry_updates_without_gates(world: World) -> None:
    world.add_campaign(gate=ALL_GATES)
    invite(world, "VIP")
    world.add_account("u1", linked_accounts=("SPOTIFY",), cards=(VISA,))
    world.register("u1", invite_code="VIP")
    world.add_account("u1")  # the account lost its link and card since

    entry, is_new = world.register("u1", fields_with(first_name="Bea"))

    assert not is_new
    assert entry.first_name == "Bea"
    assert eligibility(world) == (True, None)


def test_GATE_001_existing_entry_still_needs_an_open_campaign(world: World) -> None:
    world.register("u1")
    world.add_campaign(status="CLOSED", gate=ALL_GATES)

    with pytest.raises(CampaignNotOpen):
        world.register("u1", fields_with(first_name="Bea"))
    assert eligibility(world) == (False, "CAMPAIGN_NOT_OPEN")


def test_GATE_001_gates_added_after_registration_do_not_bind_existing_entries(world: World) -> None:
    world.register("u1")
    world.add_campaign(gate=ALL_GATES)

    assert eligibility(world) == (True, None)
    assert eligibility(world, "u2") == (False, "NO_INVITE")
    entry, is_new = world.register("u1", {"zip": "10001"})
    assert not is_new
    assert entry.attributes == {}


# GATE-003 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["DRAFT", "PREVIEW", "CLOSED", "INACTIVE"])
def test_GATE_003_eligibility_checks_status_first(world: World, status: str) -> None:
    world.add_campaign(status=status, gate=ALL_GATES)
    assert eligibility(world) == (False, "CAMPAIGN_NOT_OPEN")


def test_GATE_003_eligibility_has_no_side_effects(world: World) -> None:
    world.add_campaign(gate=ALL_GATES)
    invite(world, "VIP")
    world.add_account("u1", linked_accounts=("SPOTIFY",), cards=(VISA,))
    invites_before = {k: set(v) for k, v in world.invites.values.items()}
    ids_before = world.ids.counter

    assert eligibility(world, invite_code="VIP") == (True, None)
    assert eligibility(world, invite_code="NOPE") == (False, "NO_INVITE")

    assert world.entries.docs == {}
    assert world.invites.values == invites_before
    assert world.ids.counter == ids_before


def test_GATE_003_eligibility_matches_what_a_create_does(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "code"})
    invite(world, "VIP")

    assert eligibility(world, invite_code="VIP") == (True, None)
    world.register("u1", invite_code="VIP")
    assert eligibility(world, invite_code=None) == (True, None)  # has an entry now (GATE-001)
    assert eligibility(world, "u2", invite_code=None) == (False, "NO_INVITE")


# GATE-004 ----------------------------------------------------------------------------------------


def test_GATE_004_gate_attributes_are_stored_on_the_entry(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "email", "linkedAccount": "verizon", "card": "capitalone"})
    invite(world, "fan@example.com")
    world.add_account(
        "u1",
        email="Fan@Example.com",
        linked_accounts=("SPOTIFY", "Verizon"),
        cards=(VISA, Card("MASTERCARD", "CAPITALONE", True, True)),
    )

    entry, _ = world.register("u1")

    expected = {
        "invite": "fan@example.com",
        "linkedAccount": "Verizon",
        "card": {"brand": "MASTERCARD", "issuer": "CAPITALONE"},
    }
    assert entry.attributes == expected
    assert world.stored().attributes == expected
    assert world.entries.docs[("c1", "u1")]["attributes"] == expected


def test_GATE_004_attributes_are_kept_on_update(world: World) -> None:
    world.add_campaign(gate={"inviteOnly": "code"})
    invite(world, "VIP")
    world.register("u1", invite_code="VIP")

    entry, _ = world.register("u1", {"zip": "10001"}, invite_code="OTHER")

    assert entry.attributes == {"invite": "VIP"}
