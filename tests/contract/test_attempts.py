"""AttemptStore contract (SPEC PHN-010): failed phone confirmations counted per entry over a window."""

from __future__ import annotations

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
