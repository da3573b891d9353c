"""USR-004 in the domain: a replicated save keeps the fan route's rules but not the gates, requireReferral or the
campaign's status; it never waits on enrichment (the worker scores it: PUB-005) and sends no receipt (PUB-006)."""

from __future__ import annotations

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.errors import Forbidden, InvalidReferral
from entrycore.model import Entry
from entrycore.outbox import RECEIPT, RETRY
from entrycore.usecases.enrichment import Enrichment
from entrycore.usecases.registrations import Submission
from tests.builders import VALID_FIELDS
from tests.unit.conftest import World
from tests.unit.test_refresh import ScriptedFanscore, ScriptedFraud

ADMIN = Caller("replicator", is_supreme=True, authorization="Bearer admin")


def replicate(
    world: World, enrichment: Enrichment, user: str = "r1", campaign: str = "c1", referral_code: str | None = None
) -> tuple[Entry, bool]:
    registrations = attrs.evolve(world.registrations, enrichment=enrichment)
    submission = Submission(fields=dict(VALID_FIELDS), referral_code=referral_code)
    return registrations.save_replica(ADMIN, campaign, user, submission)


def test_a_replica_is_queued_for_enrichment_without_asking_and_gets_no_receipt() -> None:
    world, fraud = World(), ScriptedFraud()
    world.add_campaign()
    entry, created = replicate(world, Enrichment(fraud=fraud, fanscore=ScriptedFanscore()))
    assert created
    assert fraud.placements == []  # the fraud check was not waited for
    assert entry.fraud is not None and entry.fraud.status == "unknown"  # never a pass (PUB-003)
    assert entry.date_receipt is None
    kinds = [p.message.kind for p in world.entries.pending]
    assert RETRY in kinds and RECEIPT not in kinds
    assert entry.origin is None


def test_without_enrichment_sources_nothing_is_queued() -> None:
    world = World()
    world.add_campaign()
    entry, _ = replicate(world, Enrichment())
    assert entry.fraud is None
    assert [p.message.kind for p in world.entries.pending] == ["event"]


def test_gates_referral_requirement_and_status_do_not_apply_but_a_given_referral_is_checked() -> None:
    world = World()
    world.add_campaign(id="gated", status="CLOSED", requireReferral=True, gate={"inviteOnly": "code", "card": "AMEX"})
    entry, _ = replicate(world, Enrichment(), campaign="gated")
    assert entry.campaign_id == "gated" and entry.referrer is None
    with pytest.raises(InvalidReferral):
        replicate(world, Enrichment(), user="r2", campaign="gated", referral_code="NOPE")
    found, _ = replicate(world, Enrichment(), user="r3", campaign="gated", referral_code=entry.code)
    assert found.referrer is not None and found.referrer.user_id == "r1"


def test_only_an_admin_replicates() -> None:
    world = World()
    world.add_campaign()
    registrations = world.registrations
    with pytest.raises(Forbidden):
        registrations.save_replica(Caller("u1"), "c1", "u1", Submission(fields=dict(VALID_FIELDS)))


def test_a_replicated_entry_never_owes_a_receipt_even_when_its_fan_confirms_later() -> None:
    world = World()
    world.add_campaign(needsPhoneConfirmation=True)
    entry, _ = replicate(world, Enrichment())
    assert not entry.phone_confirmed and not entry.owes_receipt
    # the fan's own update with the phone their account has verified confirms it at once (PHN-007): no receipt
    world.add_account("r1", phone="+12125550199", phone_verified=True)
    updated, _ = world.register("r1", {**VALID_FIELDS, "phone": "+12125550199"})
    assert updated.phone_confirmed and updated.date_receipt is None
    assert RECEIPT not in [p.message.kind for p in world.entries.pending]
