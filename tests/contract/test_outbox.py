"""Outbox contract (SPEC PUB-002): messages written with their entry, claimed with leases, on every store."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from entrycore.errors import EntryExists, PhoneTaken, ReferralCodeTaken, StaleEntry
from entrycore.model import Entry
from entrycore.outbox import EVENT, RECEIPT, RETRY, OutboxMessage, OutboxStatus
from tests.contract.conftest import Stores
from tests.contract.entries import T0, an_entry

LEASE = timedelta(seconds=60)
NO_DEAD = {"dead_letters": 0, "oldest_dead_letter_at": None}


def a_message(entry: Entry, number: int, *, at: timedelta = timedelta(0), kind: str = EVENT) -> OutboxMessage:
    """Message ``number`` of ``entry``; ids sort like the numbers, as RandomIds' sort by creation."""
    body = {"type": "entry.saved", "campaignId": entry.campaign_id, "userId": entry.user_id, "n": number}
    return OutboxMessage(
        id=f"msg-{number:04d}",
        kind=kind,
        campaign_id=entry.campaign_id,
        user_id=entry.user_id,
        partition_key=f"{entry.campaign_id}:{entry.phone}",
        body={**body, "nested": {"list": [1, "two", None, True]}, "text": "ñandú ✓"},
        created_at=T0 + at,
    )


def ids(messages: list[OutboxMessage]) -> list[str]:
    return [m.id for m in messages]


def test_messages_are_claimed_whole_in_commit_order(stores: Stores) -> None:
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    first = [a_message(ana, 1), a_message(ana, 2, kind=RECEIPT)]
    stores.entries.create(ana, first)
    stores.entries.create(bob, [a_message(bob, 3)])
    stores.entries.replace(attrs.evolve(ana, version=2), 1, [a_message(ana, 4, at=timedelta(seconds=1))])
    stores.entries.replace(attrs.evolve(ana, version=3), 2)  # no message: the pending ones stay
    claimed = stores.outbox.claim("relay-1", 10, T0 + timedelta(seconds=1), LEASE)
    assert claimed == [*first, a_message(bob, 3), a_message(ana, 4, at=timedelta(seconds=1))]
    assert stores.entries.get("c1", "ana") == attrs.evolve(ana, version=3)  # the relay's fields stay hidden
    assert stores.entries.find_by_code("c1", ana.code) == attrs.evolve(ana, version=3)
    assert stores.entries.entries_of_user("bob") == [bob]


def test_a_failed_write_stores_no_message(stores: Stores) -> None:
    ana = an_entry(user_id="ana", confirmed=True)
    stores.entries.create(ana, [a_message(ana, 1)])
    with pytest.raises(EntryExists):
        stores.entries.create(attrs.evolve(ana, code="OTHER"), [a_message(ana, 2)])
    other = an_entry(user_id="bob", phone="+12125550100")
    with pytest.raises(ReferralCodeTaken):
        stores.entries.create(attrs.evolve(other, code=ana.code), [a_message(other, 3)])
    with pytest.raises(PhoneTaken):
        stores.entries.create(an_entry(user_id="cy", confirmed=True), [a_message(other, 4)])
    with pytest.raises(StaleEntry):
        stores.entries.replace(attrs.evolve(ana, version=3), 2, [a_message(ana, 5)])
    stores.entries.create(other, [a_message(other, 6)])
    with pytest.raises(PhoneTaken):
        confirming = attrs.evolve(other, phone=ana.phone, phone_confirmed=True, version=2)
        stores.entries.replace(confirming, 1, [a_message(other, 7)])
    assert stores.outbox.outbox_status().backlog == 2
    assert ids(stores.outbox.claim("relay-1", 10, T0, LEASE)) == ["msg-0001", "msg-0006"]


def test_a_claim_takes_at_most_limit_and_never_a_message_behind_a_leased_one(stores: Stores) -> None:
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    stores.entries.create(ana, [a_message(ana, 1), a_message(ana, 2)])
    stores.entries.create(bob, [a_message(bob, 3), a_message(bob, 4)])
    assert stores.outbox.claim("relay-1", 0, T0, LEASE) == []
    assert ids(stores.outbox.claim("relay-1", 1, T0, LEASE)) == ["msg-0001"]
    assert ids(stores.outbox.claim("relay-2", 10, T0, LEASE)) == ["msg-0003", "msg-0004"]  # 2 waits behind 1
    assert stores.outbox.claim("relay-1", 10, T0, LEASE) == []  # a leased message is not claimed again


