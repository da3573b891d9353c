"""RetryQueue contract (SPEC PUB-005, ``ENTRY_RETRY_QUEUE=store``): FakeRetryQueue and the stores' queues.

Requests merge per entry while queued or received; a receive hides what it hands out until it is
acknowledged or the visibility timeout passes. The stores run with a short visibility timeout, so a test
makes hidden requests visible again by waiting it out; the fake is told with ``expire()``.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import mongomock
import pymongo
import pytest
from pymongo.errors import AutoReconnect

from adapters_mongo import open_mongo
from adapters_mongo.retries import MongoRetryQueue
from adapters_sqlite import SqliteEntryStore, open_sqlite
from adapters_sqlite.retries import _ACKNOWLEDGE, _VISIBLE, SqliteRetryQueue
from entrycore.errors import DeliveryFailed
from entrycore.outbox import RetryRequest
from entrycore.ports import RetryQueue
from tests.contract.conftest import MONGODB_URI
from tests.fakes import FakeRetryQueue

VISIBILITY = 0.3  # seconds: the stores' visibility timeout in these tests
A, B, C = RetryRequest("c1", "ana"), RetryRequest("c1", "bob"), RetryRequest("c2", "ana")

_MONGODB = pytest.param(
    "mongodb", marks=pytest.mark.skipif(not MONGODB_URI, reason="ENTRY_TEST_MONGODB_URI is not set")
)


@attrs.frozen
class Queue:
    """A retry queue under test, and how to drive its visibility timeout."""

    kind: str
    queue: RetryQueue

    def make_visible_again(self) -> None:
        """Lets the visibility timeout of every request received so far pass."""
        if isinstance(self.queue, FakeRetryQueue):
            self.queue.expire()
        else:
            time.sleep(VISIBILITY + 0.05)


def open_queue(kind: str, tmp_path: Path, visibility: float) -> Iterator[Queue]:
    if kind == "fake":
        yield Queue(kind, FakeRetryQueue())
    elif kind == "sqlite":
        on_file = open_sqlite(tmp_path / "data" / "entries.db", retry_visibility=visibility)
        try:
            yield Queue(kind, on_file.retries)
        finally:
            on_file.close()
    elif kind == "mongomock":
        client: mongomock.MongoClient = mongomock.MongoClient()
        mock = open_mongo(client["entry_service"], retry_visibility=visibility)
        mock.prepare()
        try:
            yield Queue(kind, mock.retries)
        finally:
            client.close()
    else:
        assert MONGODB_URI is not None
        real: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(MONGODB_URI, w="majority")
        name = f"entry_service_test_{uuid.uuid4().hex[:12]}"
        store_on_mongodb = open_mongo(real[name], retry_visibility=visibility)
        store_on_mongodb.prepare()
        try:
            yield Queue(kind, store_on_mongodb.retries)
        finally:
            real.drop_database(name)
            real.close()


@pytest.fixture(params=["fake", "sqlite", "mongomock", _MONGODB])
def queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Queue]:
    """Each retry queue implementation in turn, empty, with a short visibility timeout."""
    yield from open_queue(request.param, tmp_path, VISIBILITY)


@pytest.fixture(params=["sqlite", "mongomock", _MONGODB])
def store_queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Queue]:
    """The stores' retry queues only (they wait; the fake never does), short visibility timeout."""
    yield from open_queue(request.param, tmp_path, VISIBILITY)


@pytest.fixture(params=["sqlite", _MONGODB])
def racing_queues(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Queue]:
    """The queues whose races prove something (not mongomock: its updates are not atomic), 60 s visibility."""
    yield from open_queue(request.param, tmp_path, 60.0)


def _requests(received: list[tuple[str, RetryRequest]]) -> Counter[RetryRequest]:
    return Counter(request for _, request in received)


def test_requests_are_received_with_handles_and_acknowledged_ones_are_gone(queues: Queue) -> None:
    queues.queue.enqueue([A, B, C])
    received = queues.queue.receive(10, 0)
    assert _requests(received) == Counter([A, B, C])
    handles = {request: handle for handle, request in received}
    assert all(isinstance(handle, str) and handle for handle in handles.values())
    assert len(set(handles.values())) == 3
    queues.queue.acknowledge([handles[A], handles[B]])
    queues.queue.acknowledge([])
    queues.make_visible_again()
    assert _requests(queues.queue.receive(10, 0)) == Counter([C])  # the unacknowledged one only


def test_duplicates_are_merged_while_queued(queues: Queue) -> None:
    queues.queue.enqueue([A, A, B])
    queues.queue.enqueue([A])
    queues.queue.enqueue([B, C])
    queues.queue.enqueue([])
    assert _requests(queues.queue.receive(10, 0)) == Counter([A, B, C])


def test_duplicates_are_merged_while_received(queues: Queue) -> None:
    queues.queue.enqueue([A])
    [(handle, _)] = queues.queue.receive(10, 0)
    queues.queue.enqueue([A, B])  # A is received (hidden): merged into it
    [(other, request)] = queues.queue.receive(10, 0)
    assert request == B
    queues.queue.acknowledge([handle, other])
    queues.queue.enqueue([A])  # A was removed with its merged duplicate: queued anew
    assert _requests(queues.queue.receive(10, 0)) == Counter([A])


