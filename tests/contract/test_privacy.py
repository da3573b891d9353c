"""USR-002 on every store: an opt-out turns off exactly its fields on every entry of the fan, publishes
entry.updated for each changed entry in the same write, and is audited."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.errors import BadRequest, Forbidden
from entrycore.usecases.privacy import Privacy
from tests.builders import campaign
from tests.contract.conftest import Stores
from tests.contract.entries import an_entry
from tests.fakes import FakeAudit, FakeCampaignSource, FakeClock, FakeIds

ADMIN = Caller("admin-1", is_supreme=True)


def privacy(stores: Stores, audit: FakeAudit) -> Privacy:
    campaigns = FakeCampaignSource({"c1": campaign(), "c2": campaign(id="c2")})
    return Privacy(campaigns=campaigns, entries=stores.entries, audit=audit, clock=FakeClock(), ids=FakeIds())


def test_USR_002_opt_outs_change_exactly_their_fields_on_every_entry(stores: Stores) -> None:
    audit = FakeAudit()
    fields = {"email": "a@b.co", "market": "nyc", "allow_marketing": True, "allow_notification": True}
    first = attrs.evolve(an_entry("c1", "u1", phone="+12125550101"), fields=fields)
    second = attrs.evolve(an_entry("c2", "u1", phone="+12125550102"), fields={**fields, "allow_marketing": False})
    other = attrs.evolve(an_entry("c1", "u2", phone="+12125550103"), fields=fields)
    for entry in (first, second, other):
        stores.entries.create(entry)
    service = privacy(stores, audit)
    assert service.opt_out(ADMIN, "u1", "DO_NOT_SELL") == 1  # c2 was opted out already
    changed = stores.entries.get("c1", "u1")
    assert changed is not None
    assert changed.fields == {**fields, "allow_marketing": False}
    assert attrs.evolve(changed, fields=first.fields, date_updated=first.date_updated, version=1) == first
    assert stores.entries.get("c2", "u1") == second  # untouched
    assert stores.entries.get("c1", "u2") == other  # another fan: untouched
    assert service.opt_out(ADMIN, "u1", "UNSUBSCRIBE") == 2
    unsubscribed = stores.entries.get("c2", "u1")
    assert unsubscribed is not None
    assert unsubscribed.fields == {
        **fields,
        "allow_marketing": False,
        "allow_notification": False,
        "allow_livenation": False,
    }
    assert service.opt_out(ADMIN, "nobody", "UNSUBSCRIBE") == 0
    assert [(r.action, dict(r.parameters), dict(r.counts)) for r in audit.kept] == [
        ("users.optout", {"type": "DO_NOT_SELL"}, {"modified": 1}),
        ("users.optout", {"type": "UNSUBSCRIBE"}, {"modified": 2}),
        ("users.optout", {"type": "UNSUBSCRIBE"}, {"modified": 0}),
    ]
    published = stores.outbox.claim("test", 100, FakeClock().now() + timedelta(seconds=1), timedelta(seconds=5))
    assert sorted((m.body["type"], m.campaign_id, m.user_id) for m in published) == [
        ("entry.updated", "c1", "u1"),
        ("entry.updated", "c1", "u1"),
        ("entry.updated", "c2", "u1"),
    ]


def test_opt_out_needs_an_admin_and_a_known_type(stores: Stores) -> None:
    service = privacy(stores, FakeAudit())
    with pytest.raises(Forbidden):
        service.opt_out(Caller("u1"), "u1", "DO_NOT_SELL")
    with pytest.raises(BadRequest):
        service.opt_out(ADMIN, "u1", "SELL_MORE")
