"""PhoneConfirmations and receipts with the in-memory fakes (SPEC PHN-001…010, PUB-006)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import jwt
import pytest

from entrycore.caller import Caller
from entrycore.errors import (
    CampaignNotFound,
    CampaignNotOpen,
    DependencyUnavailable,
    EntryNotFound,
    InvalidPhoneToken,
    PhoneAlreadyConfirmed,
    TooManyAttempts,
)
from entrycore.outbox import RECEIPT
from entrycore.usecases.phones import PhoneConfirmations
from tests.builders import VALID_FIELDS
from tests.unit.conftest import World

SECRET = "phone-secret-" + "x" * 64
PHONE = "+12125550123"


def token(world: World, phone: str = PHONE, campaign: str = "ppc", ttl: float = 600, **claims: Any) -> str:
    body: dict[str, Any] = {"phone": phone, "campaignId": campaign, "exp": world.clock.now().timestamp() + ttl}
    body.update(claims)
    return jwt.encode({k: v for k, v in body.items() if v is not None}, claims.pop("key", SECRET), algorithm="HS256")


def confirmations(world: World) -> PhoneConfirmations:
    return PhoneConfirmations(
        campaigns=world.campaigns,
        entries=world.entries,
        attempts=world.entries,
        clock=world.clock,
        ids=world.ids,
        token_secret=SECRET,
    )


def confirm(world: World, user: str = "u1", jwt_: str | None = None, campaign: str = "ppc") -> Any:
    return confirmations(world).confirm_phone(Caller(user), campaign, jwt_ if jwt_ is not None else token(world)).entry


def receipts(world: World) -> list[Any]:
    return [p.message for p in world.entries.pending if p.message.kind == RECEIPT]


@pytest.fixture
def world() -> World:
    w = World()
    w.add_campaign()
    w.add_campaign(id="ppc", needsPhoneConfirmation=True)
    w.add_campaign(id="ppc2", needsPhoneConfirmation=True)
    w.add_campaign(id="ppc-closed", needsPhoneConfirmation=True, status="CLOSED")
    return w


def test_PHN_001_confirm_sets_confirmed_and_receipt(world: World) -> None:
    created, _ = world.register(campaign_id="ppc")
    assert created.phone_confirmed is False and created.date_receipt is None and receipts(world) == []
    world.clock.advance(seconds=5)
    confirmed = confirm(world)
    assert confirmed.phone_confirmed is True
    assert confirmed.date_phone_confirmed == world.clock.now() == confirmed.date_updated == confirmed.date_receipt
    assert world.stored("u1", "ppc").phone_confirmed is True
    (sent,) = receipts(world)
    assert sent.body["idempotencyKey"] == "ppc:u1:2026-11-27T12:00:00.000Z"
    assert sent.body["email"] == "ana@example.com"


def test_PHN_001_confirmation_works_without_ppc_and_reports_real_confirmations_only(world: World) -> None:
    created, _ = world.register()
    assert created.phone_confirmed is False
    assert len(receipts(world)) == 1  # PPC off: receipt at creation
    assert confirm(world, jwt_=token(world, campaign="c1"), campaign="c1").phone_confirmed is True
    assert len(receipts(world)) == 1  # none again


def test_ENT_002_confirmation_only_while_open_and_known(world: World) -> None:
    with pytest.raises(CampaignNotFound):
        confirm(world, campaign="nope")
    with pytest.raises(CampaignNotOpen):
        confirm(world, campaign="ppc-closed", jwt_=token(world, campaign="ppc-closed"))
    with pytest.raises(EntryNotFound):
        confirm(world)


@pytest.mark.parametrize(
    "bad",
    [
        "garbage",
        "",
        "a.b.c",
        "bad-signature",
        "expired",
        "other-phone",
        "other-campaign",
        "other-fan",
        "no-phone",
        "no-campaign",
        "no-exp",
        "alg-none",
        "hs512",
    ],
)
def test_PHN_002_every_bad_token_is_invalid_and_changes_nothing(world: World, bad: str) -> None:
    world.register(campaign_id="ppc")
    before = world.stored("u1", "ppc")
    now = world.clock.now().timestamp()
    tokens = {
        "garbage": "garbage",
        "": "",
        "a.b.c": "a.b.c",
        "bad-signature": jwt.encode({"phone": PHONE, "campaignId": "ppc", "exp": now + 60}, "k" * 64),
        "expired": token(world, ttl=-1),
        "other-phone": token(world, phone="+12125550199"),
        "other-campaign": token(world, campaign="c1"),
        "other-fan": token(world, sub="u2"),
        "no-phone": token(world, phone=None),
        "no-campaign": token(world, campaign=None),
        "no-exp": jwt.encode({"phone": PHONE, "campaignId": "ppc"}, SECRET, algorithm="HS256"),
        "alg-none": jwt.encode({"phone": PHONE, "campaignId": "ppc", "exp": now + 60}, None, algorithm="none"),
        "hs512": jwt.encode({"phone": PHONE, "campaignId": "ppc", "exp": now + 60}, SECRET, algorithm="HS512"),
    }
    with pytest.raises(InvalidPhoneToken):
        confirm(world, jwt_=tokens[bad])
    assert world.stored("u1", "ppc") == before
    assert receipts(world) == []


def test_PHN_003_phone_confirmed_by_another_fan(world: World) -> None:
    world.register("u1", campaign_id="ppc")
    world.register("u2", campaign_id="ppc")  # same phone, unconfirmed: allowed (PHN-004 note)
    confirm(world, "u1")
    with pytest.raises(PhoneAlreadyConfirmed):
        confirm(world, "u2")
    assert world.stored("u2", "ppc").phone_confirmed is False
    world.register("u1", campaign_id="ppc2")
    assert confirm(world, "u1", token(world, campaign="ppc2"), campaign="ppc2").phone_confirmed  # other campaign


def test_PHN_004_registering_or_changing_to_a_confirmed_phone_is_refused(world: World) -> None:
    world.register("u1", campaign_id="ppc")
    confirm(world, "u1")
    with pytest.raises(PhoneAlreadyConfirmed):
        world.register("u2", campaign_id="ppc")
    world.register("u3", {**VALID_FIELDS, "phone": "+12125550124"}, campaign_id="ppc")
    with pytest.raises(PhoneAlreadyConfirmed):
        world.register("u3", {"phone": PHONE}, campaign_id="ppc")
    assert world.stored("u3", "ppc").phone == "+12125550124"


def test_PHN_005_phone_change_clears_confirmation(world: World) -> None:
    world.register("u1", campaign_id="ppc")
    confirm(world)
    updated, _ = world.register("u1", {"phone": "+12125550124"}, campaign_id="ppc")
    assert updated.phone_confirmed is False and updated.date_phone_confirmed is None
    kept, _ = world.register("u1", {"tickets": 2}, campaign_id="ppc")
    assert kept.phone_confirmed is False
    assert confirm(world, jwt_=token(world, phone="+12125550124")).phone_confirmed is True
    assert len(receipts(world)) == 1  # the receipt follows the first confirmation only


def test_PHN_006_mexican_variants_are_one_phone(world: World) -> None:
    world.register("u1", {**VALID_FIELDS, "phone": "+52 55 1234 5678"}, campaign_id="ppc")
    assert confirm(world, jwt_=token(world, phone="+521 55 1234 5678")).phone == "+525512345678"
    with pytest.raises(PhoneAlreadyConfirmed):
        world.register("u2", {**VALID_FIELDS, "phone": "+5215512345678"}, campaign_id="ppc")


def test_PHN_007_auto_confirmation_with_a_verified_account_phone(world: World) -> None:
    world.add_account("u1", phone="(212) 555-0123", phone_verified=True)
    world.add_account("u2", phone=PHONE, phone_verified=False)
    created, _ = world.register("u1", campaign_id="ppc")
    assert created.phone_confirmed is True and created.date_receipt == created.date_created
    assert len(receipts(world)) == 1
    unverified, _ = world.register("u2", {**VALID_FIELDS, "phone": "+12125550124"}, campaign_id="ppc")
    assert unverified.phone_confirmed is False
    world.add_account("u4", phone="+12125550125", phone_verified=True)
    world.register("u4", {**VALID_FIELDS, "phone": "+12125550126"}, campaign_id="ppc")
    changed, _ = world.register("u4", {"phone": "+12125550125"}, campaign_id="ppc")
    assert changed.phone_confirmed is True and len(receipts(world)) == 2
    plain, _ = world.register("u1")  # PPC off: never auto-confirmed
    assert plain.phone_confirmed is False


def test_PHN_008_repeating_a_confirmation_is_a_no_op(world: World) -> None:
    world.register(campaign_id="ppc")
    first = confirm(world)
    world.clock.advance(minutes=1)
    again = confirm(world)
    assert again == first == world.stored("u1", "ppc")
    assert len(receipts(world)) == 1


def test_PHN_009_token_for_another_fan(world: World) -> None:
    world.register("u1", campaign_id="ppc")
    with pytest.raises(InvalidPhoneToken):
        confirm(world, "u1", token(world, sub="u2"))
    assert confirm(world, "u1", token(world, sub="u1")).phone_confirmed


def test_PHN_010_five_failures_in_ten_minutes_then_429(world: World) -> None:
    world.register(campaign_id="ppc")
    for _ in range(5):
        with pytest.raises(InvalidPhoneToken):
            confirm(world, jwt_="garbage")
        world.clock.advance(minutes=1)
    with pytest.raises(TooManyAttempts):
        confirm(world)  # even a valid token
    world.clock.advance(minutes=5, seconds=1)  # the first failure left the window; 429s did not extend it
    with pytest.raises(InvalidPhoneToken):
        confirm(world, jwt_="garbage")  # the 5th failure in the window again
    with pytest.raises(TooManyAttempts):
        confirm(world)
    world.clock.advance(minutes=2)
    assert confirm(world).phone_confirmed
    world.register("u2", {**VALID_FIELDS, "phone": "+12125550124"}, campaign_id="ppc")
    assert world.entries.failed_attempts("ppc", "u2", world.clock.now() - timedelta(minutes=10)) == 0


def test_PHN_010_only_invalid_tokens_count(world: World) -> None:
    world.register("u1", campaign_id="ppc")
    world.register("u2", campaign_id="ppc")
    confirm(world, "u1")
    for _ in range(6):
        with pytest.raises(PhoneAlreadyConfirmed):
            confirm(world, "u2")
    assert world.entries.failed_attempts("ppc", "u2", world.clock.now() - timedelta(minutes=10)) == 0


def test_PUB_006_receipts_once_per_entry(world: World) -> None:
    world.register("u1")
    world.register("u1", {"tickets": 2})
    world.register("u2", {**VALID_FIELDS, "phone": "+12125550124"})
    assert [m.user_id for m in receipts(world)] == ["u1", "u2"]
    world.register("u3", campaign_id="ppc")
    assert len(receipts(world)) == 2


def test_PHN_010_a_store_failing_to_forget_an_attempt_does_not_replace_the_answer(world: World) -> None:
    """The attempt counts as failed until it is forgotten; if forgetting it fails, the confirmation (saved) is
    still the answer, and the attempt stays counted (the safe side of the limit)."""
    world.register(campaign_id="ppc")

    class ReleaseFails:
        def __getattr__(self, name: str) -> Any:
            return getattr(world.entries, name)

        def release_attempt(self, *_: Any) -> None:
            raise DependencyUnavailable("store down")

    service = attrs.evolve(confirmations(world), attempts=ReleaseFails())
    confirmed = service.confirm_phone(Caller("u1"), "ppc", token(world)).entry
    assert confirmed.phone_confirmed is True
    stored = world.entries.get("ppc", "u1")
    assert stored is not None and stored.phone_confirmed is True
    assert world.entries.failed_attempts("ppc", "u1", world.clock.now() - timedelta(minutes=10)) == 1