def test_receive_takes_at_most_max_count(queues: Queue) -> None:
    everyone = [RetryRequest("c1", f"u{n}") for n in range(5)]
    queues.queue.enqueue(everyone)
    assert queues.queue.receive(0, 0) == []
    batches = [queues.queue.receive(2, 0) for _ in range(4)]
    assert [len(batch) for batch in batches] == [2, 2, 1, 0]
    assert sum((_requests(batch) for batch in batches), Counter()) == Counter(everyone)


def test_received_requests_are_hidden_until_the_visibility_timeout_passes(queues: Queue) -> None:
    queues.queue.enqueue([A, B])
    first = queues.queue.receive(10, 0)
    assert _requests(first) == Counter([A, B])
    assert queues.queue.receive(10, 0) == []  # hidden from every other receive
    queues.make_visible_again()
    again = queues.queue.receive(10, 0)
    assert _requests(again) == Counter([A, B])
    assert queues.queue.receive(10, 0) == []


def test_a_stale_handle_acknowledges_nothing(queues: Queue) -> None:
    queues.queue.enqueue([A])
    [(stale, _)] = queues.queue.receive(10, 0)
    queues.make_visible_again()
    [(current, _)] = queues.queue.receive(10, 0)  # another consumer's, after the timeout
    assert current != stale
    queues.queue.acknowledge([stale])
    queues.queue.enqueue([A])  # merged if A is still there (received), queued anew if it was removed
    assert queues.queue.receive(10, 0) == []
    queues.queue.acknowledge([current])
    queues.queue.enqueue([A])
    assert _requests(queues.queue.receive(10, 0)) == Counter([A])


def test_a_request_merged_while_received_is_requeued_on_acknowledge(queues: Queue) -> None:
    """The worker may have read the entry before the write that queued the new request: keep that one."""
    queues.queue.enqueue([A, B])
    held = {request: handle for handle, request in queues.queue.receive(10, 0)}
    queues.queue.enqueue([A])  # a new enrichment failure of A while a worker holds A's request
    queues.queue.acknowledge([held[A], held[B]])
    assert _requests(queues.queue.receive(10, 0)) == Counter([A])
    assert queues.queue.receive(10, 0) == []


def test_wait_seconds_zero_answers_at_once_on_an_empty_queue(queues: Queue) -> None:
    assert queues.queue.receive(10, 0) == []  # the first call may open the database
    started = time.monotonic()
    assert queues.queue.receive(10, 0) == []
    assert time.monotonic() - started < 0.1


def test_a_waiting_receive_gives_up_after_wait_seconds(store_queues: Queue) -> None:
    store_queues.queue.receive(1, 0)
    started = time.monotonic()
    assert store_queues.queue.receive(10, 0.3) == []
    assert 0.3 <= time.monotonic() - started < 1.0


def test_a_waiting_receive_gets_a_request_once_it_is_visible_again(store_queues: Queue) -> None:
    store_queues.queue.enqueue([A])
    [(handle, _)] = store_queues.queue.receive(10, 0)
    started = time.monotonic()
    [(again, request)] = store_queues.queue.receive(10, 5)
    assert request == A and again != handle
    assert time.monotonic() - started < VISIBILITY + 0.6  # one poll interval (0.2 s) after, give or take


def test_a_request_enqueued_during_a_wait_is_received(racing_queues: Queue) -> None:
    racing_queues.queue.receive(1, 0)
    timer = threading.Timer(0.1, racing_queues.queue.enqueue, [[A]])
    started = time.monotonic()
    timer.start()
    try:
        assert _requests(racing_queues.queue.receive(10, 5)) == Counter([A])
    finally:
        timer.join()
    assert time.monotonic() - started < 1.0


def test_concurrent_receivers_never_get_the_same_request(racing_queues: Queue) -> None:
    everyone = [RetryRequest(f"c{n % 3}", f"u{n}") for n in range(150)]
    racing_queues.queue.enqueue(everyone)
    got: list[list[tuple[str, RetryRequest]]] = [[] for _ in range(4)]
    failures: list[BaseException] = []

    def consume(mine: list[tuple[str, RetryRequest]]) -> None:
        try:
            while received := racing_queues.queue.receive(7, 0):
                mine.extend(received)
                racing_queues.queue.acknowledge([handle for handle, _ in received[::2]])
        except BaseException as failure:  # reported below
            failures.append(failure)

    threads = [threading.Thread(target=consume, args=(mine,)) for mine in got]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert sum((_requests(mine) for mine in got), Counter()) == Counter(everyone)  # each exactly once
    handles = [handle for mine in got for handle, _ in mine]
    assert len(set(handles)) == len(handles)


# What only the stores promise: their failures are DeliveryFailed, their options, their schema.


