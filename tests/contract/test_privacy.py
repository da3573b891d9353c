"""USR-002 on every store: an opt-out turns off exactly its fields on every entry of the fan, publishes
entry.updated for each changed entry in the same write, and is audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.errors import BadRequest, Forbidden, StaleEntry
from entrycore.events import event
from entrycore.outbox import OutboxMessage, RetryRequest
from entrycore.scoring import ScoreRow
from entrycore.usecases.privacy import Privacy
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, Stores, open_selection_stores
from tests.contract.entries import an_entry
from tests.fakes import FakeAudit, FakeCampaignSource, FakeClock, FakeIds

ADMIN = Caller("admin-1", is_supreme=True)


def privacy(stores: Stores, audit: FakeAudit) -> Privacy:
    campaigns = FakeCampaignSource({"c1": campaign(), "c2": campaign(id="c2")})
    return Privacy(campaigns=campaigns, entries=stores.entries, audit=audit, clock=FakeClock(), ids=FakeIds())


def test_USR_002_opt_outs_change_exactly_their_fields_on_every_entry(stores: Stores) -> None:
    audit = FakeAudit()
    fields = {"email": "a@b.co", "market": "nyc", "allow_marketing": True, "allow_notification": True}
    first = attrs.evolve(an_entry("c1", "u1", phone="+12125550101"), fields=fields)
    second = attrs.evolve(an_entry("c2", "u1", phone="+12125550102"), fields={**fields, "allow_marketing": False})
    other = attrs.evolve(an_entry("c1", "u2", phone="+12125550103"), fields=fields)
    for entry in (first, second, other):
        stores.entries.create(entry)
    service = privacy(stores, audit)
    assert service.opt_out(ADMIN, "u1", "DO_NOT_SELL") == 1  # c2 was opted out already
    changed = stores.entries.get("c1", "u1")
    assert changed is not None
    assert changed.fields == {**fields, "allow_marketing": False}
    assert attrs.evolve(changed, fields=first.fields, date_updated=first.date_updated, version=1) == first
    assert stores.entries.get("c2", "u1") == second  # untouched
    assert stores.entries.get("c1", "u2") == other  # another fan: untouched
    assert service.opt_out(ADMIN, "u1", "UNSUBSCRIBE") == 2
    unsubscribed = stores.entries.get("c2", "u1")
    assert unsubscribed is not None
    assert unsubscribed.fields == {
        **fields,
        "allow_marketing": False,
        "allow_notification": False,
        "allow_livenation": False,
    }
    assert service.opt_out(ADMIN, "nobody", "UNSUBSCRIBE") == 0
    assert [(r.action, dict(r.parameters), dict(r.counts)) for r in audit.kept] == [
        ("users.optout", {"type": "DO_NOT_SELL"}, {"modified": 1}),
        ("users.optout", {"type": "UNSUBSCRIBE"}, {"modified": 2}),
        ("users.optout", {"type": "UNSUBSCRIBE"}, {"modified": 0}),
    ]
    published = stores.outbox.claim("test", 100, FakeClock().now() + timedelta(seconds=1), timedelta(seconds=5))
    assert sorted((m.body["type"], m.campaign_id, m.user_id) for m in published) == [
        ("entry.updated", "c1", "u1"),
        ("entry.updated", "c1", "u1"),
        ("entry.updated", "c2", "u1"),
    ]


def test_opt_out_needs_an_admin_and_a_known_type(stores: Stores) -> None:
    service = privacy(stores, FakeAudit())
    with pytest.raises(Forbidden):
        service.opt_out(Caller("u1"), "u1", "DO_NOT_SELL")
    with pytest.raises(BadRequest):
        service.opt_out(ADMIN, "u1", "SELL_MORE")


# USR-003: erasure of a fan, on every store, with its scoring records.


@pytest.fixture(params=["fake", "sqlite", "mongomock"])
def selection_stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SelectionStores]:
    with open_selection_stores(request.param, tmp_path) as opened:
        yield opened


def eraser(stores: SelectionStores, audit: FakeAudit, clock: FakeClock | None = None) -> Privacy:
    campaigns = FakeCampaignSource({"c1": campaign(), "c2": campaign(id="c2", name="Other tour")})
    return Privacy(
        campaigns=campaigns,
        entries=stores.entries,
        audit=audit,
        clock=clock or FakeClock(),
        ids=FakeIds(),
        scoring=stores.scoring,
    )


def drain(stores: SelectionStores, at: datetime) -> list[OutboxMessage]:
    """Every pending message, delivered, in claim order."""
    claimed = stores.outbox.claim("test", 1000, at, timedelta(minutes=1))
    stores.outbox.delivered("test", [m.id for m in claimed], at)
    return list(claimed)


def raw_rows(stores: SelectionStores, user_id: str) -> int:
    """Rows or documents of the fan left in the store's own tables, tombstones included."""
    if stores.kind == "sqlite":
        with stores.entries.database.reading() as conn:  # type: ignore[attr-defined]
            orphan_tags = "SELECT count(*) FROM entry_tags WHERE entry NOT IN (SELECT id FROM entries)"
            return conn.execute(orphan_tags).fetchone()[0] + sum(
                conn.execute(f"SELECT count(*) FROM {table} WHERE user_id = ?", (user_id,)).fetchone()[0]
                for table in ("entries", "attempts", "retry_queue")
            )
    if stores.kind == "mongomock":
        database = stores.entries.database  # type: ignore[attr-defined]
        kept = sum(database[name].count_documents({"userId": user_id}) for name in ("entries", "scoring", "attempts"))
        return kept + int(database["retry_queue"].count_documents({"_id.userId": user_id}))
    return 0


