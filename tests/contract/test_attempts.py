"""AttemptStore contract (SPEC PHN-010): failed phone confirmations counted per entry over a window."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from tests.contract.conftest import Stores
from tests.contract.entries import T0

MINUTE = timedelta(minutes=1)


def test_failures_are_counted_after_since_only(stores: Stores) -> None:
    assert stores.attempts.failed_attempts("c1", "ana", T0 - 10 * MINUTE) == 0
    for minutes in (0, 1, 1, 5, 9):
        stores.attempts.record_failed_attempt("c1", "ana", T0 + minutes * MINUTE)
    assert stores.attempts.failed_attempts("c1", "ana", T0 - timedelta(milliseconds=1)) == 5
    assert stores.attempts.failed_attempts("c1", "ana", T0) == 4  # strictly after: the window slides
    assert stores.attempts.failed_attempts("c1", "ana", T0 + MINUTE) == 2
    assert stores.attempts.failed_attempts("c1", "ana", T0 + 9 * MINUTE) == 0


def test_the_window_slides_with_time(stores: Stores) -> None:
    for minutes in range(0, 30, 2):
        stores.attempts.record_failed_attempt("c1", "ana", T0 + minutes * MINUTE)
        in_window = stores.attempts.failed_attempts("c1", "ana", T0 + minutes * MINUTE - 10 * MINUTE)
        assert in_window == min(minutes // 2 + 1, 5)


def test_failures_are_counted_per_entry(stores: Stores) -> None:
    stores.attempts.record_failed_attempt("c1", "ana", T0)
    stores.attempts.record_failed_attempt("c1", "ana", T0)
    stores.attempts.record_failed_attempt("c1", "bob", T0)
    stores.attempts.record_failed_attempt("c2", "ana", T0)
    since = T0 - MINUTE
    assert stores.attempts.failed_attempts("c1", "ana", since) == 2
    assert stores.attempts.failed_attempts("c1", "bob", since) == 1
    assert stores.attempts.failed_attempts("c2", "ana", since) == 1
    assert stores.attempts.failed_attempts("c2", "bob", since) == 0


def test_PHN_010_a_reservation_counts_as_failed_until_released(stores: Stores) -> None:
    since = T0 - 10 * MINUTE
    first = stores.attempts.reserve_attempt("c1", "ana", T0, since, 5)
    second = stores.attempts.reserve_attempt("c1", "ana", T0, since, 5)  # the same millisecond: still two
    assert first is not None and second is not None and first != second
    assert stores.attempts.failed_attempts("c1", "ana", since) == 2
    stores.attempts.release_attempt("c1", "ana", first)  # that attempt did not fail
    assert stores.attempts.failed_attempts("c1", "ana", since) == 1
    stores.attempts.release_attempt("c1", "ana", first)  # again: nothing
    stores.attempts.release_attempt("c1", "bob", second)  # another entry's name: nothing
    assert stores.attempts.failed_attempts("c1", "ana", since) == 1
    assert stores.attempts.failed_attempts("c1", "bob", since) == 0


def test_PHN_010_the_limit_refuses_a_reservation_and_records_nothing(stores: Stores) -> None:
    for minutes in range(4):
        stores.attempts.record_failed_attempt("c1", "ana", T0 + minutes * MINUTE)
    now = T0 + 5 * MINUTE
    assert stores.attempts.reserve_attempt("c1", "ana", now, now - 10 * MINUTE, 5) is not None  # the fifth
    assert stores.attempts.reserve_attempt("c1", "ana", now, now - 10 * MINUTE, 5) is None
    assert stores.attempts.failed_attempts("c1", "ana", now - 10 * MINUTE) == 5  # a refusal is no attempt
    later = T0 + 10 * MINUTE + timedelta(seconds=30)  # the first failure left the window
    assert stores.attempts.reserve_attempt("c1", "ana", later, later - 10 * MINUTE, 5) is not None
    assert stores.attempts.reserve_attempt("c2", "ana", now, now - 10 * MINUTE, 5) is not None  # per entry


def test_PHN_010_parallel_reservations_never_pass_the_limit_together(stores: Stores) -> None:
    since = T0 - 10 * MINUTE
    with ThreadPoolExecutor(8) as pool:
        granted = list(pool.map(lambda _: stores.attempts.reserve_attempt("c1", "ana", T0, since, 5), range(24)))
    assert sum(r is not None for r in granted) == 5
    assert stores.attempts.failed_attempts("c1", "ana", since) == 5
