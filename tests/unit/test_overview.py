"""The campaigns list and the outbox status as use cases: administrators only, for every caller (SPEC AUTH-002)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.errors import Forbidden
from entrycore.model import Campaign
from entrycore.outbox import EVENT, OutboxMessage, OutboxStatus
from entrycore.usecases.overview import Overview
from tests.fakes import FakeCampaignSource
from tests.unit.conftest import World

ADMIN = Caller("ops-1", is_supreme=True, authorization="Bearer admin-token")
FANS = [Caller("u1"), Caller("u1", is_supreme=False, authorization="Bearer fan-token")]


@attrs.define
class AskedSource(FakeCampaignSource):
    """The fake source, noting the authorization each list was asked with (forwarded to campaign-service)."""

    asked: list[str | None] = attrs.field(factory=list)

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        self.asked.append(authorization)
        return super().list(authorization)


def overview(world: World) -> Overview:
    return Overview(campaigns=world.campaigns, outbox=world.entries)


def waiting(world: World, count: int) -> None:
    for n in range(count):
        at = world.clock.now() + timedelta(seconds=n)
        world.entries._enqueue([OutboxMessage(f"m{n}", EVENT, "c1", "u1", "c1:u1", {"n": n}, at)])


@pytest.mark.parametrize("fan", FANS)
def test_a_fan_may_not_list_campaigns_or_read_the_outbox(world: World, fan: Caller) -> None:
    waiting(world, 2)
    for refused in (overview(world).campaign_list, overview(world).outbox_status):
        with pytest.raises(Forbidden) as raised:
            refused(fan)
        assert raised.value.code == "FORBIDDEN"


def test_an_admin_lists_the_campaigns_of_the_source_with_their_authorization(world: World) -> None:
    source = AskedSource(campaigns=dict(world.campaigns.campaigns))
    world.add_campaign(id="c2")
    source.campaigns["c2"] = world.campaigns.campaigns["c2"]

    found = Overview(campaigns=source, outbox=world.entries).campaign_list(ADMIN)

    assert [c.id for c in found] == ["c1", "c2"]
    assert source.asked == ["Bearer admin-token"]


def test_an_admin_reads_the_outbox_status_as_a_typed_value(world: World) -> None:
    start = world.clock.now()
    waiting(world, 3)

    status = overview(world).outbox_status(ADMIN)

    assert status == OutboxStatus(
        backlog=3, last_delivered_at=None, oldest_pending_at=start, dead_letters=0, oldest_dead_letter_at=None
    )


def test_the_metrics_gauges_need_no_caller_and_read_the_same_status(world: World) -> None:
    waiting(world, 2)
    assert overview(world).outbox_gauges() == overview(world).outbox_status(ADMIN)
    assert overview(world).outbox_gauges().backlog == 2
