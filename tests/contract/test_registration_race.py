"""Lost create races become updates (SPEC ENT-001, API.md §3), through the real use case, on every store."""

from __future__ import annotations

import threading

from entrycore.caller import Caller
from entrycore.model import Entry
from entrycore.usecases.registrations import Registrations, Submission
from tests.builders import VALID_FIELDS, campaign
from tests.contract.conftest import Stores
from tests.fakes import FakeCampaignSource, FakeClock, FakeIds, FakeUserSource

THREADS = 16


def test_concurrent_first_posts_of_one_fan_store_one_entry(stores: Stores) -> None:
    registrations = Registrations(
        campaigns=FakeCampaignSource({"c1": campaign()}),
        users=FakeUserSource(),
        entries=stores.entries,
        invites=stores.invites,
        clock=FakeClock(),
        ids=FakeIds(),
    )
    start = threading.Barrier(THREADS)
    outcomes: list[tuple[Entry, bool]] = []
    failures: list[BaseException] = []

    def post() -> None:
        start.wait()
        try:
            registered = registrations.register(Caller("fan-1"), "c1", Submission(fields=VALID_FIELDS))
            outcomes.append((registered.entry, registered.is_new))
        except BaseException as failure:  # reported below, with the thread's traceback
            failures.append(failure)

    threads = [threading.Thread(target=post) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert sorted(is_new for _, is_new in outcomes) == [False] * (THREADS - 1) + [True]
    stored = stores.entries.entries_of_user("fan-1")
    assert len(stored) == 1
    created = next(entry for entry, is_new in outcomes if is_new)
    assert stored[0].code == created.code
    assert stored[0].date_created == created.date_created
    if stores.kind != "mongomock":  # mongomock's replace_one is not atomic: it may lose an update
        assert stored[0].version == THREADS  # one create, then every update applied on the one before
