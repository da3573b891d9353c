"""Enrichment: fraud check and account fanscore on every upsert, never failing it (SPEC PUB-003…005)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import attrs

from entrycore.errors import DependencyUnavailable, EnrichmentFailed
from entrycore.model import Entry, FraudResult, UserAccount
from entrycore.ports import FanscoreSource, FraudCheck, UserSource

SIGN_UP = "VerifiedFanSignUp"
EDIT = "VerifiedFanEdit"
UNKNOWN = FraudResult(score=None, status="unknown")

_pool_lock = threading.Lock()
_pools: dict[int, ThreadPoolExecutor] = {}


def _pool() -> ThreadPoolExecutor:
    """One small pool per process (made on first use, so never inherited through a fork)."""
    with _pool_lock:
        pool = _pools.get(os.getpid())
        if pool is None:
            pool = _pools[os.getpid()] = ThreadPoolExecutor(max_workers=16, thread_name_prefix="enrichment")
        return pool


@attrs.frozen
class Enrichment:
    """The configured fraud check and fanscore source; ``None`` = ``off`` (null result, no retry)."""

    fraud: FraudCheck | None = None
    fanscore: FanscoreSource | None = None

    def enrich(
        self, entry: Entry, placement: str, authorization: str | None, account: UserAccount | None = None
    ) -> tuple[Entry, bool]:
        """``(entry with fraud and fanscore, whether a configured source failed)``. Both sources are asked at
        once, each bounded by its own timeout; a failure gives fraud ``unknown`` / fanscore null."""
        pending: Future[FraudResult] | None = None
        if self.fraud is not None:
            pending = _pool().submit(self.fraud.check, entry, placement)
        failed = False
        fanscore = None
        if self.fanscore is not None:
            try:
                fanscore = self.fanscore.fanscore(entry.user_id, authorization, account)
            except EnrichmentFailed:
                failed = True
        fraud = None
        if pending is not None:
            try:
                fraud = pending.result()
            except EnrichmentFailed:
                fraud, failed = UNKNOWN, True
        return attrs.evolve(entry, fraud=fraud, fanscore=fanscore), failed


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
