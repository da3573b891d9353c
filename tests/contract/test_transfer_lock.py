"""MKT-003's last sentence on every store, through the Transfers use case: transfers of one campaign run one at a
time (a second one asked for while the first runs is refused with TRANSFER_IN_PROGRESS, from the lock in the
datastore), and a transfer that stopped half-way — between chunks, or between the entries and the scoring
records — finishes when run again, leaving every record's ranked markets those of its entry."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any, cast

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.errors import TransferInProgress
from entrycore.markets import MarketTransfer
from entrycore.ports import Progress, SelectionStore
from entrycore.scoring import ScoreRow
from entrycore.usecases.leases import transfer_lock
from entrycore.usecases.transfers import Transfers
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.test_transfer import fan
from tests.fakes import FakeAudit, FakeCampaignSource, FakeClock, FakeHeartbeats, FakeIds

ADMIN = Caller("admin", is_supreme=True)
PROCESSES = itertools.count(1)  # each use case its own ids, as in separate processes (message ids are unique)
RANKED = [("nyc", "phl"), ("phl", "nyc", "bos"), ("chi", "nyc"), ("lax",), ("nyc",)]


@pytest.fixture(params=["fake", "sqlite", "mongomock"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SelectionStores]:
    with open_selection_stores(request.param, tmp_path) as opened:
        for number, markets in enumerate(RANKED, start=1):
            opened.entries.create(fan(f"u{number}", markets, number))
        rows = [ScoreRow(i, f"+1212555{n:04d}", 50.0 + n) for i, n in enumerate(range(1, len(RANKED) + 1))]
        opened.scoring.upsert_scores("c1", rows, [0.5] * len(rows))
        yield opened


def transfers(
    stores: SelectionStores,
    selection: SelectionStore | None = None,
    clock: FakeClock | None = None,
    heartbeats: FakeHeartbeats | None = None,
) -> Transfers:
    return Transfers(
        campaigns=FakeCampaignSource({"c1": campaign()}),
        selection=selection or stores.selection,
        audit=FakeAudit(),
        clock=clock or FakeClock(),
        ids=FakeIds(counter=next(PROCESSES) * 1_000_000),
        locks=stores.locks,
        heartbeats=heartbeats or FakeHeartbeats(),
    )


def assert_records_follow_entries(stores: SelectionStores) -> None:
    for number in range(1, len(RANKED) + 1):
        entry, record = stores.entries.get("c1", f"u{number}"), stores.scoring.scoring_record("c1", f"u{number}")
        assert entry is not None and record is not None
        assert record.markets == entry.markets, f"u{number}"
        assert "nyc" not in entry.markets


@attrs.frozen
class Slowed:
    """A SelectionStore whose transfer waits, once started, until the test lets it go on."""

    inner: SelectionStore
    started: threading.Event = attrs.field(factory=threading.Event)
    go_on: threading.Event = attrs.field(factory=threading.Event)

    def transfer_entries(self, move: MarketTransfer, progress: Progress | None = None) -> tuple[int, int]:
        self.started.set()
        assert self.go_on.wait(10)
        return self.inner.transfer_entries(move, progress)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_MKT_003_a_second_transfer_while_one_runs_is_refused(stores: SelectionStores) -> None:
    slowed = Slowed(stores.selection)
    first = transfers(stores, selection=cast(SelectionStore, slowed))
    results: list[Any] = []
    runner = threading.Thread(target=lambda: results.append(first.transfer(ADMIN, "c1", "nyc", "bos")))
    runner.start()
    try:
        assert slowed.started.wait(10)
        # another process, another worker: its own use case, the same datastore
        for source, target in (("nyc", "bos"), ("bos", "nyc"), ("bos", "chi")):
            with pytest.raises(TransferInProgress) as refused:
                transfers(stores).transfer(ADMIN, "c1", source, target)
            assert refused.value.code == "TRANSFER_IN_PROGRESS"
    finally:
        slowed.go_on.set()
        runner.join(10)
    assert [(r.entries, r.scoring) for r in results] == [(4, 4)]
    assert_records_follow_entries(stores)
    assert stores.locks.lock_holder(transfer_lock("c1"), FakeClock().now()) is None  # released
    assert transfers(stores).transfer(ADMIN, "c1", "bos", "chi").entries > 0  # the next one runs


class Crash(RuntimeError):
    pass


def test_MKT_003_a_transfer_that_crashed_between_entries_and_records_finishes_when_run_again(
    stores: SelectionStores, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where records are documents of their own (MongoDB, the fake), a transfer moves them after the entries: a
    crash between the two phases is finished by the next run. SQLite moves a record in its entry's own row."""
    records = getattr(stores.selection, "_records", None) or getattr(stores.selection, "scoring", None)
    if records is None:
        pytest.skip("the records are the entries' own rows: no step between them")

    def crash(self: object, move: MarketTransfer) -> int:
        raise Crash("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(type(records), "transfer_records", crash)
        with pytest.raises(Crash):
            transfers(stores).transfer(ADMIN, "c1", "nyc", "bos")
    report = transfers(stores).transfer(ADMIN, "c1", "nyc", "bos")
    assert (report.entries, report.scoring) == (0, 4)
    assert_records_follow_entries(stores)
    again = transfers(stores).transfer(ADMIN, "c1", "nyc", "bos")
    assert (again.entries, again.scoring) == (0, 0)


def test_MKT_003_a_transfer_that_crashed_between_chunks_finishes_when_run_again(stores: SelectionStores) -> None:
    """The crash after the first chunk (the progress callback of the CLI runs after each chunk's commit)."""

    def dies(done: int, total: int) -> None:
        raise RuntimeError("the process died here")

    crashing = transfers(stores)
    with pytest.raises(RuntimeError):
        crashing.transfer(ADMIN, "c1", "nyc", "bos", progress=dies)
    transfers(stores).transfer(ADMIN, "c1", "nyc", "bos")
    assert_records_follow_entries(stores)


def test_MKT_003_a_lock_left_by_a_dead_transfer_lapses(stores: SelectionStores) -> None:
    locks = stores.locks
    now = FakeClock().now()
    assert locks.take_lock(transfer_lock("c1"), "a dead process", now, now + timedelta(seconds=30))
    with pytest.raises(TransferInProgress):
        transfers(stores).transfer(ADMIN, "c1", "nyc", "bos")
    later = transfers(stores)
    later.clock.advance(seconds=30)  # type: ignore[attr-defined]
    assert later.transfer(ADMIN, "c1", "nyc", "bos").entries == 4
    assert_records_follow_entries(stores)


def test_MKT_003_a_running_transfer_renews_its_lock_and_stops_renewing_when_done(stores: SelectionStores) -> None:
    clock, heartbeats = FakeClock(), FakeHeartbeats()
    slowed = Slowed(stores.selection)
    first = transfers(stores, selection=cast(SelectionStore, slowed), clock=clock, heartbeats=heartbeats)
    runner = threading.Thread(target=first.transfer, args=(ADMIN, "c1", "nyc", "bos"))
    runner.start()
    try:
        assert slowed.started.wait(10)
        assert len(heartbeats.running) == 1
        clock.advance(seconds=25)
        heartbeats.beat_all()  # renewed: held until 55 s
        clock.advance(seconds=15)
        with pytest.raises(TransferInProgress):
            transfers(stores, clock=clock).transfer(ADMIN, "c1", "nyc", "bos")
    finally:
        slowed.go_on.set()
        runner.join(10)
    assert heartbeats.running == []  # stopped with the transfer
    assert stores.locks.lock_holder(transfer_lock("c1"), clock.now()) is None
