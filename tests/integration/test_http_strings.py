"""The string rule under SPEC's field-type table over HTTP (issue 21, item 5): a control character, a
bidirectional override or a name that shows nothing is 400 ENTRY_INVALID_FIELD naming the field on the fan
route, and that item's ENTRY_INVALID_FIELD in a batch (/v2/entries) — nothing stored either way."""

from __future__ import annotations

from typing import Any

import pytest

from tests.builders import VALID_FIELDS
from tests.http_app import Api
from tests.integration.test_http_entries import assert_error

HOSTILE = [
    ("first_name", "a\u0000b"),
    ("first_name", "Ana\r\nLee"),
    ("first_name", "\u202eanA"),
    ("first_name", "\u200b\u200b"),
    ("first_name", "\u0301\u0308"),
    ("email", "ana\u0000@example.com"),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_the_fan_route_refuses_the_string_naming_the_field(api: Api, field: str, value: Any) -> None:
    answer = api.call("POST", "/c1/entries", body={"fields": {**VALID_FIELDS, field: value}})
    assert assert_error(answer, 400, "ENTRY_INVALID_FIELD")["payload"] == {"field": field}
    assert api.services.stores.entries.get("c1", "u1") is None
    assert api.services.outbox.outbox_status().backlog == 0


@pytest.mark.parametrize(("field", "value"), HOSTILE)
def test_batch_replication_refuses_that_item_alone(api: Api, field: str, value: Any) -> None:
    body = {
        "entries": [
            {"campaignId": "c1", "userId": "u1", "fields": {**VALID_FIELDS, field: value}},
            {"campaignId": "c1", "userId": "u2", "fields": {**VALID_FIELDS, "phone": "+12125550188"}},
        ]
    }
    answer = api.call("POST", "/v2/entries", user="boss", supreme=True, body=body)
    assert answer.status_code == 200, answer.data
    first, second = answer.json["results"]
    assert first["ok"] is False and first["error"]["code"] == "ENTRY_INVALID_FIELD"
    assert first["error"]["payload"] == {"field": field}
    assert second["ok"] is True
    entries = api.services.stores.entries
    assert entries.get("c1", "u1") is None and entries.get("c1", "u2") is not None


def test_an_update_that_omits_a_stored_value_keeps_it_unjudged(api: Api) -> None:
    assert api.register(VALID_FIELDS).status_code == 201
    answer = api.call("POST", "/c1/entries", body={"fields": {"first_name": "Ana\u0085"}})
    assert_error(answer, 400, "ENTRY_INVALID_FIELD")
    assert api.call("POST", "/c1/entries", body={"fields": {"first_name": "Zoë"}}).status_code == 200
