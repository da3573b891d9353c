"""What only the MongoDB store promises: its indexes, its connection settings, its error translation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import mongomock
import pymongo
import pytest
from pymongo.errors import DuplicateKeyError

from adapters_mongo import MongoEntryStore, connect, open_mongo
from adapters_mongo.store import _index_of
from entrycore.errors import DependencyUnavailable
from entrycore.outbox import EVENT, OutboxMessage
from entrycore.ports import Stores
from entrywire.documents import documents
from tests.contract.entries import T0, an_entry


def test_ensure_indexes_is_idempotent_and_keeps_the_partial_filter() -> None:
    client: mongomock.MongoClient = mongomock.MongoClient()
    store = MongoEntryStore(client["entry_service"])
    store.ensure_indexes()
    store.ensure_indexes()
    indexes = client["entry_service"]["entries"].index_information()
    assert indexes["campaign_user"]["unique"] is True
    assert indexes["campaign_code"]["unique"] is True
    assert indexes["campaign_confirmed_phone"]["partialFilterExpression"] == {"phoneConfirmed": True}
    assert indexes["user_created"]["key"] == [("userId", 1), ("dateCreated", -1)]
    assert indexes["outbox_claim"]["partialFilterExpression"] == {"outboxSince": {"$exists": True}}
    assert indexes["outbox_ids"]["key"] == [("outbox.id", 1)]
    attempts = client["entry_service"]["attempts"].index_information()
    assert attempts["campaign_user_at"]["key"] == [("campaignId", 1), ("userId", 1), ("at", 1)]
    client.close()


def _stores() -> tuple[Stores, Any]:
    db: Any = mongomock.MongoClient()["entry_service"]
    stores = open_mongo(db)
    stores.prepare()
    return stores, db


def _message(number: int) -> OutboxMessage:
    return OutboxMessage(f"m{number}", EVENT, "c1", "u1", "c1:x", {"n": number}, T0)


def test_pending_messages_live_in_the_entry_document_until_delivered() -> None:
    stores, db = _stores()
    stores.entries.create(an_entry(), [_message(1)])
    stores.entries.replace(an_entry(version=2), 1, [_message(2)])
    doc = db["entries"].find_one({"userId": "u1"})
    assert [m["id"] for m in doc["outbox"]] == ["m1", "m2"]
    assert doc["outboxSince"] == "2026-11-27T12:00:00.123Z m1"
    stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))
    stores.outbox.delivered("relay", ["m1", "m2"], T0)
    doc = db["entries"].find_one({"userId": "u1"}, {"_id": False})
    assert set(doc) == {*documents.unstructure(an_entry(version=2)), "outboxRev"}  # the revision is never reset
    assert stores.entries.get("c1", "u1") == an_entry(version=2)


def test_recording_a_failure_forgets_the_entrys_failures_older_than_a_day() -> None:
    stores, db = _stores()
    stores.attempts.record_failed_attempt("c1", "ana", T0)
    stores.attempts.record_failed_attempt("c1", "bob", T0)
    stores.attempts.record_failed_attempt("c1", "ana", T0 + timedelta(days=1, milliseconds=1))
    assert sorted(d["userId"] for d in db["attempts"].find()) == ["ana", "bob"]


def test_a_client_gives_the_database_its_uri_names() -> None:
    assert MongoEntryStore(mongomock.MongoClient("mongodb://localhost/tickets")).database_name == "tickets"
    assert MongoEntryStore(mongomock.MongoClient()).database_name == "entry_service"


@pytest.mark.parametrize(
    ("uri", "database"),
    [("mongodb://127.0.0.1:1/tickets", "tickets"), ("mongodb://127.0.0.1:1/?appname=x", "entry_service")],
)
def test_connect_takes_the_database_from_the_uri(uri: str, database: str) -> None:
    store = connect(uri)  # lazy: nothing listens there, and nothing is asked yet
    try:
        assert store.database_name == database
    finally:
        store.close()


def test_connect_refuses_a_bad_uri() -> None:
    with pytest.raises(ValueError, match="MongoDB URI"):
        connect("postgres://localhost/db")


def test_an_unreachable_server_is_dependency_unavailable() -> None:
    client: pymongo.MongoClient[dict[str, Any]] = pymongo.MongoClient(
        "mongodb://127.0.0.1:1", serverSelectionTimeoutMS=50, connectTimeoutMS=50
    )
    store = MongoEntryStore(client["entry_service"])
    try:
        with pytest.raises(DependencyUnavailable):  # every call goes through the same translation
            store.ping()
    finally:
        client.close()


@pytest.mark.parametrize(
    ("details", "index"),
    [
        ({"keyPattern": {"campaignId": 1, "code": 1}, "keyValue": {}}, "campaign_code"),
        ({"keyPattern": {"campaignId": 1, "phone": 1}}, "campaign_confirmed_phone"),
        ({"keyPattern": {"campaignId": 1, "userId": 1}}, "campaign_user"),
        (
            {"errmsg": "E11000 duplicate key error collection: db.entries index: campaign_code dup key: {}"},
            "campaign_code",
        ),
        (None, None),  # mongomock names no index: the store looks for the colliding document instead
    ],
)
def test_a_real_duplicate_key_error_names_its_index(details: dict[str, Any] | None, index: str | None) -> None:
    assert _index_of(DuplicateKeyError("E11000 Duplicate Key Error", 11000, details)) == index
