"""A fraud check or fanscore source that is not trusted now (its circuit open or probed) is not waited for:
the score fails at once (unknown, a retry queued), and the call runs in the background as the probe
(SPEC PUB-003, PUB-005, PUB-007)."""

from __future__ import annotations

import threading
import time

import attrs

from entry_service.background import ThreadRunner
from entrycore.model import Entry, FraudResult, UserAccount
from entrycore.usecases.enrichment import SIGN_UP, UNKNOWN, Enrichment
from tests.contract.entries import an_entry


@attrs.define
class SlowSource:
    """Answers after ``delay`` seconds; ``is_trusted`` as its circuit would say."""

    is_trusted: bool
    delay: float = 2.0
    called: threading.Event = attrs.field(factory=threading.Event)

    def check(self, entry: Entry, placement: str) -> FraudResult:
        self.called.set()
        time.sleep(self.delay)
        return FraudResult(score=1.0, status="scored")

    def fanscore(self, user_id: str, authorization: str | None, account: UserAccount | None = None) -> float | None:
        self.called.set()
        time.sleep(self.delay)
        return 0.5

    def trusted(self) -> bool:
        return self.is_trusted


def test_an_untrusted_source_is_not_waited_for_but_still_called_as_the_probe() -> None:
    fraud, fanscore = SlowSource(is_trusted=False), SlowSource(is_trusted=False)
    started = time.monotonic()
    enrichment = Enrichment(fraud=fraud, fanscore=fanscore, wait=5.0, runner=ThreadRunner())
    scores = enrichment.scores(an_entry(), SIGN_UP, None)
    assert time.monotonic() - started < 1.0  # not the sources' 2 s: a bound that only catches waiting
    assert (scores.fraud, scores.fanscore, scores.failed) == (UNKNOWN, None, True)
    assert fraud.called.wait(5) and fanscore.called.wait(5)  # the probes ran in the background


def test_a_trusted_source_is_waited_for() -> None:
    fraud, fanscore = SlowSource(is_trusted=True, delay=0.2), SlowSource(is_trusted=True, delay=0.2)
    scores = Enrichment(fraud=fraud, fanscore=fanscore, wait=5.0).scores(an_entry(), SIGN_UP, None)
    assert (scores.fraud, scores.fanscore, scores.failed) == (FraudResult(score=1.0, status="scored"), 0.5, False)
