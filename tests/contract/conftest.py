"""Fixtures of the contract suite: every store implementation (EntryStore, InviteStore, AttemptStore, Outbox)."""

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

from adapters_mongo import MongoScoring, MongoSelection, MongoStore
from adapters_sqlite import SqliteScoring, SqliteSelection, SqliteStore
from entrycore.ports import AttemptStore, EntryStore, InviteStore, Outbox, ScoringStore, SelectionStore
from tests.fakes import FakeEntryStore, FakeInviteStore, FakeScoring, FakeSelection

MONGODB_URI = os.environ.get("ENTRY_TEST_MONGODB_URI")


@attrs.frozen
class Stores:
    """The store under test, seen through each of its ports (one object for the real stores)."""

    kind: str
    entries: EntryStore
    invites: InviteStore
    attempts: AttemptStore
    outbox: Outbox


def fake_stores() -> Iterator[Stores]:
    store = FakeEntryStore()
    yield Stores("fake", store, FakeInviteStore(), store, store)


def sqlite_stores(tmp_path: Path) -> Iterator[Stores]:
    store = SqliteStore(tmp_path / "data" / "entries.db")
    try:
        yield Stores("sqlite", store, store, store, store)
    finally:
        store.close()


def mongomock_stores() -> Iterator[Stores]:
    client: mongomock.MongoClient = mongomock.MongoClient()
    store = MongoStore(client["entry_service"])
    store.ensure_indexes()  # on the empty collections: mongomock cannot index existing documents
    try:
        yield Stores("mongomock", store, store, store, store)
    finally:
        client.close()


def mongodb_stores() -> Iterator[Stores]:
    assert MONGODB_URI is not None
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(MONGODB_URI, w="majority")
    name = f"entry_service_test_{uuid.uuid4().hex[:12]}"  # a database of its own, dropped afterwards
    store = MongoStore(client[name])
    store.ensure_indexes()
    try:
        yield Stores("mongodb", store, store, store, store)
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
    """A store seen through the ports of scoring and selection (SPEC §7), on its own connections."""

    kind: str
    entries: EntryStore
    scoring: ScoringStore
    views: SelectionStore


@contextmanager
def open_selection_stores(kind: str, tmp_path: Path) -> Iterator[SelectionStores]:
    """The empty entry, scoring and selection stores of one implementation (fake, sqlite or mongomock)."""
    if kind == "sqlite":
        store = SqliteStore(tmp_path / "selection" / "entries.db")
        try:
            yield SelectionStores(kind, store, SqliteScoring(store.database), SqliteSelection(store.database))
        finally:
            store.close()
    elif kind == "mongomock":
        client: mongomock.MongoClient = mongomock.MongoClient()
        mongo = MongoStore(client["entry_service"])
        mongo.ensure_indexes()
        try:
            yield SelectionStores(kind, mongo, MongoScoring(mongo.database), MongoSelection(mongo.database))
        finally:
            client.close()
    else:
        fake = FakeEntryStore()
        scoring = FakeScoring(fake)
        yield SelectionStores(kind, fake, scoring, FakeSelection(fake, scoring))


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
