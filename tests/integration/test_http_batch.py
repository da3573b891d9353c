"""USR-004 through HTTP on the real wiring (SQLite): ``POST /v2/entries`` applies each save and deletion on its own
with the fan route's rules except gates, requireReferral and the campaign's status; results are numbered saves
first, then deletions; bad items change nothing and never block the others."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import mongomock
import pytest

from adapters_mongo import open_mongo
from adapters_sqlite.outbox import insert_messages
from entry_service.bootstrap import build
from entry_service.settings import Settings
from entry_service.wsgi import app_for
from entrycore.usecases.batch import CHUNK
from tests.builders import VALID_FIELDS
from tests.http_app import Api, make_api, write_sources
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of
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


# Bulk speed (issue 22): chunks of items in one store call (SQLite: one transaction, a SAVEPOINT per item), with the
# same per-item rules, results and events as items applied one by one.


@pytest.fixture(params=["sqlite", "mongodb"])
def either(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    """The real app on SQLite, or on MongoDB (mongomock)."""
    if request.param == "sqlite":
        wired = make_api(tmp_path)
        yield wired
        wired.services.close()
        return
    client: mongomock.MongoClient = mongomock.MongoClient()  # type: ignore[type-arg]
    services = build(Settings.from_env(write_sources(tmp_path)), stores=open_mongo(client["entry_service"]))
    yield Api(client=app_for(services).test_client(), services=services)
    services.close()
    client.close()


def test_USR_004_bad_items_never_fail_the_others_and_every_saved_item_has_its_event(
    either: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = either
    holder = confirmed_fan(api, 1)  # f1 has phone_of(1) confirmed in ppc
    assert api.register({**VALID_FIELDS, "phone": phone_of(2)}, campaign="ppc", user="racer").status_code == 201
    already = len(events(api))
    store = api.services.replication.registrations.entries
    holder_of = store.confirmed_holder
    raced: list[int] = []

    def racing(campaign_id: str, phone: str) -> str | None:
        """While the batch reads for item 5, the fan writes their entry (once): the item's write loses and is redone."""
        if phone == phone_of(3) and not raced:
            fan = threading.Thread(
                target=lambda: raced.append(
                    api.register({"first_name": "Fan"}, campaign="ppc", user="racer").status_code
                )
            )
            fan.start()
            fan.join()
        return holder_of(campaign_id, phone)

    monkeypatch.setattr(store, "confirmed_holder", racing)
    body = {
        "entries": [
            save("ppc", "a", phone=phone_of(10)),  # 0: created
            save("ppc", "b", email="not-an-email", phone=phone_of(11)),  # 1: field rules
            save("ppc", "c", phone=phone_of(1)),  # 2: phone confirmed by f1
            save("ppc", "d", phone=phone_of(12)),  # 3: created
            save("ppc", "a", first_name="Again"),  # 4: the same fan again: applied after item 0
            {"campaignId": "ppc", "userId": "racer", "fields": {"phone": phone_of(3)}},  # 5: stale once, redone
            save("ppc", "e", market="atl", phone=phone_of(13)),  # 6: market rules
            save("ppc", "f", phone=phone_of(14)),  # 7: created
        ],
        "deletions": [{"campaignId": "ppc", "userId": "d"}],  # 8: the entry item 3 created
    }
    answer = admin(api, "POST", "/v2/entries", body)
    assert answer.status_code == 200
    results = answer.get_json()["results"]
    assert [(r["index"], r["ok"], r["error"] and r["error"]["code"]) for r in results] == [
        (0, True, None),
        (1, False, "ENTRY_INVALID_FIELD"),
        (2, False, "PHONE_ALREADY_CONFIRMED"),
        (3, True, None),
        (4, True, None),
        (5, True, None),
        (6, False, "ENTRY_INVALID_MARKET"),
        (7, True, None),
        (8, True, None),
    ]
    assert entry(api, "ppc", "a")["fields"]["first_name"] == "Again"
    assert raced == [200]
    both = entry(api, "ppc", "racer")
    assert both["fields"]["first_name"] == "Fan" and both["fields"]["phone"] == phone_of(3)  # both writes kept
    for user in ("b", "c", "d", "e"):
        assert entry(api, "ppc", user) is None
    assert entry(api, "ppc", holder)["phoneConfirmed"] is True
    published = sorted((e["type"], e["entry"]["userId"]) for e in events(api)[already:])
    assert published == [
        ("entry.created", "a"),
        ("entry.created", "d"),
        ("entry.created", "f"),
        ("entry.deleted", "d"),
        ("entry.updated", "a"),
        ("entry.updated", "racer"),  # the fan's own write
        ("entry.updated", "racer"),  # the batch's, redone on the fan's
    ]
    audit = next(r for r in api.services.audit.records(None, None, 10) if r.action == "entries.batch")
    assert dict(audit.counts) == {"saved": 5, "deleted": 1, "failed": 3}