def test_a_failing_sqlite_file_is_delivery_failed(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a directory")
    _every_call_is_delivery_failed(open_sqlite(tmp_path / "file" / "entries.db").retries)


def _every_call_is_delivery_failed(store: Any) -> None:
    with pytest.raises(DeliveryFailed):
        store.enqueue([A])
    with pytest.raises(DeliveryFailed):
        store.receive(10, 0)
    with pytest.raises(DeliveryFailed):
        store.acknowledge(["h"])


class _BrokenCollection:
    """A collection whose every call fails as pymongo does when the server is gone."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> Any:
            raise AutoReconnect("connection closed")

        return fail


class _BrokenDatabase:
    """A database whose collections and commands all fail as pymongo does when the server is gone."""

    def __getitem__(self, name: str) -> _BrokenCollection:
        return _BrokenCollection()

    def command(self, *args: Any, **kwargs: Any) -> Any:
        raise AutoReconnect("connection closed")


def test_a_failing_mongodb_is_delivery_failed() -> None:
    _every_call_is_delivery_failed(MongoRetryQueue(_BrokenDatabase()))


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan"), float("inf")])
def test_the_visibility_timeout_must_be_positive(tmp_path: Path, seconds: float) -> None:
    with pytest.raises(ValueError, match="retry_visibility"):
        SqliteRetryQueue(SqliteEntryStore(tmp_path / "entries.db").database, retry_visibility=seconds)
    with pytest.raises(ValueError, match="retry_visibility"):
        open_sqlite(tmp_path / "entries.db", retry_visibility=seconds)
    with pytest.raises(ValueError, match="retry_visibility"):
        MongoRetryQueue(mongomock.MongoClient()["entry_service"], retry_visibility=seconds)
    with pytest.raises(ValueError, match="retry_visibility"):
        open_mongo(mongomock.MongoClient()["entry_service"], retry_visibility=seconds)


def test_mongodb_retry_queue_indexes_are_created_idempotently() -> None:
    client: mongomock.MongoClient = mongomock.MongoClient()
    stores = open_mongo(client["entry_service"])
    stores.prepare()
    stores.prepare()
    indexes = client["entry_service"]["retry_queue"].index_information()
    assert indexes["visible_at"]["key"] == [("visibleAt", 1)]
    assert indexes["handle"]["key"] == [("handle", 1)]
    client.close()


def test_a_sqlite_file_of_schema_2_gains_the_retry_queue(tmp_path: Path) -> None:
    path = tmp_path / "entries.db"
    old = SqliteEntryStore(path)
    old.ping()
    old.close()
    with sqlite3.connect(path) as raw:  # back to what the release before the retry queue left
        raw.executescript("DROP TABLE retry_queue; PRAGMA user_version = 2;")
    raw.close()
    stores = open_sqlite(path)
    try:
        stores.retries.enqueue([A])
        assert _requests(stores.retries.receive(10, 0)) == Counter([A])
    finally:
        stores.close()


def test_sqlite_receives_and_acknowledges_through_the_indexes(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    store.ping()
    store.close()
    with sqlite3.connect(tmp_path / "entries.db") as raw:
        visible = raw.execute(f"EXPLAIN QUERY PLAN {_VISIBLE}", ("x", 1)).fetchall()
        handle = raw.execute(f"EXPLAIN QUERY PLAN {_ACKNOWLEDGE}", ("h",)).fetchall()
    raw.close()
    assert "retry_queue_visible" in str(visible) and "TEMP B-TREE" not in str(visible)
    assert "retry_queue_handle" in str(handle)


class _AcknowledgeFirst:
    """MongoDB's retry collection, acknowledging ``handle`` just before the first call of ``method``: a worker's
    acknowledge landing between the steps of an enqueue."""

    def __init__(self, collection: Any, method: str, acknowledge: Any) -> None:
        self._collection, self._method, self._acknowledge = collection, method, acknowledge

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._collection, name)
        if name != self._method or self._acknowledge is None:
            return found
        acknowledge, self._acknowledge = self._acknowledge, None

        def first(*args: Any, **kwargs: Any) -> Any:
            acknowledge()
            return found(*args, **kwargs)

        return first


@pytest.mark.parametrize("step", ["update_many", "insert_many"])
def test_PUB_005_an_acknowledge_between_the_steps_of_an_enqueue_loses_no_request(tmp_path: Path, step: str) -> None:
    """MongoDB enqueues in two steps (flag the held requests, insert the others): an acknowledge of the held
    request landing before either step leaves the new request queued."""
    with contextlib.ExitStack() as stack:
        queues = stack.enter_context(contextlib.contextmanager(open_queue)("mongomock", tmp_path, VISIBILITY))
        store: Any = queues.queue
        store.enqueue([A])
        [(handle, _)] = store.receive(10, 0)  # a worker holds A's request
        plain = store._retries
        store._retries = _AcknowledgeFirst(plain, step, lambda: store.acknowledge([handle]))
        try:
            store.enqueue([A])  # a new enrichment failure of A meanwhile
        finally:
            store._retries = plain
        assert _requests(store.receive(10, 0)) == Counter([A])