def test_a_lease_holds_until_it_expires_then_anyone_may_claim(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    stores.entries.create(ana, [a_message(ana, 1), a_message(ana, 2)])
    assert ids(stores.outbox.claim("relay-1", 10, T0, LEASE)) == ["msg-0001", "msg-0002"]
    assert stores.outbox.claim("relay-2", 10, T0 + LEASE - timedelta(milliseconds=1), LEASE) == []
    assert ids(stores.outbox.claim("relay-2", 10, T0 + LEASE, LEASE)) == ["msg-0001", "msg-0002"]
    stores.outbox.delivered("relay-1", ["msg-0001", "msg-0002"], T0 + LEASE)  # no longer relay-1's
    assert stores.outbox.outbox_status() == OutboxStatus(2, None, T0, **NO_DEAD)
    stores.outbox.delivered("relay-2", ["msg-0001"], T0 + LEASE)
    assert stores.outbox.outbox_status().backlog == 1


def test_delivered_messages_are_gone(stores: Stores) -> None:
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    stores.entries.create(ana, [a_message(ana, 1)])
    stores.entries.create(bob, [a_message(bob, 2, at=timedelta(seconds=2))])
    assert stores.outbox.outbox_status() == OutboxStatus(2, None, T0, **NO_DEAD)
    stores.outbox.claim("relay-1", 10, T0 + timedelta(seconds=2), LEASE)
    done = T0 + timedelta(seconds=3)
    stores.outbox.delivered("relay-1", ["msg-0001", "unknown"], done)
    assert stores.outbox.outbox_status() == OutboxStatus(
        backlog=1,
        last_delivered_at=done,
        oldest_pending_at=T0 + timedelta(seconds=2),
        **NO_DEAD,
    )
    stores.outbox.delivered("relay-1", ["msg-0002"], done + timedelta(seconds=1))
    assert stores.outbox.outbox_status() == OutboxStatus(
        backlog=0,
        last_delivered_at=done + timedelta(seconds=1),
        oldest_pending_at=None,
        **NO_DEAD,
    )
    assert stores.outbox.claim("relay-1", 10, done + 2 * LEASE, LEASE) == []  # not even after the lease
    stores.entries.replace(attrs.evolve(ana, version=2), 1, [a_message(ana, 3, at=timedelta(seconds=9))])
    assert ids(stores.outbox.claim("relay-2", 10, done + 2 * LEASE, LEASE)) == ["msg-0003"]


def test_a_retry_waits_counts_an_attempt_and_holds_back_only_its_entry(stores: Stores) -> None:
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    stores.entries.create(ana, [a_message(ana, 1), a_message(ana, 2)])
    stores.entries.create(bob, [a_message(bob, 3)])
    assert ids(stores.outbox.claim("relay-1", 1, T0, LEASE)) == ["msg-0001"]
    stores.outbox.retry_later("relay-1", ["msg-0001"], T0 + timedelta(seconds=10))
    stores.outbox.delivered("relay-1", ["msg-0001"], T0)  # released: no longer relay-1's
    assert stores.outbox.outbox_status().backlog == 3
    assert ids(stores.outbox.claim("relay-2", 10, T0 + timedelta(seconds=9), LEASE)) == ["msg-0003"]
    again = stores.outbox.claim("relay-2", 10, T0 + timedelta(seconds=10), LEASE)
    assert again == [attrs.evolve(a_message(ana, 1), attempts=1), a_message(ana, 2)]
    stores.outbox.retry_later("relay-2", ["msg-0001", "msg-0002"], T0 + timedelta(seconds=20))
    later = stores.outbox.claim("relay-1", 10, T0 + timedelta(seconds=20), LEASE)
    assert [m.attempts for m in later] == [2, 1]


def test_a_retry_of_a_later_message_holds_back_only_what_follows_it(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    stores.entries.create(ana, [a_message(ana, 1), a_message(ana, 2), a_message(ana, 3)])
    stores.outbox.claim("relay-1", 10, T0, LEASE)
    stores.outbox.delivered("relay-1", ["msg-0001"], T0)
    stores.outbox.retry_later("relay-1", ["msg-0003"], T0)  # 2 is still leased: 3 waits behind it
    assert stores.outbox.claim("relay-2", 10, T0 + timedelta(seconds=1), LEASE) == []
    stores.outbox.delivered("relay-1", ["msg-0002"], T0 + timedelta(seconds=1))
    assert ids(stores.outbox.claim("relay-2", 10, T0 + timedelta(seconds=1), LEASE)) == ["msg-0003"]


def test_a_relay_cannot_deliver_or_retry_what_it_does_not_hold(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    stores.entries.create(ana, [a_message(ana, 1)])
    stores.outbox.delivered("relay-1", ["msg-0001"], T0)  # not claimed at all
    stores.outbox.claim("relay-1", 10, T0, LEASE)
    stores.outbox.delivered("relay-2", ["msg-0001"], T0)
    stores.outbox.retry_later("relay-2", ["msg-0001"], T0 + timedelta(hours=1))
    assert stores.outbox.outbox_status() == OutboxStatus(1, None, T0, **NO_DEAD)
    assert stores.outbox.claim("relay-2", 10, T0 + LEASE, LEASE) == [a_message(ana, 1)]  # attempts still 0


def test_an_expired_lease_still_lets_its_holder_finish(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    stores.entries.create(ana, [a_message(ana, 1)])
    stores.outbox.claim("relay-1", 10, T0, LEASE)
    stores.outbox.delivered("relay-1", ["msg-0001"], T0 + 2 * LEASE)  # late, but nobody took it over
    assert stores.outbox.outbox_status().backlog == 0


def test_PUB_002_each_channel_keeps_its_order_and_none_waits_for_another(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    messages = [a_message(ana, 1), a_message(ana, 2, kind=RECEIPT), a_message(ana, 3), a_message(ana, 4, kind=RETRY)]
    stores.entries.create(ana, messages)
    assert ids(stores.outbox.claim("relay-1", 1, T0, LEASE)) == ["msg-0001"]
    stores.outbox.retry_later("relay-1", ["msg-0001"], T0 + timedelta(minutes=5), error="stream down", counted=False)
    # The event waits for the stream: the later event waits behind it, the receipt and the retry request do not.
    assert ids(stores.outbox.claim("relay-1", 10, T0, LEASE)) == ["msg-0002", "msg-0004"]
    stores.outbox.delivered("relay-1", ["msg-0002", "msg-0004"], T0)
    assert stores.outbox.claim("relay-1", 10, T0 + LEASE, LEASE) == []
    assert ids(stores.outbox.claim("relay-1", 10, T0 + timedelta(minutes=5), LEASE)) == ["msg-0001", "msg-0003"]


def test_messages_waiting_for_their_sink_are_due_at_once_when_it_is_back(stores: Stores) -> None:
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    stores.entries.create(ana, [a_message(ana, 1), a_message(ana, 2, kind=RECEIPT)])
    stores.entries.create(bob, [a_message(bob, 3), a_message(bob, 4)])
    assert ids(stores.outbox.claim("relay-1", 10, T0, LEASE)) == ["msg-0001", "msg-0002", "msg-0003", "msg-0004"]
    later = T0 + timedelta(hours=1)
    down = ["msg-0001", "msg-0003", "msg-0004"]
    stores.outbox.retry_later("relay-1", down, later, error="stream down", counted=False)
    stores.outbox.retry_later("relay-1", ["msg-0002"], later, error="HTTP 422")  # refused alone: keeps its backoff
    assert stores.outbox.claim("relay-1", 10, T0, LEASE) == []
    assert stores.outbox.release_waiting(RECEIPT, T0) == 0
    assert stores.outbox.release_waiting(EVENT, T0) == 3
    claimed = stores.outbox.claim("relay-1", 10, T0, LEASE)
    assert [(m.id, m.attempts) for m in claimed] == [("msg-0001", 0), ("msg-0003", 0), ("msg-0004", 0)]
    assert stores.outbox.release_waiting(EVENT, T0) == 0
