"""USR-004 through HTTP on the real wiring (SQLite): ``POST /v2/entries`` applies each save and deletion on its own
with the fan route's rules except gates, requireReferral and the campaign's status; results are numbered saves
first, then deletions; bad items change nothing and never block the others."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.builders import VALID_FIELDS
from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin
from tests.integration.test_http_selection import events
from tests.jsonl import json_lines


def save(campaign: str, user: str, **fields: Any) -> dict[str, Any]:
    return {"campaignId": campaign, "userId": user, "fields": {**VALID_FIELDS, **fields}}


def entry(api: Api, campaign: str, user: str) -> Any:
    answer = api.call("GET", f"/{campaign}/entries", user=user)
    return answer.get_json() if answer.status_code == 200 else None


def test_USR_004_each_item_is_answered_and_applied_on_its_own(api: Api) -> None:
    assert api.register(VALID_FIELDS, campaign="c1", user="old").status_code == 201
    assert api.register({**VALID_FIELDS, "phone": "+12125550111"}, campaign="c1", user="gone").status_code == 201
    already = len(events(api))
    receipts_before = len(json_lines(Path(api.services.settings.data_dir) / "receipts.jsonl"))
    body = {
        "entries": [
            save("c1", "new", phone="+12125550101"),  # 0: created
            save("c1", "old", first_name="Changed"),  # 1: updated (fields merged)
            save("c1", "bad", email="not-an-email"),  # 2: field rules
            save("nope", "x"),  # 3: unknown campaign
            save("closed", "late", phone="+12125550102"),  # 4: campaign status does not apply
            save("invite", "gated", phone="+12125550103"),  # 5: gates do not apply
            save("referral", "first", phone="+12125550104"),  # 6: requireReferral does not apply
            {"campaignId": "c1", "userId": 7, "fields": {}},  # 7: unreadable item
            {"campaignId": "c1", "userId": "extra", "fields": {}, "secret": True},  # 8: unknown key
            save("c1", "mkt", market="atl"),  # 9: market rules
            save("c1", " ", phone="+12125550105"),  # 10: empty user id
        ],
        "deletions": [
            {"campaignId": "c1", "userId": "gone"},  # 11: deleted
            {"campaignId": "c1", "userId": "never-there"},  # 12: nothing to delete: fine
            {"campaignId": "c1"},  # 13: unreadable
        ],
    }
    answer = admin(api, "POST", "/v2/entries", body)
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [r["index"] for r in results] == list(range(14))
    outcome = {r["index"]: (r["ok"], r["error"] and r["error"]["code"]) for r in results}
    assert outcome == {
        0: (True, None),
        1: (True, None),
        2: (False, "ENTRY_INVALID_FIELD"),
        3: (False, "CAMPAIGN_NOT_FOUND"),
        4: (True, None),
        5: (True, None),
        6: (True, None),
        7: (False, "BAD_REQUEST"),
        8: (False, "BAD_REQUEST"),
        9: (False, "ENTRY_INVALID_MARKET"),
        10: (False, "BAD_REQUEST"),
        11: (True, None),
        12: (True, None),
        13: (False, "BAD_REQUEST"),
    }
    assert all(set(r["error"]) == {"code", "message", "payload"} for r in results if r["error"])
    assert results[7]["error"]["payload"]["errors"][0]["path"] == "$.entries[7].userId"
    assert results[13]["error"]["payload"]["errors"][0]["path"] == "$.deletions[2].userId"

    assert entry(api, "c1", "new")["phoneConfirmed"] is False
    assert entry(api, "c1", "old")["fields"]["first_name"] == "Changed"
    assert entry(api, "closed", "late") is not None
    assert entry(api, "invite", "gated") is not None
    assert entry(api, "referral", "first") is not None
    for campaign, user in (("c1", "bad"), ("c1", "mkt"), ("c1", "extra"), ("c1", "gone")):
        assert entry(api, campaign, user) is None
    published = events(api)[already:]
    kinds = sorted((e["type"], e["entry"]["userId"]) for e in published)
    assert kinds == [
        ("entry.created", "first"),
        ("entry.created", "gated"),
        ("entry.created", "late"),
        ("entry.created", "new"),
        ("entry.deleted", "gone"),
        ("entry.updated", "old"),
    ]
    # PUB-006: replicated entries get no receipt
    assert len(json_lines(Path(api.services.settings.data_dir) / "receipts.jsonl")) == receipts_before
    audit = next(r for r in api.services.audit.records(None, None, 10) if r.action == "entries.batch")
    assert dict(audit.counts) == {"saved": 5, "deleted": 2, "failed": 7}


def test_USR_004_limits_and_rights(api: Api) -> None:
    deletions = [{"campaignId": "c1", "userId": f"u{i}"} for i in range(600)]
    saves = [save("c1", f"s{i}") for i in range(500)]
    assert_error(
        admin(api, "POST", "/v2/entries", {"entries": saves, "deletions": deletions}), 413, "PAYLOAD_TOO_LARGE"
    )
    assert entry(api, "c1", "s0") is None  # nothing applied
    assert_error(admin(api, "POST", "/v2/entries", {"entries": [], "deletions": []}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", "/v2/entries", {}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", "/v2/entries", {"entries": {}}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", "/v2/entries", {"saves": []}), 400, "BAD_REQUEST")
    fan = api.call("POST", "/v2/entries", user="u1", body={"entries": [save("c1", "u1")]})
    assert_error(fan, 403, "FORBIDDEN")
    assert entry(api, "c1", "u1") is None
    full = admin(api, "POST", "/v2/entries", {"deletions": deletions[:500], "entries": saves[:500]})
    assert full.status_code == 200 and len(full.get_json()["results"]) == 1000


def test_reserved_campaign_ids_are_route_prefixes(api: Api) -> None:
    """API.md §4: ``GET /v2/entries`` is the batch route with the wrong method, never campaign "v2"'s entry."""
    answer = admin(api, "GET", "/v2/entries")
    assert_error(answer, 405, "METHOD_NOT_ALLOWED")
    assert "POST" in answer.headers["Allow"]
    for reserved in ("outbox", "campaigns", "metrics", "heartbeat"):
        assert_error(api.call("GET", f"/{reserved}/entries"), 404, "NOT_FOUND")
    users = api.call("GET", "/users/entries")  # DELETE /users/{userId}, with userId "entries"
    assert_error(users, 405, "METHOD_NOT_ALLOWED")
    assert "DELETE" in users.headers["Allow"]