def test_USR_003_erases_entries_records_and_phones_and_publishes_deletions(selection_stores: SelectionStores) -> None:
    stores, audit, clock = selection_stores, FakeAudit(), FakeClock()
    phone = "+12125550101"
    stores.entries.create(an_entry("c1", "u1", phone=phone, confirmed=True))
    stores.entries.create(an_entry("c2", "u1", phone="+12125550102", confirmed=True))
    stores.entries.create(an_entry("c1", "u2", phone="+12125550103", confirmed=True))
    stores.scoring.upsert_scores("c1", [ScoreRow(0, phone, 80.0), ScoreRow(1, "+12125550103", 70.0)], [0.1, 0.2])
    stores.attempts.record_failed_attempt("c1", "u1", clock.now())
    queue = stores.retries  # the store-kept retry queue (PUB-005)
    if queue is not None:
        queue.enqueue([RetryRequest("c1", "u1"), RetryRequest("c2", "u1"), RetryRequest("c1", "u2")])
        records = 1 if stores.kind == "mongomock" else 0  # SQLite: the record is the entry's row
        assert raw_rows(stores, "u1") == 2 + records + 1 + 2  # what the erasure must leave nothing of
    service = eraser(stores, audit, clock)

    assert service.delete_user(ADMIN, "u1") == {"entries": 2, "scoring": 1}
    if queue is not None:  # the fan's retry requests went with the entries; the other fan's stays
        received = queue.receive(10, 0)
        assert [request for _, request in received] == [RetryRequest("c1", "u2")]

    assert stores.entries.get("c1", "u1") is None
    assert stores.entries.get("c2", "u1") is None
    assert stores.entries.entries_of_user("u1") == []
    assert stores.scoring.scoring_record("c1", "u1") is None
    assert stores.entries.confirmed_holder("c1", phone) is None
    assert stores.attempts.failed_attempts("c1", "u1", clock.now() - timedelta(hours=1)) == 0
    assert stores.entries.get("c1", "u2") is not None  # another fan: untouched
    assert stores.scoring.scoring_record("c1", "u2") is not None
    deletions = drain(stores, clock.now() + timedelta(seconds=1))
    assert sorted((m.body["type"], m.campaign_id, m.partition_key) for m in deletions) == [
        ("entry.deleted", "c1", f"c1:{phone}"),  # the deleted entry's own partition key (API.md §8)
        ("entry.deleted", "c2", "c2:+12125550102"),
    ]
    for message in deletions:
        assert message.body["entry"] == {"campaignId": message.campaign_id, "userId": "u1"}
        assert message.body["partitionKey"] == message.partition_key
    assert raw_rows(stores, "u1") == 0  # nothing of the fan left, once its messages are delivered

    # another fan can now confirm the released phone
    stores.entries.create(an_entry("c1", "u3", phone=phone, confirmed=True))
    assert stores.entries.confirmed_holder("c1", phone) == "u3"

    assert service.delete_user(ADMIN, "u1") == {"entries": 0, "scoring": 0}  # erased already
    assert [(r.action, dict(r.counts)) for r in audit.kept] == [
        ("users.delete", {"entries": 2, "scoring": 1}),
        ("users.delete", {"entries": 0, "scoring": 0}),
    ]
    assert all("u1" not in repr(r.parameters) for r in audit.kept)


