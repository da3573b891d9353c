"""Enrichment: fraud check and account fanscore on every upsert, never failing it (SPEC PUB-003…005)."""

from __future__ import annotations

import contextvars
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import attrs

from entrycore.errors import DependencyUnavailable, EnrichmentFailed
from entrycore.model import Entry, FraudResult, UserAccount
from entrycore.ports import FanscoreSource, FraudCheck, UserSource

SIGN_UP = "VerifiedFanSignUp"
EDIT = "VerifiedFanEdit"
UNKNOWN = FraudResult(score=None, status="unknown")

T = TypeVar("T")
_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """One small pool per process (made on first use, so never inherited through a fork)."""
    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(max_workers=64, thread_name_prefix="enrichment")
        return pool


def _submit(call: Callable[..., T], *args: Any) -> Future[T]:
    """``call(*args)`` on the pool, in the caller's context (contextvars): what it carries, such as the request
    whose correlation id every log line of the call must show (OPS-001), goes along to the pool thread."""
    return _pool().submit(contextvars.copy_context().run, call, *args)


@attrs.frozen
class Scores:
    """What the enrichment sources said for one write."""

    fraud: FraudResult | None
    fanscore: float | None
    fraud_failed: bool = False
    fanscore_failed: bool = False

    @property
    def failed(self) -> bool:
        """A configured source gave no valid answer: the entry needs a retry (PUB-005)."""
        return self.fraud_failed or self.fanscore_failed

    def apply(self, entry: Entry, previous: Entry | None = None) -> Entry:
        """The entry with these scores. A failed fraud check is ``unknown`` (never a pass, PUB-003); a
        failed fanscore keeps the account's previous fanscore, a fact about the account, not the entry."""
        fanscore = previous.fanscore if self.fanscore_failed and previous is not None else self.fanscore
        return attrs.evolve(entry, fraud=self.fraud, fanscore=fanscore)


@attrs.frozen
class Enrichment:
    """The configured fraud check and fanscore source; ``None`` = ``off`` (null result, no retry).

    ``wait`` bounds how long a fan's request waits for the fraud check in all (the adapter's own timeout
    plus any queueing in the pool); None = only the adapter's timeout.
    """

    fraud: FraudCheck | None = None
    fanscore: FanscoreSource | None = None
    wait: float | None = None

    def scores(
        self, entry: Entry, placement: str, authorization: str | None, account: UserAccount | None = None
    ) -> Scores:
        """Asks both sources at once, each bounded by its timeout. Any failure of a source (its error, a
        timeout, a bug) is a failed score, never a failed registration. A source that is not trusted now
        (PUB-007: its circuit is open or being probed) is not waited for: its score fails at once, and the
        call, when it is made at all, runs in the background as the probe."""
        pending: Future[FraudResult] | None = None
        fraud, fraud_failed = None, False
        if self.fraud is not None:
            waiting = self.fraud.trusted()
            pending = _submit(self.fraud.check, entry, placement)
            if not waiting:
                pending, fraud, fraud_failed = None, UNKNOWN, True
        fanscore, fanscore_failed = None, False
        if self.fanscore is not None:
            if self.fanscore.trusted():
                try:
                    fanscore = self.fanscore.fanscore(entry.user_id, authorization, account)
                except Exception:  # PUB-005: a source can never fail the fan's write
                    fanscore_failed = True
            else:
                _submit(self.fanscore.fanscore, entry.user_id, authorization, account)
                fanscore_failed = True
        if pending is not None:
            try:
                fraud = pending.result(timeout=self.wait)
            except Exception:  # EnrichmentFailed, a timeout of the wait, or an adapter bug
                pending.cancel()
                fraud, fraud_failed = UNKNOWN, True
        return Scores(fraud, fanscore, fraud_failed, fanscore_failed)

    def enrich(
        self, entry: Entry, placement: str, authorization: str | None, account: UserAccount | None = None
    ) -> tuple[Entry, bool]:
        """``(entry with fraud and fanscore, whether a configured source failed)``."""
        scores = self.scores(entry, placement, authorization, account)
        return scores.apply(entry, previous=entry), scores.failed


@attrs.frozen
class AccountFanscore:
    """``ENTRY_FANSCORE=account``: the fanscore the user source reports on the account."""

    users: UserSource

    def fanscore(self, user_id: str, authorization: str | None, account: UserAccount | None = None) -> float | None:
        if account is None:
            try:
                account = self.users.get(user_id, authorization)
            except DependencyUnavailable as exc:
                raise EnrichmentFailed(exc.message) from None
        return account.fanscore

    def trusted(self) -> bool:
        """The account was read for the request already (or is read as the request's own dependency)."""
        return True
