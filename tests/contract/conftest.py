"""Fixtures of the contract suite: every store implementation (EntryStore, InviteStore, AttemptStore, Outbox, Locks)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
import mongomock
import pymongo
import pytest

from adapters_mongo import open_mongo
from adapters_sqlite import open_sqlite
from entrycore.ports import (
    AttemptStore,
    EntryStore,
    InviteStore,
    Locks,
    Outbox,
    RetryQueue,
    ScoringStore,
    SelectionStore,
)
from tests.fakes import FakeEntryStore, FakeInviteStore, FakeScoring, FakeSelection

MONGODB_URI = os.environ.get("ENTRY_TEST_MONGODB_URI")


@attrs.frozen
class Stores:
    """The store under test, seen through each of its ports."""

    kind: str
    entries: EntryStore
    invites: InviteStore
    attempts: AttemptStore
    outbox: Outbox
    locks: Locks


def fake_stores() -> Iterator[Stores]:
    store = FakeEntryStore()
    yield Stores("fake", store, FakeInviteStore(), store, store, store)


def sqlite_stores(tmp_path: Path) -> Iterator[Stores]:
    opened = open_sqlite(tmp_path / "data" / "entries.db")
    try:
        yield Stores("sqlite", opened.entries, opened.invites, opened.attempts, opened.outbox, opened.locks)
    finally:
        opened.close()


def mongomock_stores() -> Iterator[Stores]:
    client: mongomock.MongoClient = mongomock.MongoClient()
    opened = open_mongo(client["entry_service"])
    opened.prepare()  # on the empty collections: mongomock cannot index existing documents
    try:
        yield Stores("mongomock", opened.entries, opened.invites, opened.attempts, opened.outbox, opened.locks)
    finally:
        client.close()


def mongodb_stores() -> Iterator[Stores]:
    assert MONGODB_URI is not None
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(MONGODB_URI, w="majority")
    name = f"entry_service_test_{uuid.uuid4().hex[:12]}"  # a database of its own, dropped afterwards
    opened = open_mongo(client[name])
    opened.prepare()
    try:
        yield Stores("mongodb", opened.entries, opened.invites, opened.attempts, opened.outbox, opened.locks)
    finally:
        client.drop_database(name)
        client.close()


KINDS = ["fake", "sqlite", "mongomock", *(["mongodb"] if MONGODB_URI else [])]


@contextmanager
def open_stores(kind: str, tmp_path: Path) -> Iterator[Stores]:
    """The empty stores of one implementation, for a test that compares implementations side by side."""
    if kind == "sqlite":
        yield from sqlite_stores(tmp_path)
    elif kind == "mongomock":
        yield from mongomock_stores()
    elif kind == "mongodb":
        yield from mongodb_stores()
    else:
        yield from fake_stores()


@attrs.frozen
class SelectionStores:
    """A store seen through the ports of scoring and selection (SPEC §7), and the other ports of the same
    datastore that transfers and erasures touch (locks, outbox, attempts, its own retry queue: None for the
    fake, whose erasure keeps no queue), on its own connections."""

    kind: str
    entries: EntryStore
    scoring: ScoringStore
    selection: SelectionStore
    locks: Locks
    outbox: Outbox
    attempts: AttemptStore
    retries: RetryQueue | None


@contextmanager
def open_selection_stores(kind: str, tmp_path: Path) -> Iterator[SelectionStores]:
    """The empty entry, scoring and selection stores of one implementation (fake, sqlite or mongomock)."""
    if kind == "sqlite":
        on_file = open_sqlite(tmp_path / "selection" / "entries.db")
        try:
            yield SelectionStores(
                kind,
                on_file.entries,
                on_file.scoring,
                on_file.selection,
                on_file.locks,
                on_file.outbox,
                on_file.attempts,
                on_file.retries,
            )
        finally:
            on_file.close()
    elif kind == "mongomock":
        client: mongomock.MongoClient = mongomock.MongoClient()
        mongo = open_mongo(client["entry_service"])
        mongo.prepare()
        try:
            yield SelectionStores(
                kind,
                mongo.entries,
                mongo.scoring,
                mongo.selection,
                mongo.locks,
                mongo.outbox,
                mongo.attempts,
                mongo.retries,
            )
        finally:
            client.close()
    else:
        fake = FakeEntryStore()
        scoring = FakeScoring(fake)
        yield SelectionStores(kind, fake, scoring, FakeSelection(fake, scoring), fake, fake, fake, None)


@pytest.fixture(
    params=[
        "fake",
        "sqlite",
        "mongomock",
        pytest.param("mongodb", marks=pytest.mark.skipif(not MONGODB_URI, reason="ENTRY_TEST_MONGODB_URI is not set")),
    ]
)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    """Each store implementation in turn, empty."""
    with open_stores(request.param, tmp_path) as stores:
        yield stores