def test_USR_003_pending_messages_are_delivered_before_the_deletion_and_a_new_entry_after(
    selection_stores: SelectionStores,
) -> None:
    stores, clock = selection_stores, FakeClock()
    entry = an_entry("c1", "u1", phone="+12125550101", confirmed=True)
    created = event("m1", "entry.created", campaign(), entry, clock.now())
    stores.entries.create(entry, [created])
    eraser(stores, FakeAudit(), clock).delete_user(ADMIN, "u1")
    again = an_entry("c1", "u1", phone="+12125550101", confirmed=True, code="NEWCODE")
    stores.entries.create(again, [event("m9", "entry.created", campaign(), again, clock.now())])  # back at once
    assert stores.entries.get("c1", "u1") == again
    assert stores.entries.find_by_code("c1", entry.code) is None
    order = []
    for _ in range(3):  # one message per claim: each is the next of the entry's lane
        claimed = stores.outbox.claim("test", 1, clock.now() + timedelta(seconds=1), timedelta(minutes=1))
        order += [m.body["type"] for m in claimed]
        stores.outbox.delivered("test", [m.id for m in claimed], clock.now())
    assert order == ["entry.created", "entry.deleted", "entry.created"]
    assert stores.entries.get("c1", "u1") == again  # delivering the deletion did not take the new entry


def test_USR_003_deletion_needs_an_admin(selection_stores: SelectionStores) -> None:
    with pytest.raises(Forbidden):
        eraser(selection_stores, FakeAudit()).delete_user(Caller("u1"), "u1")


def test_USR_003_a_write_read_before_the_erasure_never_lands_on_the_fans_next_entry(
    selection_stores: SelectionStores,
) -> None:
    stores, clock = selection_stores, FakeClock()
    stale = an_entry("c1", "u1", phone="+12125550101")
    stores.entries.create(stale)
    eraser(stores, FakeAudit(), clock).delete_user(ADMIN, "u1")
    again = an_entry(
        "c1", "u1", phone="+12125550102", code="NEWCODE", created=stale.date_created + timedelta(minutes=1)
    )
    stores.entries.create(again)  # version 1 again
    with pytest.raises(StaleEntry):  # the erased entry's data must not come back
        stores.entries.replace(attrs.evolve(stale, version=2), expected_version=1)
    assert stores.entries.get("c1", "u1") == again


def test_a_tombstone_a_stopped_relay_left_is_swept_at_the_next_delivery(tmp_path: Path) -> None:
    with open_selection_stores("mongomock", tmp_path) as stores:
        clock = FakeClock()
        stores.entries.create(an_entry("c1", "u1"))
        eraser(stores, FakeAudit(), clock).delete_user(ADMIN, "u1")
        entries = stores.entries.database["entries"]  # type: ignore[attr-defined]
        # the relay delivered the deletion and stopped before removing the tombstone
        entries.update_many({"deleted": True}, {"$unset": {"outbox": "", "outboxSince": "", "outboxReadyAt": ""}})
        assert entries.count_documents({"userId": "u1"}) == 1
        other = an_entry("c1", "u2", phone="+12125550102")
        stores.entries.create(other, [event("m2", "entry.created", campaign(), other, clock.now())])
        drain(stores, clock.now() + timedelta(seconds=1))
        assert entries.count_documents({"userId": "u1"}) == 0
