"""Enrichment on every upsert and the refresh worker, with fakes (SPEC PUB-003…005)."""

from __future__ import annotations

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.errors import DependencyUnavailable, EnrichmentFailed, Forbidden
from entrycore.model import Entry, FraudResult, UserAccount
from entrycore.outbox import EVENT, RETRY, RetryRequest
from entrycore.usecases.enrichment import EDIT, SIGN_UP, AccountFanscore, Enrichment
from entrycore.usecases.refresh import ScoreRefresher
from entrycore.usecases.registrations import Submission
from tests.builders import VALID_FIELDS
from tests.fakes import FakeRetryQueue
from tests.unit.conftest import World


@attrs.define
class ScriptedFraud:
    fail: bool = False
    placements: list[str] = attrs.field(factory=list)

    def check(self, entry: Entry, placement: str) -> FraudResult:
        self.placements.append(placement)
        if self.fail:
            raise EnrichmentFailed("nudetect down")
        return FraudResult(score=0.12, status="scored")

    def trusted(self) -> bool:
        return True


@attrs.define
class ScriptedFanscore:
    fail: bool = False

    def fanscore(self, user_id: str, authorization: str | None, account: UserAccount | None = None) -> float | None:
        if self.fail:
            raise EnrichmentFailed("fanscore down")
        return 0.75

    def trusted(self) -> bool:
        return True


def kinds(world: World) -> list[str]:
    return [p.message.kind for p in world.entries.pending]


def wired(fraud: ScriptedFraud, fanscore: ScriptedFanscore) -> tuple[World, Enrichment]:
    world = World()
    world.add_campaign()
    enrichment = Enrichment(fraud=fraud, fanscore=fanscore)
    return world, enrichment


def register(world: World, enrichment: Enrichment, user: str = "u1", **fields: object) -> Entry:
    registrations = attrs.evolve(world.registrations, enrichment=enrichment)
    return registrations.register(Caller(user), "c1", Submission({**VALID_FIELDS, **fields})).entry


def test_PUB_003_004_scores_stored_and_in_the_event() -> None:
    fraud = ScriptedFraud()
    world, enrichment = wired(fraud, ScriptedFanscore())
    entry = register(world, enrichment)
    assert entry.fraud == FraudResult(0.12, "scored") and entry.fanscore == 0.75
    assert world.stored() == entry
    event = world.entries.pending[0].message
    assert event.body["fraud"] == {"score": 0.12, "status": "scored"} and event.body["type"] == "entry.created"
    register(world, enrichment, tickets=2)
    assert fraud.placements == [SIGN_UP, EDIT]
    assert RETRY not in kinds(world)


@pytest.mark.parametrize(("fraud_fails", "fanscore_fails"), [(True, False), (False, True), (True, True)])
def test_PUB_005_a_failing_source_never_fails_the_registration(fraud_fails: bool, fanscore_fails: bool) -> None:
    world, enrichment = wired(ScriptedFraud(fail=fraud_fails), ScriptedFanscore(fail=fanscore_fails))
    entry = register(world, enrichment)
    assert entry.fraud == (FraudResult(None, "unknown") if fraud_fails else FraudResult(0.12, "scored"))
    assert entry.fanscore == (None if fanscore_fails else 0.75)
    assert kinds(world).count(RETRY) == 1


def test_PUB_005_off_sources_give_null_and_queue_nothing() -> None:
    world = World()
    world.add_campaign()
    entry = register(world, Enrichment())
    assert entry.fraud is None and entry.fanscore is None and RETRY not in kinds(world)


def test_account_fanscore_reads_the_account_or_fails_softly() -> None:
    world = World()
    world.add_account("u1", fanscore=0.9)
    assert AccountFanscore(world.users).fanscore("u1", None) == 0.9
    assert AccountFanscore(world.users).fanscore("u2", None) is None

    class Down:
        def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
            raise DependencyUnavailable("user-service is unavailable")

    with pytest.raises(EnrichmentFailed):
        AccountFanscore(Down()).fanscore("u1", None)


def test_PUB_005_worker_refreshes_and_acknowledges_only_what_succeeded() -> None:
    fraud = ScriptedFraud(fail=True)
    world, enrichment = wired(fraud, ScriptedFanscore())
    created = register(world, enrichment)
    queue = FakeRetryQueue()
    refresher = ScoreRefresher(world.campaigns, world.entries, queue, enrichment, world.clock, world.ids)
    queue.enqueue([RetryRequest("c1", "u1"), RetryRequest("c1", "gone")])
    report = refresher.work_once()
    assert (report.received, report.refreshed, report.failed) == (2, 1, 1)  # the missing entry is done
    queue.expire()
    fraud.fail = False
    world.clock.advance(minutes=1)
    assert refresher.work_once().refreshed == 1 and queue.queued == {} and queue.hidden == {}
    refreshed = world.stored()
    assert refreshed.fraud == FraudResult(0.12, "scored") and refreshed.date_updated == created.date_updated
    last = world.entries.pending[-1].message
    assert (last.kind, last.body["type"], last.body["fraud"]["status"]) == (EVENT, "entry.updated", "scored")


def test_refresh_scores_is_for_admins_and_reports_a_down_queue() -> None:
    world, enrichment = wired(ScriptedFraud(), ScriptedFanscore())
    queue = FakeRetryQueue()
    refresher = ScoreRefresher(world.campaigns, world.entries, queue, enrichment, world.clock, world.ids)
    with pytest.raises(Forbidden):
        refresher.queue_refresh(Caller("u1"), [RetryRequest("c1", "u1")])
    assert refresher.queue_refresh(Caller("boss", is_supreme=True), [RetryRequest("c1", "u1")]) == 1
    queue.down = True
    with pytest.raises(DependencyUnavailable):
        refresher.queue_refresh(Caller("boss", is_supreme=True), [RetryRequest("c1", "u1")])