def test_USR_004_many_items_in_chunks_answer_in_order(either: Api) -> None:
    """More items than one chunk: every one answered in order, saved with its event, the bad ones alone refused."""
    api = either
    already = len(events(api))
    saves = [save("c1", f"m{i}", phone=phone_of(100 + i)) for i in range(CHUNK * 2 + 7)]
    for bad in (3, CHUNK, CHUNK * 2 + 6):
        saves[bad] = save("c1", f"m{bad}", email="nope")
    answer = admin(api, "POST", "/v2/entries", {"entries": saves})
    results = answer.get_json()["results"]
    assert [r["index"] for r in results] == list(range(len(saves)))
    assert [i for i, r in enumerate(results) if not r["ok"]] == [3, CHUNK, CHUNK * 2 + 6]
    created = {e["entry"]["userId"] for e in events(api)[already:] if e["type"] == "entry.created"}
    assert created == {f"m{i}" for i in range(len(saves))} - {"m3", f"m{CHUNK}", f"m{CHUNK * 2 + 6}"}


def test_USR_004_an_item_whose_write_fails_leaves_nothing_and_the_chunk_is_one_transaction(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: an item's entry and its event are one SAVEPOINT of the chunk's one transaction (PUB-002): an item whose
    write fails half-way leaves neither, the others commit; and until the COMMIT no other connection sees any of the
    chunk's entries or events — what a crash before it would leave: nothing, never an entry without its event."""
    reached, go = threading.Event(), threading.Event()

    def insert(conn: sqlite3.Connection, outbox: Any) -> None:
        users = {message.user_id for message in outbox}
        if "boom" in users:
            raise sqlite3.OperationalError("disk I/O error")  # after the entry's INSERT, before its event's
        insert_messages(conn, outbox)
        if "pause" in users:
            reached.set()
            go.wait(30)

    monkeypatch.setattr("adapters_sqlite.store.insert_messages", insert)
    already = len(events(api))
    body = {"entries": [save("c1", u, phone=phone_of(200 + i)) for i, u in enumerate(("x", "boom", "y", "pause", "z"))]}
    answers: list[Any] = []
    batch = threading.Thread(target=lambda: answers.append(admin(api, "POST", "/v2/entries", body)))
    batch.start()
    assert reached.wait(30)
    db = Path(api.services.settings.data_dir) / "entries.db"
    with closing(sqlite3.connect(db)) as other:  # mid-transaction: x, y and pause are written, not committed
        assert other.execute("SELECT count(*) FROM entries WHERE campaign_id = 'c1'").fetchone()[0] == 0
        assert other.execute("SELECT count(*) FROM outbox WHERE campaign_id = 'c1'").fetchone()[0] == 0
    go.set()
    batch.join(30)
    results = answers[0].get_json()["results"]
    assert [(r["ok"], r["error"] and r["error"]["code"]) for r in results] == [
        (True, None),
        (False, "DEPENDENCY_UNAVAILABLE"),
        (True, None),
        (True, None),
        (True, None),
    ]
    assert entry(api, "c1", "boom") is None
    created = sorted(e["entry"]["userId"] for e in events(api)[already:] if e["type"] == "entry.created")
    assert created == ["pause", "x", "y", "z"]
