"""The Locks port on every store (SPEC MKT-003: one transfer of a campaign at a time, across processes): a lock is
taken once, refused to others while held, renewed by its holder, released by its holder only, and taken over
once its lease has lapsed (its holder died)."""

from __future__ import annotations

from datetime import timedelta

from entrycore.ports import Locks
from tests.contract.conftest import Stores
from tests.contract.entries import T0

LEASE = timedelta(seconds=30)


def locks_of(stores: Stores) -> Locks:
    return stores.locks


def test_MKT_003_a_lock_is_held_by_one_owner_at_a_time(stores: Stores) -> None:
    locks = locks_of(stores)
    assert locks.lock_holder("transfer:c1", T0) is None
    assert locks.take_lock("transfer:c1", "a", T0, T0 + LEASE)
    assert locks.lock_holder("transfer:c1", T0) == "a"
    assert not locks.take_lock("transfer:c1", "b", T0 + timedelta(seconds=29), T0 + timedelta(seconds=59))
    assert locks.lock_holder("transfer:c1", T0 + timedelta(seconds=29)) == "a"
    assert locks.take_lock("transfer:c2", "b", T0, T0 + LEASE)  # another campaign's lock is another lock


def test_MKT_003_the_holder_renews_and_releases_and_others_release_nothing(stores: Stores) -> None:
    locks = locks_of(stores)
    assert locks.take_lock("transfer:c1", "a", T0, T0 + LEASE)
    assert locks.take_lock("transfer:c1", "a", T0 + timedelta(seconds=20), T0 + timedelta(seconds=50))  # renewed
    assert not locks.take_lock("transfer:c1", "b", T0 + timedelta(seconds=40), T0 + timedelta(seconds=70))
    locks.release_lock("transfer:c1", "b")  # not b's: nothing happens
    assert locks.lock_holder("transfer:c1", T0 + timedelta(seconds=40)) == "a"
    locks.release_lock("transfer:c1", "a")
    assert locks.lock_holder("transfer:c1", T0 + timedelta(seconds=40)) is None
    assert locks.take_lock("transfer:c1", "b", T0 + timedelta(seconds=40), T0 + timedelta(seconds=70))


def test_MKT_003_a_lapsed_lease_is_taken_over(stores: Stores) -> None:
    locks = locks_of(stores)
    assert locks.take_lock("transfer:c1", "dead", T0, T0 + LEASE)  # its holder then dies: no renewal
    later = T0 + LEASE
    assert locks.lock_holder("transfer:c1", later) is None
    assert locks.take_lock("transfer:c1", "b", later, later + LEASE)
    assert locks.lock_holder("transfer:c1", later) == "b"
    assert not locks.take_lock("transfer:c1", "dead", later, later + LEASE)  # the dead holder's late renewal
    locks.release_lock("transfer:c1", "dead")
    assert locks.lock_holder("transfer:c1", later) == "b"
