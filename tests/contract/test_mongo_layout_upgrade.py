"""OPS-006 on MongoDB, a database an earlier release left: data in its collections, no ``meta`` layout record (the
releases before it had none) or an older version in it, an index missing. A start brings it to this release's
layout (the indexes made, the version recorded) losing nothing, and a second start changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import mongomock
import pytest

from adapters_mongo import MongoEntryStore, open_mongo
from adapters_mongo.indexes import LAYOUT_VERSION
from entry_service.bootstrap import prepare_store
from entrycore.outbox import OutboxMessage, RetryRequest
from entrycore.ports import Stores
from entrywire.documents import documents
from tests.contract.entries import T0, a_full_entry, an_entry


def indexes(database: Any) -> dict[str, list[str]]:
    return {name: sorted(database[name].index_information()) for name in sorted(database.list_collection_names())}


def contents(database: Any) -> dict[str, list[dict[str, Any]]]:
    return {
        name: sorted((document for document in database[name].find()), key=repr)
        for name in sorted(database.list_collection_names())
        if name != "meta"
    }


def an_earlier_release(database: Any) -> Stores:
    """Data written with every index in place, then the layout record and one index taken away."""
    stores = open_mongo(database)
    stores.prepare()  # mongomock indexes empty collections only
    message = OutboxMessage("m1", "event", "c1", "u1", "c1:u1", {"type": "entry.created"}, T0)
    stores.entries.create(a_full_entry(), [message])
    stores.entries.create(an_entry(user_id="u2", phone="+12125550199", confirmed=False))
    stores.invites.add("c1", ["INVITE-1"])
    stores.attempts.record_failed_attempt("c1", "u2", T0)
    stores.retries.enqueue([RetryRequest("c1", "u2")])
    database["meta"].drop()
    removable = [name for name in database["entries"].index_information() if name != "_id_"]
    database["entries"].drop_index(removable[-1])
    return stores


@pytest.mark.parametrize("recorded", [None, 0])
def test_OPS_006_an_earlier_releases_database_is_brought_to_this_layout_losing_nothing_idempotently(
    recorded: int | None,
) -> None:
    reference: Any = mongomock.MongoClient()["entry_service"]
    MongoEntryStore(reference).ensure_indexes()
    database: Any = mongomock.MongoClient()["entry_service"]
    stores = an_earlier_release(database)
    if recorded is not None:
        database["meta"].insert_one({"_id": "layout", "version": recorded})
    before = contents(database)
    assert indexes(database)["entries"] != indexes(reference)["entries"]

    prepare_store(open_mongo(database))
    assert list(database["meta"].find()) == [{"_id": "layout", "version": LAYOUT_VERSION}]
    layout = indexes(database)
    assert layout["entries"] == indexes(reference)["entries"]  # the missing index is back
    assert contents(database) == before
    got = stores.entries.get("c1", "u1")
    assert got is not None and documents.unstructure(got) == documents.unstructure(a_full_entry())
    assert stores.entries.confirmed_holder("c1", "+12125550123") == "u1"
    assert stores.invites.contains("c1", "INVITE-1")
    assert stores.attempts.failed_attempts("c1", "u2", T0 - timedelta(days=1)) == 1

    prepare_store(open_mongo(database))  # a second start: nothing changes
    assert list(database["meta"].find()) == [{"_id": "layout", "version": LAYOUT_VERSION}]
    assert indexes(database) == layout
    assert contents(database) == before
    assert [m.id for m in stores.outbox.claim("relay", 10, T0 + timedelta(hours=1), timedelta(seconds=5))] == ["m1"]
    assert [request for _, request in stores.retries.receive(10, 0)] == [RetryRequest("c1", "u2")]
