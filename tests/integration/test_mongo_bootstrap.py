"""The composition root makes a MongoDB store enforce its uniqueness without a manual ``db init``: the
indexes are ensured whenever services are built (ENT-001, PHN-003), and a conflicting index stops the start."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mongomock
import pytest

from adapters_mongo import open_mongo
from entry_service import open_services
from entry_service.bootstrap import Services, build
from entry_service.settings import ConfigError, Settings
from entrycore.caller import Caller
from entrycore.errors import EntryExists, PhoneAlreadyConfirmed, PhoneTaken
from entrycore.usecases.registrations import Submission
from tests.builders import VALID_FIELDS
from tests.contract.entries import an_entry
from tests.http_app import write_sources
from tests.integration.test_http_phones import phone_token


@pytest.fixture
def database() -> Iterator[Any]:
    client: mongomock.MongoClient = mongomock.MongoClient()
    yield client["entry_service"]
    client.close()


def services_on(database: Any, folder: Path) -> Services:
    return build(Settings.from_env(write_sources(folder)), stores=open_mongo(database))


def test_services_built_on_a_fresh_mongodb_reject_a_second_entry_and_a_second_confirmed_phone(
    database: Any, tmp_path: Path
) -> None:
    services = services_on(database, tmp_path)  # no `entry-service db init` before
    store = services.stores.entries
    store.create(an_entry(user_id="ana"))
    with pytest.raises(EntryExists):  # ENT-001 in the datastore: the same fan twice
        store.create(an_entry(user_id="ana", code="OTHER"))
    store.create(an_entry(user_id="bob", phone="+12125550100", confirmed=True))
    with pytest.raises(PhoneTaken):  # PHN-003 in the datastore, not only in the use case
        store.create(an_entry(user_id="cy", phone="+12125550100", confirmed=True))

    # And through the use cases: fan-2 cannot confirm the phone fan-1 confirmed.
    for fan in ("u8", "u9"):
        services.registrations.register(Caller(fan), "ppc", Submission(dict(VALID_FIELDS)))
    services.phones.confirm_phone(Caller("u8"), "ppc", phone_token(sub="u8"))
    with pytest.raises(PhoneAlreadyConfirmed):
        services.phones.confirm_phone(Caller("u9"), "ppc", phone_token(sub="u9"))
    assert {"campaign_user", "campaign_code", "campaign_confirmed_phone"} <= set(
        database["entries"].index_information()
    )


def test_a_second_start_finds_the_indexes_and_changes_nothing(database: Any, tmp_path: Path) -> None:
    services_on(database, tmp_path)
    before = database["entries"].index_information()
    services_on(database, tmp_path)
    assert database["entries"].index_information() == before


def test_a_conflicting_index_stops_the_start_with_one_line(database: Any, tmp_path: Path) -> None:
    database["entries"].create_index([("campaignId", 1), ("phone", 1)], name="campaign_confirmed_phone")  # not unique
    with pytest.raises(ConfigError, match=r"^ENTRY_STORE: index campaign_confirmed_phone of entries .*options"):
        services_on(database, tmp_path)


def test_an_index_on_the_same_keys_with_other_options_stops_the_start(database: Any, tmp_path: Path) -> None:
    database["entries"].create_index([("campaignId", 1), ("userId", 1)], name="mine")  # not unique
    with pytest.raises(ConfigError, match="ENTRY_STORE: an index on the keys of campaign_user"):
        services_on(database, tmp_path)


def test_unrelated_indexes_of_other_kinds_do_not_stop_the_start(database: Any, tmp_path: Path) -> None:
    database["entries"].create_index([("userId", "hashed")], name="shard_key")
    database["entries"].create_index([("email", "text")], name="search")
    services = services_on(database, tmp_path)
    services.stores.entries.create(an_entry(user_id="ana"))
    with pytest.raises(EntryExists):
        services.stores.entries.create(an_entry(user_id="ana", code="OTHER"))


def test_the_library_entry_point_runs_on_the_callers_own_database_and_leaves_its_client_open(
    database: Any, tmp_path: Path
) -> None:
    # docs/library.md: open_services(config, stores=adapters_mongo.open_mongo(your_db))
    with open_services(write_sources(tmp_path), stores=open_mongo(database)) as services:
        registered = services.registrations.register(Caller("u8"), "ppc", Submission(dict(VALID_FIELDS)))
    assert registered.is_new
    assert [doc["userId"] for doc in database["entries"].find()] == ["u8"]  # the caller's database, not a file
    assert not (tmp_path / "data" / "entries.db").exists()
    assert database["entries"].count_documents({}) == 1  # closing the services left the caller's client usable
