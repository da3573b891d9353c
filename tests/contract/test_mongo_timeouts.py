"""A slow MongoDB is bounded (SPEC PUB-007: no dependency holds a request past ~3 s): every call of the store,
its retry included, ends within the client's operation timeout; admin work over a whole campaign runs under the
admin timeout instead. Checked with the real pymongo client against a loopback server that hangs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import mongomock
import pytest
from pymongo import _csot

from adapters_mongo import MongoEntryStore, MongoScoringStore, MongoSelectionStore, open_mongo
from adapters_mongo.errors import ADMIN_TIMEOUT, OPERATION_TIMEOUT
from entrycore.eligibility import EligibilityCriteria
from entrycore.errors import DependencyUnavailable
from entrycore.markets import MarketTransfer
from entrycore.ports import Stores
from entrycore.scoring import ScoreRow
from tests.builders import campaign
from tests.contract.entries import an_entry
from tests.hung_mongo import HungMongo


@pytest.fixture
def hung() -> Iterator[HungMongo]:
    server = HungMongo()
    yield server
    server.close()


@pytest.mark.parametrize(
    "call",
    [
        lambda stores: stores.entries.get("c1", "u1"),
        lambda stores: stores.entries.confirmed_holder("c1", "+12125550123"),
        lambda stores: stores.attempts.failed_attempts("c1", "u1", datetime(2026, 1, 1, tzinfo=UTC)),
    ],
)
def test_a_hung_server_holds_a_fan_s_call_for_the_operation_timeout_only(
    hung: HungMongo, call: Callable[[Stores], Any]
) -> None:
    stores = open_mongo(hung.uri)  # connect's production client settings
    try:
        started = time.monotonic()
        with pytest.raises(DependencyUnavailable):
            call(stores)
        waited = time.monotonic() - started
    finally:
        stores.close()
    assert hung.commands.count("hello") + hung.commands.count("ismaster") >= 1  # it was reached, then hung
    assert waited < OPERATION_TIMEOUT + 3  # not 10 s and a retry of 10 s more (socketTimeoutMS before)


class _Timeouts:
    """A collection recording the operation timeout in force at each call, and at each step of the cursors it
    returns (a cursor's network calls happen when it is iterated, not when it is made)."""

    def __init__(self, collection: Any, seen: list[float | None] | None = None) -> None:
        self._collection = collection
        self.seen: list[float | None] = [] if seen is None else seen

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._collection, name)
        if not callable(found):
            return found

        def recorded(*args: Any, **kwargs: Any) -> Any:
            if name != "close":  # a cursor's cleanup, whenever the generator ends: bounded by socketTimeoutMS
                self.seen.append(_csot.get_timeout())
            result = found(*args, **kwargs)
            if result is self._collection:  # a cursor's sort/skip/limit: the same cursor, still recorded
                return self
            return _Timeouts(result, self.seen) if hasattr(result, "__next__") else result

        return recorded

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        self.seen.append(_csot.get_timeout())
        return next(self._collection)


@pytest.fixture
def database() -> Any:
    db = mongomock.MongoClient()["entry_service"]
    MongoEntryStore(db).ensure_indexes()
    return db


def test_admin_work_over_a_campaign_runs_under_the_admin_timeout(database: Any) -> None:
    move = MarketTransfer.of(campaign(), "nyc", "phl", datetime(2026, 12, 1, tzinfo=UTC), "x")
    MongoEntryStore(database).create(an_entry("c1", "u1", phone="+12125550123", confirmed=True))  # a record to write
    selection, scoring = MongoSelectionStore(database), MongoScoringStore(database)
    works: list[tuple[Any, str, Callable[[], Any]]] = [
        (selection, "_entries", lambda: selection.transfer_entries(move)),
        (selection, "_entries", lambda: selection.registration_tally("c1")),
        (selection, "_entries", lambda: selection.timeline("c1", "day")),
        (selection, "_entries", lambda: selection.transfer_entries(move)),
        (scoring, "_scoring", lambda: scoring.flip_verdicts("c1", "bot", "exclude")),
        (scoring, "_scoring", lambda: scoring.eligibility_counts("c1", EligibilityCriteria(), ["nyc"])),
        (scoring, "_scoring", lambda: scoring.eligible_page("c1", EligibilityCriteria(), 10, 0)),
        (scoring, "_scoring", lambda: list(scoring.eligible("c1", EligibilityCriteria()))),
        (scoring, "_scoring", lambda: scoring.upsert_scores("c1", [ScoreRow(0, "+12125550123", 1.0)], [0.5])),
        (scoring, "_scoring", lambda: scoring.copy_entries("c1", ["u1"])),
        (scoring, "_scoring", lambda: scoring.tag("c1", "vip", "phone", ["+12125550123"])),
    ]
    for owner, attribute, work in works:
        recording = _Timeouts(getattr(owner, attribute))
        setattr(owner, attribute, recording)
        work()
        assert recording.seen and set(recording.seen) == {ADMIN_TIMEOUT}, (attribute, recording.seen)
    assert _csot.get_timeout() is None  # nothing leaks out of the blocks


def test_a_fan_s_calls_keep_the_client_s_operation_timeout(database: Any) -> None:
    store = MongoEntryStore(database)
    recording = _Timeouts(store._entries)
    store._entries = recording
    store.get("c1", "u1")
    store.confirmed_holder("c1", "+12125550123")
    assert recording.seen == [None, None]  # None: pymongo applies the client's timeoutMS (OPERATION_TIMEOUT)
