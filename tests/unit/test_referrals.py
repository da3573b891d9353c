"""Referral codes, share links and referrals (SPEC ENT-008, ENT-009)."""

from __future__ import annotations

import inspect
import time
from collections import Counter

import pytest

from entrycore.errors import InvalidField, InvalidReferral
from entrycore.model import Referrer
from entrycore.referrals import ALPHABET, CODE_LENGTH, new_code, share_link
from entrycore.system import RandomIds
from tests.builders import campaign
from tests.unit.conftest import StaleFirstRead, World, fields_with

# ENT-008 -----------------------------------------------------------------------------------------


def test_ENT_008_each_entry_gets_its_own_code_from_the_ids_port(world: World) -> None:
    world.ids.codes = ["K3J9QXAB", "ZZ12ABCD"]

    first, _ = world.register("u1")
    second, _ = world.register("u2")

    assert (first.code, second.code) == ("K3J9QXAB", "ZZ12ABCD")
    assert world.entries.docs[("c1", "u1")]["code"] == "K3J9QXAB"


def test_ENT_008_code_is_kept_on_update(world: World) -> None:
    created, _ = world.register("u1")
    updated, _ = world.register("u1", fields_with(first_name="Bea"))
    assert (updated.code, updated.link) == (created.code, created.link)


def test_ENT_008_code_unique_per_campaign_a_taken_code_is_drawn_again(world: World) -> None:
    world.ids.codes = ["SAMECODE", "SAMECODE", "FRESHONE"]
    world.register("u1")

    entry, is_new = world.register("u2")

    assert is_new
    assert entry.code == "FRESHONE"
    assert world.stored("u2").code == "FRESHONE"
    assert len(world.entries.docs) == 2


def test_ENT_008_same_code_may_exist_in_another_campaign(world: World) -> None:
    world.add_campaign(id="c2")
    world.ids.codes = ["SAMECODE", "SAMECODE"]
    world.register("u1")
    entry, _ = world.register("u2", campaign_id="c2")
    assert entry.code == "SAMECODE"


def test_ENT_008_link_uses_the_share_domain(world: World) -> None:
    world.ids.codes = ["K3J9QXAB"]
    entry, _ = world.register("u1")
    assert entry.link == "https://share.example/K3J9QXAB"
    assert share_link(campaign(domain={"share": "s.example"}), "C0DE") == "https://s.example/C0DE"


@pytest.mark.parametrize("domain", [None, {}, {"share": None}, {"share": ""}])
def test_ENT_008_link_is_null_without_a_share_domain(world: World, domain: object) -> None:
    world.add_campaign(domain=domain)
    entry, _ = world.register("u1")
    assert entry.link is None
    assert entry.code


