"""The outbox relay: delivers pending events, receipts and retry requests after the commit, in order per
entry within each channel, with retries; one bad message fails alone and is parked as a dead letter after its
attempts run out; a channel whose sink is down never delays another (SPEC PUB-002, PUB-006)."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import attrs

from entrycore.errors import DeliveryFailed, MessageRejected
from entrycore.outbox import EVENT, RECEIPT, RETRY, OutboxMessage, RetryRequest
from entrycore.ports import Clock, EventSink, Outbox, ReceiptSender, RetryQueue
from entrycore.usecases.delivery import (
    MAX_ATTEMPTS,
    MAX_DELAY,
    Circuits,
    Outcome,
    RelayReport,
    doubling,
    lane,
    log,
    name_of,
    rounds,
    storable,
    unexpected,
)

# Messages waiting for a sink that is down are due again this late: the probe (the messages last sent) comes
# due far sooner, and when it goes through all of them are made due at once. This is only the fallback for a
# relay that stopped meanwhile (its circuit, in memory, is gone).
WAITING_MAX_DELAY = timedelta(seconds=60)


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
    max_attempts: int = MAX_ATTEMPTS
    jitter: Callable[[], float] = random.random  # injectable: tests are deterministic
    # True once the process is stopping: a run then sends nothing more and releases the rest of its claimed
    # batch, due at once, so after a clean stop no message waits out its lease (API.md §6, SIGTERM)
    stopping: Callable[[], bool] = attrs.field(default=lambda: False, eq=False, repr=False)
    # kind -> its sink's circuit as this relay sees it (one thread uses a relay)
    _circuits: Circuits = attrs.field(
        default=attrs.Factory(lambda self: Circuits(self.jitter), takes_self=True), eq=False, repr=False, init=False
    )

    def run_once(self) -> RelayReport:
        """Claims up to ``batch`` due messages and delivers them. A message its sink refused is retried alone
        with its own backoff, then parked; messages of a sink that failed as a whole wait for the sink (not
        counted against them); an entry's later messages of the same channel wait behind its failed one, no
        other entry's and no other channel's do (PUB-002)."""
        messages = self.outbox.claim(self.owner, self.batch, self.clock.now(), self.lease)
        outcome = Outcome()
        for round_ in rounds(messages):
            if self.stopping():
                outcome.held += round_
                continue
            failed = outcome.failed_lanes()
            outcome.held += [m for m in round_ if lane(m) in failed]
            self._deliver([m for m in round_ if lane(m) not in failed], outcome)
        parked = self._settle(outcome, self.clock.now())
        for kind in outcome.recovered:  # after the claimed batch is settled: no lease waits on this
            released = self.outbox.release_waiting(kind, self.clock.now())
            if released:
                log.warning("%s sink answering: %d message(s) that waited for it are due now", kind, released)
        retried = len(messages) - len(outcome.delivered) - parked
        now, delivered = self.clock.now(), set(outcome.delivered)
        ages = tuple((m.kind, (now - m.created_at).total_seconds()) for m in messages if m.id in delivered)
        return RelayReport(
            claimed=len(messages), delivered=len(outcome.delivered), retried=retried, parked=parked, delivery_ages=ages
        )

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

    # Delivery, one channel at a time

    def _deliver(self, messages: Sequence[OutboxMessage], outcome: Outcome) -> None:
        self._publish([m for m in messages if m.kind == EVENT], outcome)
        for message in (m for m in messages if m.kind == RECEIPT):
            if self.stopping():  # one email after another can take long: the rest is released
                outcome.held.append(message)
                continue
            self._send_receipt(message, outcome)
        self._enqueue([m for m in messages if m.kind == RETRY], outcome)

    def _publish(self, events: Sequence[OutboxMessage], outcome: Outcome) -> None:
        if not events or self._circuits.skipped(EVENT, events, outcome, self.clock.now()):
            return
        try:
            refused = self.events.publish(events)
        except DeliveryFailed as exc:  # part-way, perhaps: what landed before it failed is done
            landed = set(exc.delivered)
            outcome.delivered += [e.id for e in events if e.id in landed]
            for event in (e for e in events if e.id in exc.refused):
                self._reject(event, exc.refused[event.id], outcome)
            rest = [e for e in events if e.id not in landed and e.id not in exc.refused]
            self._circuits.down(EVENT, rest, str(exc), outcome, self.clock.now())
            return
        except Exception as exc:  # a sink's own bug with some message: find it by sending each alone
            if len(events) == 1:
                self._reject(events[0], unexpected(exc), outcome)
                return
            log.warning(
                "event sink failed a batch with %s; sending its %d events one by one", name_of(exc), len(events)
            )
            for event in events:
                self._publish([event], outcome)
            return
        self._circuits.up(EVENT, outcome)
        for event in events:
            if event.id in refused:
                self._reject(event, refused[event.id], outcome)
            else:
                outcome.delivered.append(event.id)

    def _send_receipt(self, message: OutboxMessage, outcome: Outcome) -> None:
        if self._circuits.skipped(RECEIPT, [message], outcome, self.clock.now()):
            return
        try:
            self.receipts.send(message.body)
        except DeliveryFailed as exc:
            self._circuits.down(RECEIPT, [message], str(exc), outcome, self.clock.now())
        except MessageRejected as exc:
            self._circuits.up(RECEIPT, outcome)
            self._reject(message, str(exc), outcome)
        except Exception as exc:  # a sender's own bug with this receipt
            self._reject(message, unexpected(exc), outcome)
        else:
            self._circuits.up(RECEIPT, outcome)
            outcome.delivered.append(message.id)

    def _enqueue(self, retries: Sequence[OutboxMessage], outcome: Outcome) -> None:
        requests: dict[str, RetryRequest] = {}
        for message in retries:
            try:
                requests[message.id] = RetryRequest.read(message.body)
            except ValueError:  # not a request (only a corrupted row could be): drop it, never block
                outcome.delivered.append(message.id)
        sendable = [m for m in retries if m.id in requests]
        if not sendable or self._circuits.skipped(RETRY, sendable, outcome, self.clock.now()):
            return
        try:
            refused = self.retries.enqueue([requests[m.id] for m in sendable])
        except DeliveryFailed as exc:
            self._circuits.down(RETRY, sendable, str(exc), outcome, self.clock.now())
            return
        except Exception as exc:
            if len(sendable) == 1:
                self._reject(sendable[0], unexpected(exc), outcome)
                return
            for message in sendable:
                self._enqueue([message], outcome)
            return
        self._circuits.up(RETRY, outcome)
        for message in sendable:
            why = refused.get(requests[message.id])
            if why is None:
                outcome.delivered.append(message.id)
            else:
                self._reject(message, why, outcome)

    def _reject(self, message: OutboxMessage, why: str, outcome: Outcome) -> None:
        outcome.rejected[message.id] = (message, storable(why))

    # Writing back what happened

    def _settle(self, outcome: Outcome, now: datetime) -> int:
        """Marks the delivered messages, releases the others with their due times and parks the refused
        ones whose attempts ran out; returns how many were parked. One outbox write per group, not per
        message (each is a durable write)."""
        if outcome.delivered:
            self.outbox.delivered(self.owner, outcome.delivered, now)
        parked = 0
        groups: dict[tuple[int, str], list[str]] = {}
        for message, why in outcome.rejected.values():
            if message.attempts + 1 >= self.max_attempts:
                log.error(
                    "outbox message %s (%s) parked as a dead letter after %d attempts: %s",
                    message.id,
                    message.kind,
                    message.attempts + 1,
                    why,
                )
                self.outbox.park(self.owner, [message.id], now, why)
                parked += 1
            else:
                groups.setdefault((message.attempts, why), []).append(message.id)
        for (attempts, why), ids in groups.items():
            log.warning("%d outbox message(s) refused (%s); each is retried alone", len(ids), why)
            self.outbox.retry_later(self.owner, ids, now + self._backoff(attempts), error=why)
        # Waiting for their sink, uncounted: those just sent are the next probe, due with it; the others wait
        # until a probe goes through (release_waiting), so a long outage is not rewritten every probe.
        for sent, messages in ((True, outcome.down), (False, outcome.waiting)):
            by_kind: dict[str, list[str]] = {}
            for message, _ in messages.values():
                by_kind.setdefault(message.kind, []).append(message.id)
            for kind, ids in by_kind.items():
                probe = self._circuits.probe_at(kind, now)
                at = probe if sent else max(probe, now + WAITING_MAX_DELAY)
                self.outbox.retry_later(self.owner, ids, at, error=outcome.down_channels[kind], counted=False)
        if outcome.held:  # not tried: due at once, yet still behind their entry's failed message
            self.outbox.retry_later(self.owner, [m.id for m in outcome.held], now, counted=False)
        return parked

    def _backoff(self, attempts: int) -> timedelta:
        """A refused message's next try: 0.5 s, 1 s, 2 s … up to 5 minutes."""
        return doubling(attempts, MAX_DELAY, self.jitter)
