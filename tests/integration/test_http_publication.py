"""HTTP: every change publishes its event through the outbox (PUB-001/002), admin outbox and refresh routes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.builders import VALID_FIELDS
from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_phones import confirm, phone_token
from tests.jsonl import json_lines


def events(api: Api) -> list[dict[str, Any]]:
    api.services.relay.drain()
    path = Path(api.services.settings.data_dir) / "events.jsonl"
    return json_lines(path)


def test_PUB_001_create_update_confirm_publish_api_events(api: Api) -> None:
    created = api.register(VALID_FIELDS, campaign="ppc", user="u2").get_json()
    api.register({"optional_markets": ["chi"]}, campaign="ppc", user="u2")
    confirm(api, phone_token())
    published = events(api)
    assert [e["type"] for e in published] == ["entry.created", "entry.updated", "entry.phone_confirmed"]
    first = published[0]
    assert set(first) == {"eventId", "type", "occurredAt", "partitionKey", "campaign", "entry", "fraud"}
    assert first["partitionKey"] == "ppc:+12125550123"
    assert first["campaign"] == {"id": "ppc", "name": "Tour 2027"}
    assert first["entry"] == {
        "campaignId": "ppc",
        "userId": "u2",
        "fields": created["fields"],
        "markets": [{"marketId": "nyc", "rank": 0}, {"marketId": "bos", "rank": 1}, {"marketId": "phl", "rank": 2}],
        "phoneConfirmed": False,
        "locale": "en-US",
        "dateCreated": created["dateCreated"],
        "dateUpdated": created["dateUpdated"],
    }
    assert first["fraud"] is None  # ENTRY_FRAUD=off
    assert published[1]["entry"]["markets"] == [{"marketId": "nyc", "rank": 0}, {"marketId": "chi", "rank": 1}]
    assert published[2]["entry"]["phoneConfirmed"] is True
    assert len({e["eventId"] for e in published}) == 3


def test_rejected_writes_publish_nothing(api: Api) -> None:
    assert_error(api.register({**VALID_FIELDS, "score": 1}), 400, "ENTRY_INVALID_FIELD")
    assert_error(api.register(VALID_FIELDS, campaign="closed"), 403, "CAMPAIGN_NOT_OPEN")
    assert_error(api.register({**VALID_FIELDS, "first_name": "\ud800"}), 400, "ENTRY_INVALID_FIELD")
    entries = api.services.stores.entries
    assert entries.get("c1", "u1") is None and entries.get("closed", "u1") is None
    assert api.services.outbox.outbox_status().backlog == 0
    assert events(api) == []
    assert api.register(VALID_FIELDS).status_code == 201  # the same fan, now valid: exactly its own event
    assert [e["type"] for e in events(api)] == ["entry.created"]


def test_outbox_route(api: Api) -> None:
    assert_error(api.call("GET", "/outbox"), 403, "FORBIDDEN")
    empty = api.call("GET", "/outbox", user="boss", supreme=True).get_json()
    assert empty == {
        "backlog": 0,
        "lastDeliveredAt": None,
        "oldestPendingAt": None,
        "deadLetters": 0,
        "oldestDeadLetterAt": None,
    }
    api.register(VALID_FIELDS)
    pending = api.call("GET", "/outbox", user="boss", supreme=True).get_json()
    assert pending["backlog"] == 2 and pending["oldestPendingAt"].endswith("Z")  # event + receipt
    api.services.relay.drain()
    drained = api.call("GET", "/outbox", user="boss", supreme=True).get_json()
    assert drained["backlog"] == 0 and drained["lastDeliveredAt"].endswith("Z") and drained["oldestPendingAt"] is None


def test_refresh_scores_route(api: Api) -> None:
    body = {"entries": [{"campaignId": "c1", "userId": "u1"}, {"campaignId": "c1", "userId": "u2"}]}
    assert_error(api.call("POST", "/v2/refreshScores", body=body), 403, "FORBIDDEN")
    answer = api.call("POST", "/v2/refreshScores", user="boss", supreme=True, body=body)
    assert answer.status_code == 200 and answer.get_json() == {"queued": 2}
    assert_error(
        api.call("POST", "/v2/refreshScores", user="boss", supreme=True, body={"entries": []}), 400, "BAD_REQUEST"
    )
    too_many = {"entries": [{"campaignId": "c1", "userId": f"u{i}"} for i in range(1001)]}
    assert_error(
        api.call("POST", "/v2/refreshScores", user="boss", supreme=True, body=too_many), 413, "PAYLOAD_TOO_LARGE"
    )
    bad = {"entries": [{"campaignId": "c1"}]}
    assert_error(api.call("POST", "/v2/refreshScores", user="boss", supreme=True, body=bad), 400, "BAD_REQUEST")
    report = api.services.refresher.work_once(10, 0)
    assert report.received == 2 and report.refreshed == 2  # no such entries: done, acknowledged
