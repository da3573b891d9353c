"""The outbox relay: delivers pending events and receipts after the commit, in order per entry, with retries
(SPEC PUB-002, PUB-006)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import timedelta

import attrs

from entrycore.errors import DeliveryFailed
from entrycore.outbox import EVENT, RECEIPT, RETRY, OutboxMessage, RetryRequest
from entrycore.ports import Clock, EventSink, Outbox, ReceiptSender, RetryQueue

BASE_DELAY = 0.5  # seconds before the first retry
MAX_DELAY = 300.0  # retries back off exponentially up to five minutes


@attrs.frozen
class RelayReport:
    claimed: int
    delivered: int
    retried: int


@attrs.frozen
class Relay:
    outbox: Outbox
    events: EventSink
    receipts: ReceiptSender
    retries: RetryQueue
    clock: Clock
    owner: str
    batch: int = 500
    lease: timedelta = timedelta(seconds=30)  # after a crash, its claimed messages wait this long
    jitter: Callable[[], float] = random.random  # injectable: tests are deterministic

    def run_once(self) -> RelayReport:
        """Claims up to ``batch`` due messages and delivers them; failures are retried later with backoff."""
        messages = self.outbox.claim(self.owner, self.batch, self.clock.now(), self.lease)
        delivered: list[str] = []
        failed: list[OutboxMessage] = []
        for round_ in _rounds(messages):
            blocked = {(m.campaign_id, m.user_id) for m in failed}
            ready = [m for m in round_ if (m.campaign_id, m.user_id) not in blocked]
            failed += [m for m in round_ if (m.campaign_id, m.user_id) in blocked]
            ok, bad = self._deliver(ready)
            delivered += ok
            failed += bad
        now = self.clock.now()
        if delivered:
            self.outbox.delivered(self.owner, delivered, now)
        by_attempts: dict[int, list[str]] = {}
        for message in failed:  # one retry_later per backoff step, not per message (a durable write each)
            by_attempts.setdefault(message.attempts, []).append(message.id)
        for attempts, ids in by_attempts.items():
            self.outbox.retry_later(self.owner, ids, now + timedelta(seconds=self._delay(attempts)))
        return RelayReport(claimed=len(messages), delivered=len(delivered), retried=len(failed))

    def keep_going(self, report: RelayReport) -> bool:
        """Whether a polling relay should run again at once: after a batch of at least a tenth of ``batch``
        that went out. A smaller one means the backlog is drained, so the relay waits its interval and
        takes what arrived meanwhile as one batch — a claim and a delivered mark per batch, not per
        registration. (Not "only after a full batch": relays sharing a backlog split it, and each would
        pause after every share.)"""
        return report.delivered > 0 and report.delivered >= self.batch // 10

    def drain(self, max_rounds: int = 1_000_000) -> int:
        """Runs until nothing is due (or ``max_rounds``); returns how many messages were delivered."""
        total = 0
        for _ in range(max_rounds):
            report = self.run_once()
            total += report.delivered
            if report.claimed == 0 or report.delivered == 0:
                break
        return total

    def _deliver(self, messages: Sequence[OutboxMessage]) -> tuple[list[str], list[OutboxMessage]]:
        ok: list[str] = []
        bad: list[OutboxMessage] = []
        events = [m for m in messages if m.kind == EVENT]
        if events:
            try:
                failed_ids = set(self.events.publish(events))
            except DeliveryFailed:
                failed_ids = {m.id for m in events}
            ok += [m.id for m in events if m.id not in failed_ids]
            bad += [m for m in events if m.id in failed_ids]
        for message in (m for m in messages if m.kind == RECEIPT):
            try:
                self.receipts.send(message.body)
            except DeliveryFailed:
                bad.append(message)
            else:
                ok.append(message.id)
        retries = [m for m in messages if m.kind == RETRY]
        requests = []
        for message in retries:
            try:
                requests.append(RetryRequest.from_document(message.body))
            except ValueError:
                ok.append(message.id)  # not a request (only a corrupted row could be): drop it, never block
                retries = [m for m in retries if m is not message]
        if retries:
            try:
                self.retries.enqueue(requests)
            except DeliveryFailed:
                bad += retries
            else:
                ok += [m.id for m in retries]
        return ok, bad

    def _delay(self, attempts: int) -> float:
        """Exponential backoff with full jitter in its upper half: 0.5 s, 1 s, 2 s … up to 5 minutes."""
        ceiling: float = min(MAX_DELAY, BASE_DELAY * 2.0 ** min(attempts, 20))
        return ceiling * (0.5 + float(self.jitter()) / 2)


def _rounds(messages: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """Round k holds the k-th message of each entry: an entry's messages go out one round at a time, so a
    failure holds back that entry's later messages (order per entry) but no other entry's."""
    rounds: list[list[OutboxMessage]] = []
    seen: dict[tuple[str, str], int] = {}
    for message in messages:
        key = (message.campaign_id, message.user_id)
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(message)
    return rounds