def test_ENT_008_generated_codes_are_random_over_an_unambiguous_alphabet() -> None:
    codes = [new_code() for _ in range(2000)]

    assert all(len(c) == CODE_LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set(ALPHABET) & set("01OIL")
    assert len(set(codes)) == len(codes)  # 31**8 possibilities: a collision here means no randomness
    counts = Counter("".join(codes))
    assert set(counts) == set(ALPHABET)  # every symbol is used
    assert max(counts.values()) < 3 * min(counts.values())  # roughly uniform


def test_ENT_008_codes_are_not_derived_from_the_user_id() -> None:
    assert inspect.signature(new_code).parameters == {}  # nothing about the fan goes in
    ids = RandomIds()
    assert len({ids.referral_code() for _ in range(50)}) == 50


# ENT-009 -----------------------------------------------------------------------------------------


def referrer_world(world: World) -> str:
    """u0 is registered with code REFCODE0; returns that code."""
    world.ids.codes = ["REFCODE0"]
    world.register("u0")
    return "REFCODE0"


def test_ENT_009_create_with_another_fans_code(world: World) -> None:
    code = referrer_world(world)

    entry, _ = world.register("u1", referral_code=code)

    assert entry.referrer == Referrer(code=code, user_id="u0")
    assert world.stored().referrer == Referrer(code=code, user_id="u0")


def test_ENT_009_create_without_a_code_has_no_referrer(world: World) -> None:
    entry, _ = world.register("u1")
    assert entry.referrer is None


@pytest.mark.parametrize("code", ["NOSUCHCD", "refcode0", "", " REFCODE0"])
def test_ENT_009_create_with_an_unknown_code_is_invalid(world: World, code: str) -> None:
    referrer_world(world)
    before = world.snapshot()

    with pytest.raises(InvalidReferral) as raised:
        world.register("u1", referral_code=code)

    assert raised.value.code == "ENTRY_INVALID_REFERRAL"
    assert world.snapshot() == before


def test_ENT_009_code_of_another_campaign_is_invalid(world: World) -> None:
    code = referrer_world(world)
    world.add_campaign(id="c2")
    with pytest.raises(InvalidReferral):
        world.register("u1", campaign_id="c2", referral_code=code)
    assert ("c2", "u1") not in world.entries.docs


def test_ENT_009_own_code_is_invalid_on_create(world: World) -> None:
    """A create meets the fan's own code: its earlier create landed after this request read the store."""
    world.ids.codes = ["OWNCODE1"]
    world.register("u1")
    world.entries = StaleFirstRead(docs=world.entries.docs, stale_reads=1)
    before = world.snapshot()

    with pytest.raises(InvalidReferral):
        world.register("u1", referral_code="OWNCODE1")

    assert world.snapshot() == before


def test_ENT_009_update_with_the_stored_code_is_accepted(world: World) -> None:
    code = referrer_world(world)
    world.register("u1", referral_code=code)

    entry, is_new = world.register("u1", fields_with(first_name="Bea"), referral_code=code)

    assert not is_new
    assert entry.referrer == Referrer(code=code, user_id="u0")


def test_ENT_009_update_omitting_the_code_keeps_the_stored_referral(world: World) -> None:
    code = referrer_world(world)
    world.register("u1", referral_code=code)

    entry, _ = world.register("u1", fields_with(first_name="Bea"))

    assert entry.referrer == Referrer(code=code, user_id="u0")


@pytest.mark.parametrize("kind", ["unknown", "own", "different", "lower-cased"])
def test_ENT_009_update_cannot_change_the_referral(world: World, kind: str) -> None:
    world.ids.codes = ["REFCODE0", "REFCODE2", "OWNCODE1"]
    world.register("u0")
    world.register("u2")
    world.register("u1", referral_code="REFCODE0")
    before = world.snapshot()
    code = {"unknown": "NOSUCHCD", "own": "OWNCODE1", "different": "REFCODE2", "lower-cased": "refcode0"}[kind]

    with pytest.raises(InvalidReferral):
        world.register("u1", fields_with(first_name="Bea"), referral_code=code)

    assert world.snapshot() == before


@pytest.mark.parametrize("code", ["REFCODE0", "OWNCODE1", "NOSUCHCD"])
def test_ENT_009_update_cannot_add_a_referral_when_none_was_stored(world: World, code: str) -> None:
    world.ids.codes = ["REFCODE0", "OWNCODE1"]
    world.register("u0")
    world.register("u1")
    before = world.snapshot()

    with pytest.raises(InvalidReferral):
        world.register("u1", {"zip": "10001"}, referral_code=code)

    assert world.snapshot() == before


def test_ENT_009_require_referral_refuses_a_create_without_a_code(world: World) -> None:
    code = referrer_world(world)
    world.add_campaign(requireReferral=True)

    with pytest.raises(InvalidReferral):
        world.register("u1")
    with pytest.raises(InvalidReferral):
        world.register("u1", referral_code="NOSUCHCD")
    assert ("c1", "u1") not in world.entries.docs

    entry, _ = world.register("u1", referral_code=code)
    assert entry.referrer == Referrer(code=code, user_id="u0")


def test_ENT_009_require_referral_does_not_apply_to_updates(world: World) -> None:
    world.register("u1")
    world.add_campaign(requireReferral=True)

    entry, is_new = world.register("u1", {"zip": "10001"})

    assert not is_new
    assert entry.referrer is None


def test_ENT_009_referral_is_checked_after_field_values(world: World) -> None:
    with pytest.raises(InvalidReferral):
        world.register("u1", referral_code="NOSUCHCD")
    with pytest.raises(InvalidField):
        world.register("u1", fields_with(email="bad"), referral_code="NOSUCHCD")


def test_message_ids_are_ulids_of_their_millisecond_and_sort_by_it() -> None:
    ids = RandomIds()
    crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    before = time.time_ns() // 1_000_000
    made = [ids.message_id() for _ in range(200)]
    after = time.time_ns() // 1_000_000
    for message_id in made:
        assert len(message_id) == 26 and set(message_id) <= set(crockford)
        value = 0
        for char in message_id:
            value = value * 32 + crockford.index(char)
        assert value < 1 << 128  # the first digit holds 3 bits only
        assert before <= value >> 80 <= after  # 48 bits of milliseconds, then 80 random bits
    assert len(set(made)) == len(made)
    assert sorted(made, key=lambda m: m[:10]) == made  # time prefix: creation order
