"""Fixtures of the contract suite: every EntryStore/InviteStore implementation, ready and empty."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import mongomock
import pymongo
import pytest

from adapters_mongo import MongoStore
from adapters_sqlite import SqliteStore
from entrycore.ports import EntryStore, InviteStore
from tests.fakes import FakeEntryStore, FakeInviteStore

MONGODB_URI = os.environ.get("ENTRY_TEST_MONGODB_URI")


@attrs.frozen
class Stores:
    """The store under test, seen through each of its ports (one object for the real stores)."""

    kind: str
    entries: EntryStore
    invites: InviteStore


def fake_stores() -> Iterator[Stores]:
    yield Stores("fake", FakeEntryStore(), FakeInviteStore())


def sqlite_stores(tmp_path: Path) -> Iterator[Stores]:
    store = SqliteStore(tmp_path / "data" / "entries.db")
    try:
        yield Stores("sqlite", store, store)
    finally:
        store.close()


def mongomock_stores() -> Iterator[Stores]:
    client: mongomock.MongoClient = mongomock.MongoClient()
    store = MongoStore(client["entry_service"])
    store.ensure_indexes()  # on the empty collections: mongomock cannot index existing documents
    try:
        yield Stores("mongomock", store, store)
    finally:
        client.close()


def mongodb_stores() -> Iterator[Stores]:
    assert MONGODB_URI is not None
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(MONGODB_URI, w="majority")
    name = f"entry_service_test_{uuid.uuid4().hex[:12]}"  # a database of its own, dropped afterwards
    store = MongoStore(client[name])
    store.ensure_indexes()
    try:
        yield Stores("mongodb", store, store)
    finally:
        client.drop_database(name)
        client.close()


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
    kind = request.param
    if kind == "sqlite":
        yield from sqlite_stores(tmp_path)
    elif kind == "mongomock":
        yield from mongomock_stores()
    elif kind == "mongodb":
        yield from mongodb_stores()
    else:
        yield from fake_stores()
