"""Dead letters on every store (SPEC PUB-002): a parked message is kept with its error, reported apart from
the backlog, holds back its own entry's later messages only, and goes back in the queue when requeued."""

from __future__ import annotations

from datetime import timedelta

from entrycore.outbox import RECEIPT
from tests.contract.conftest import Stores
from tests.contract.entries import T0, an_entry
from tests.contract.test_outbox import LEASE, a_message, ids

LATER = T0 + timedelta(seconds=5)


def parked_ana(stores: Stores) -> None:
    """ana: event 1 (parked), receipt 2 (another channel: not held back), event 3 behind 1; bob: event 4."""
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    stores.entries.create(ana, [a_message(ana, 1), a_message(ana, 2, kind=RECEIPT), a_message(ana, 3)])
    stores.entries.create(bob, [a_message(bob, 4)])
    assert ids(stores.outbox.claim("relay-1", 1, T0, LEASE)) == ["msg-0001"]
    stores.outbox.park("relay-1", ["msg-0001"], LATER, "cannot be written as UTF-8 JSON")


def test_a_parked_message_is_kept_with_its_error_and_reported_apart_from_the_backlog(stores: Stores) -> None:
    parked_ana(stores)
    status = stores.outbox.outbox_status()
    assert status.dead_letters == 1 and status.oldest_dead_letter_at == LATER
    assert status.backlog == 3 and status.oldest_pending_at == T0  # ana's 2 and 3, bob's 4
    (dead,) = stores.outbox.dead_letters(10)
    assert dead.message.id == "msg-0001" and dead.message.attempts == 1
    assert (dead.parked_at, dead.error, dead.held_back) == (LATER, "cannot be written as UTF-8 JSON", 1)
    assert dead.message.body == a_message(an_entry(user_id="ana"), 1).body
    assert stores.outbox.dead_letters(0) == []


def test_a_parked_message_holds_back_its_own_entry_and_channel_only_and_is_never_claimed(stores: Stores) -> None:
    parked_ana(stores)
    much_later = T0 + timedelta(days=3650)
    assert ids(stores.outbox.claim("relay-2", 10, much_later, LEASE)) == ["msg-0002", "msg-0004"]
    stores.outbox.delivered("relay-2", ["msg-0002", "msg-0004"], much_later)
    assert stores.outbox.claim("relay-3", 10, much_later + LEASE, LEASE) == []


def test_requeued_dead_letters_are_due_at_once_with_attempts_from_zero_in_order(stores: Stores) -> None:
    parked_ana(stores)
    assert stores.outbox.requeue_dead_letters(["msg-0004", "unknown"], LATER) == 0  # not parked: untouched
    assert stores.outbox.requeue_dead_letters(["msg-0001"], LATER) == 1
    status = stores.outbox.outbox_status()
    assert (status.dead_letters, status.oldest_dead_letter_at, status.backlog) == (0, None, 4)
    claimed = stores.outbox.claim("relay-2", 10, LATER, LEASE)
    assert ids(claimed) == ["msg-0001", "msg-0002", "msg-0003", "msg-0004"]
    assert claimed[0].attempts == 0
    assert stores.outbox.requeue_dead_letters(None, LATER) == 0


def test_requeue_of_every_dead_letter(stores: Stores) -> None:
    parked_ana(stores)
    assert ids(stores.outbox.claim("relay-1", 10, LATER, LEASE)) == ["msg-0002", "msg-0004"]
    stores.outbox.park("relay-1", ["msg-0004"], LATER + timedelta(seconds=1), "HTTP 422")
    assert [(d.message.id, d.held_back) for d in stores.outbox.dead_letters(10)] == [("msg-0001", 1), ("msg-0004", 0)]
    assert [d.message.id for d in stores.outbox.dead_letters(1)] == ["msg-0001"]  # oldest parked first
    assert stores.outbox.requeue_dead_letters(None, LATER) == 2
    assert stores.outbox.dead_letters(10) == [] and stores.outbox.outbox_status().backlog == 4


def test_an_uncounted_release_keeps_the_attempts_and_the_last_error(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    stores.entries.create(ana, [a_message(ana, 1)])
    stores.outbox.claim("relay-1", 10, T0, LEASE)
    stores.outbox.retry_later("relay-1", ["msg-0001"], T0, error="HTTP 422")
    (first,) = stores.outbox.claim("relay-1", 10, T0, LEASE)
    assert first.attempts == 1
    stores.outbox.retry_later("relay-1", ["msg-0001"], T0, error="stream down", counted=False)
    (second,) = stores.outbox.claim("relay-1", 10, T0, LEASE)
    assert second.attempts == 1  # the sink was down: not this message's failure
    stores.outbox.park("relay-1", ["msg-0001"], T0, "HTTP 422")
    (dead,) = stores.outbox.dead_letters(10)
    assert (dead.message.attempts, dead.error) == (2, "HTTP 422")


def test_only_the_leaseholder_parks(stores: Stores) -> None:
    ana = an_entry(user_id="ana")
    stores.entries.create(ana, [a_message(ana, 1)])
    stores.outbox.claim("relay-1", 10, T0, LEASE)
    stores.outbox.park("relay-2", ["msg-0001"], T0, "not mine")
    assert stores.outbox.dead_letters(10) == [] and stores.outbox.outbox_status().dead_letters == 0


def test_dead_letters_parked_together_are_listed_by_id(stores: Stores) -> None:
    ana, bob = an_entry(user_id="ana"), an_entry(user_id="bob", phone="+12125550100")
    stores.entries.create(bob, [a_message(bob, 2)])  # committed first, yet its id sorts after ana's
    stores.entries.create(ana, [a_message(ana, 1)])
    assert sorted(ids(stores.outbox.claim("relay-1", 10, T0, LEASE))) == ["msg-0001", "msg-0002"]
    stores.outbox.park("relay-1", ["msg-0002", "msg-0001"], LATER, "refused")
    assert [d.message.id for d in stores.outbox.dead_letters(10)] == ["msg-0001", "msg-0002"]
    assert [d.message.id for d in stores.outbox.dead_letters(1)] == ["msg-0001"]
