"""OPS-006 on MongoDB: every start brings the collections and indexes to this release's layout and records it in
``meta``, idempotently; a database laid out by a newer release is refused before anything is changed."""

from __future__ import annotations

import mongomock
import pytest

from adapters_mongo import open_mongo
from adapters_mongo.indexes import LAYOUT_VERSION
from entry_service.bootstrap import prepare_store
from entry_service.settings import ConfigError


def test_OPS_006_a_start_records_the_layout_idempotently() -> None:
    database = mongomock.MongoClient()["entry_service"]
    stores = open_mongo(database)
    prepare_store(stores)
    indexes = sorted(database["entries"].index_information())
    prepare_store(stores)
    assert list(database["meta"].find()) == [{"_id": "layout", "version": LAYOUT_VERSION}]
    assert sorted(database["entries"].index_information()) == indexes
    assert len(indexes) > 1


def test_OPS_006_a_database_of_a_newer_layout_is_refused_unchanged() -> None:
    database = mongomock.MongoClient()["entry_service"]
    database["meta"].insert_one({"_id": "layout", "version": LAYOUT_VERSION + 1})
    with pytest.raises(ConfigError) as refused:
        prepare_store(open_mongo(database))
    message = str(refused.value)
    assert "\n" not in message
    assert f"layout version {LAYOUT_VERSION + 1}, newer than this release's {LAYOUT_VERSION}" in message
    assert database.list_collection_names() == ["meta"]  # no index, no collection made
    assert list(database["meta"].find()) == [{"_id": "layout", "version": LAYOUT_VERSION + 1}]
