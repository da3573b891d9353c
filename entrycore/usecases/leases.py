"""Holding a named lock of the datastore (the Locks port) while a long admin operation runs: taken at the start,
renewed by heartbeats (the Heartbeats port) while the work runs, released at the end — and, when the process
dies, lapsing by itself a lease later, so a crashed transfer never blocks its campaign for long (SPEC MKT-003)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from entrycore.errors import DependencyUnavailable, EntryError
from entrycore.ports import Clock, Heartbeats, Locks

LEASE = timedelta(seconds=30)  # how long a dead holder keeps the lock
RENEW_EVERY = 10.0  # seconds between renewals of a live holder: two may fail before the lease ends
log = logging.getLogger(__name__)


def transfer_lock(campaign_id: str) -> str:
    """The lock one transfer of the campaign holds; a draw commit checks it (``Locks.lock_holder``) too."""
    return f"transfer:{campaign_id}"


@contextmanager
def held(
    locks: Locks,
    heartbeats: Heartbeats,
    clock: Clock,
    name: str,
    owner: str,
    *,
    refused: EntryError,
    lease: timedelta = LEASE,
) -> Iterator[None]:
    """Holds ``name`` for ``owner`` around the block; raises ``refused`` when someone else holds it. The lease is
    renewed every RENEW_EVERY seconds until the block ends, then the lock is released."""
    now = clock.now()
    if not locks.take_lock(name, owner, now, now + lease):
        raise refused

    def renew() -> None:
        moment = clock.now()
        if not locks.take_lock(name, owner, moment, moment + lease):
            log.error("the lock %s was taken over while its holder still ran (its lease lapsed)", name)

    stop = heartbeats.start(RENEW_EVERY, renew)
    try:
        yield
    finally:
        stop()
        try:
            locks.release_lock(name, owner)
        except DependencyUnavailable:  # the lease lapses by itself; the work's own answer stands
            log.warning("the lock %s could not be released (the datastore failed); it lapses in %s", name, lease)
