"""What only the MongoDB store promises: its indexes, its connection settings, its error translation."""

from __future__ import annotations

from typing import Any

import mongomock
import pymongo
import pytest
from pymongo.errors import DuplicateKeyError

from adapters_mongo import MongoStore, connect
from adapters_mongo.store import _index_of
from entrycore.errors import DependencyUnavailable


def test_ensure_indexes_is_idempotent_and_keeps_the_partial_filter() -> None:
    client: mongomock.MongoClient = mongomock.MongoClient()
    store = MongoStore(client["entry_service"])
    store.ensure_indexes()
    store.ensure_indexes()
    indexes = client["entry_service"]["entries"].index_information()
    assert indexes["campaign_user"]["unique"] is True
    assert indexes["campaign_code"]["unique"] is True
    assert indexes["campaign_confirmed_phone"]["partialFilterExpression"] == {"phoneConfirmed": True}
    assert indexes["user_created"]["key"] == [("userId", 1), ("dateCreated", -1)]
    client.close()


def test_a_client_gives_the_database_its_uri_names() -> None:
    assert MongoStore(mongomock.MongoClient("mongodb://localhost/tickets")).database_name == "tickets"
    assert MongoStore(mongomock.MongoClient()).database_name == "entry_service"


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
    store = MongoStore(client["entry_service"])
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
