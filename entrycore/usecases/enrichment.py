"""Enrichment: fraud check and account fanscore on every upsert, never failing it (SPEC PUB-003…005)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from entrycore.errors import DependencyUnavailable, EnrichmentFailed
from entrycore.model import Entry, FraudResult, UserAccount
from entrycore.ports import FanscoreSource, FraudCheck, Pending, Runner, UserSource

T = TypeVar("T")

SIGN_UP = "VerifiedFanSignUp"
EDIT = "VerifiedFanEdit"
UNKNOWN = FraudResult(score=None, status="unknown")


@attrs.frozen
class _Done(Generic[T]):
    """A call already run (the inline Runner's answer)."""

    value: T | None = None
    error: BaseException | None = None

    def result(self, timeout: float | None = None) -> T:
        if self.error is not None:
            raise self.error
        return self.value  # type: ignore[return-value]  # set whenever error is None

    def cancel(self) -> bool:
        return False


class Inline:
    """A Runner that runs each call at once, in the caller (tests, tools): nothing runs beside anything."""

    def submit(self, call: Callable[..., T], /, *args: Any) -> Pending[T]:
        try:
            return _Done(call(*args))
        except Exception as exc:  # handed back as the call's outcome, like a Future's
            return _Done(error=exc)


@attrs.frozen
class Scores:
    """What the enrichment sources said for one write."""

    fraud: FraudResult | None
    fanscore: float | None
    fraud_failed: bool = False
    fanscore_failed: bool = False
    deferred: bool = False  # not asked: the write queues the entry for the worker (batch replication)

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
    runner: Runner = attrs.field(factory=Inline)  # the composition root gives a thread pool

    def scores(
        self, entry: Entry, placement: str, authorization: str | None, account: UserAccount | None = None
    ) -> Scores:
        """Asks both sources at once, each bounded by its timeout. Any failure of a source (its error, a
        timeout, a bug) is a failed score, never a failed registration. A source that is not trusted now
        (PUB-007: its circuit is open or being probed) is not waited for: its score fails at once, and the
        call, when it is made at all, runs in the background as the probe."""
        pending: Pending[FraudResult] | None = None
        fraud, fraud_failed = None, False
        if self.fraud is not None:
            waiting = self.fraud.trusted()
            pending = self.runner.submit(self.fraud.check, entry, placement)
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
                self.runner.submit(self.fanscore.fanscore, entry.user_id, authorization, account)
                fanscore_failed = True
        if pending is not None:
            try:
                fraud = pending.result(timeout=self.wait)
            except Exception:  # EnrichmentFailed, a timeout of the wait, or an adapter bug
                pending.cancel()
                fraud, fraud_failed = UNKNOWN, True
        return Scores(fraud, fanscore, fraud_failed, fanscore_failed)

    def deferred(self) -> Scores:
        """The scores of a write that does not ask the sources: each configured source counts as failed, so the
        write queues its retry request and the worker asks them (PUB-005); the fraud status is ``unknown``
        meanwhile, never a pass (PUB-003)."""
        fraud = self.fraud is not None
        fanscore = self.fanscore is not None
        return Scores(UNKNOWN if fraud else None, None, fraud, fanscore, deferred=True)

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
