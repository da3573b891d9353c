"""The outbox relay: delivers pending events, receipts and retry requests after the commit, in order per
entry within each channel, with retries; one bad message fails alone and is parked as a dead letter after its
attempts run out; a channel whose sink is down never delays another (SPEC PUB-002, PUB-006)."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from entrycore.errors import DeliveryFailed, MessageRejected
from entrycore.outbox import EVENT, RECEIPT, RETRY, OutboxMessage, RetryRequest
from entrycore.ports import Clock, EventSink, Outbox, ReceiptSender, RetryQueue

log = logging.getLogger("entry_service.relay")

BASE_DELAY = 0.5  # seconds before a refused message's first retry
MAX_DELAY = 300.0  # its retries back off exponentially up to five minutes
MAX_ATTEMPTS = 10  # refusals of one message before it is parked: 0.5 s … 256 s, about 4 to 8.5 minutes in all
PROBE_MAX_DELAY = 5.0  # while a sink is down as a whole, it is probed at most this far apart
# Messages waiting for a sink that is down are due again this late: the probe (the messages last sent) comes
# due far sooner, and when it goes through all of them are made due at once. This is only the fallback for a
# relay that stopped meanwhile (its circuit, in memory, is gone).
WAITING_MAX_DELAY = timedelta(seconds=60)

Key = tuple[str, str, str]  # (campaign, user, kind): the outbox keeps the order of each entry in each channel


def _lane(message: OutboxMessage) -> Key:
    return message.campaign_id, message.user_id, message.kind


@attrs.frozen
class RelayReport:
    claimed: int
    delivered: int
    retried: int
    parked: int = 0
    # (channel, seconds from the commit to the delivery) of each delivered message, for the operator's metrics
    delivery_ages: tuple[tuple[str, float], ...] = ()


@attrs.define
class _Outcome:
    """What one run did with each claimed message."""

    delivered: list[str] = attrs.Factory(list)
    rejected: dict[str, tuple[OutboxMessage, str]] = attrs.Factory(dict)  # refused alone: id -> (message, why)
    down: dict[str, tuple[OutboxMessage, str]] = attrs.Factory(dict)  # sent as its sink failed as a whole
    waiting: dict[str, tuple[OutboxMessage, str]] = attrs.Factory(dict)  # not sent: its sink is down
    held: list[OutboxMessage] = attrs.Factory(list)  # behind an older message of its entry that failed
    down_channels: dict[str, str] = attrs.Factory(dict)  # kind -> why, for the rest of the run
    recovered: set[str] = attrs.Factory(set)  # kinds whose sink took a call after being down

    def failed_lanes(self) -> set[Key]:
        failed = [m for m, _ in (*self.rejected.values(), *self.down.values(), *self.waiting.values())]
        return {_lane(m) for m in failed + self.held}


@attrs.define
class _SinkCircuit:
    """A sink's circuit breaker: closed while it works; after it fails as a whole, open until ``down_until``
    (its messages wait, marked as waiting for it, and it is not asked); then the next messages due are the
    probe. A probe that goes through closes it and makes every waiting message of the channel due at once."""

    failures: int = 0  # consecutive runs in which the sink failed as a whole
    down_until: datetime | None = None


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
    _sinks: dict[str, _SinkCircuit] = attrs.field(factory=dict, eq=False, repr=False)
    _seen_up: set[str] = attrs.field(factory=set, eq=False, repr=False)  # kinds whose sink took a call since start

    def run_once(self) -> RelayReport:
        """Claims up to ``batch`` due messages and delivers them. A message its sink refused is retried alone
        with its own backoff, then parked; messages of a sink that failed as a whole wait for the sink (not
        counted against them); an entry's later messages of the same channel wait behind its failed one, no
        other entry's and no other channel's do (PUB-002)."""
        messages = self.outbox.claim(self.owner, self.batch, self.clock.now(), self.lease)
        outcome = _Outcome()
        for round_ in _rounds(messages):
            if self.stopping():
                outcome.held += round_
                continue
            failed = outcome.failed_lanes()
            outcome.held += [m for m in round_ if _lane(m) in failed]
            self._deliver([m for m in round_ if _lane(m) not in failed], outcome)
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

    def _deliver(self, messages: Sequence[OutboxMessage], outcome: _Outcome) -> None:
        self._publish([m for m in messages if m.kind == EVENT], outcome)
        for message in (m for m in messages if m.kind == RECEIPT):
            if self.stopping():  # one email after another can take long: the rest is released
                outcome.held.append(message)
                continue
            self._send_receipt(message, outcome)
        self._enqueue([m for m in messages if m.kind == RETRY], outcome)

    def _publish(self, events: Sequence[OutboxMessage], outcome: _Outcome) -> None:
        if not events or self._skipped(EVENT, events, outcome):
            return
        try:
            refused = self.events.publish(events)
        except DeliveryFailed as exc:  # part-way, perhaps: what landed before it failed is done
            landed = set(exc.delivered)
            outcome.delivered += [e.id for e in events if e.id in landed]
            for event in (e for e in events if e.id in exc.refused):
                self._reject(event, exc.refused[event.id], outcome)
            rest = [e for e in events if e.id not in landed and e.id not in exc.refused]
            self._sink_down(EVENT, rest, str(exc), outcome)
            return
        except Exception as exc:  # a sink's own bug with some message: find it by sending each alone
            if len(events) == 1:
                self._reject(events[0], _unexpected(exc), outcome)
                return
            log.warning("event sink failed a batch with %s; sending its %d events one by one", _name(exc), len(events))
            for event in events:
                self._publish([event], outcome)
            return
        self._sink_up(EVENT, outcome)
        for event in events:
            if event.id in refused:
                self._reject(event, refused[event.id], outcome)
            else:
                outcome.delivered.append(event.id)

    def _send_receipt(self, message: OutboxMessage, outcome: _Outcome) -> None:
        if self._skipped(RECEIPT, [message], outcome):
            return
        try:
            self.receipts.send(message.body)
        except DeliveryFailed as exc:
            self._sink_down(RECEIPT, [message], str(exc), outcome)
        except MessageRejected as exc:
            self._sink_up(RECEIPT, outcome)
            self._reject(message, str(exc), outcome)
        except Exception as exc:  # a sender's own bug with this receipt
            self._reject(message, _unexpected(exc), outcome)
        else:
            self._sink_up(RECEIPT, outcome)
            outcome.delivered.append(message.id)

    def _enqueue(self, retries: Sequence[OutboxMessage], outcome: _Outcome) -> None:
        requests: dict[str, RetryRequest] = {}
        for message in retries:
            try:
                requests[message.id] = RetryRequest.from_document(message.body)
            except ValueError:  # not a request (only a corrupted row could be): drop it, never block
                outcome.delivered.append(message.id)
        sendable = [m for m in retries if m.id in requests]
        if not sendable or self._skipped(RETRY, sendable, outcome):
            return
        try:
            refused = self.retries.enqueue([requests[m.id] for m in sendable])
        except DeliveryFailed as exc:
            self._sink_down(RETRY, sendable, str(exc), outcome)
            return
        except Exception as exc:
            if len(sendable) == 1:
                self._reject(sendable[0], _unexpected(exc), outcome)
                return
            for message in sendable:
                self._enqueue([message], outcome)
            return
        self._sink_up(RETRY, outcome)
        for message in sendable:
            why = refused.get(requests[message.id])
            if why is None:
                outcome.delivered.append(message.id)
            else:
                self._reject(message, why, outcome)

    def _skipped(self, kind: str, messages: Sequence[OutboxMessage], outcome: _Outcome) -> bool:
        """A sink that failed as a whole earlier in this run, or whose circuit is open, is not asked: its
        messages wait for the next probe."""
        why = outcome.down_channels.get(kind)
        circuit = self._sinks.get(kind)
        if why is None and circuit is not None and circuit.down_until and self.clock.now() < circuit.down_until:
            why = outcome.down_channels[kind] = f"{kind} sink down: waiting for the next probe"
        if why is not None:
            outcome.waiting.update({m.id: (m, why) for m in messages})
        return why is not None

    def _sink_down(self, kind: str, messages: Iterable[OutboxMessage], why: str, outcome: _Outcome) -> None:
        if kind not in outcome.down_channels:
            circuit = self._sinks.setdefault(kind, _SinkCircuit())
            circuit.failures += 1
            circuit.down_until = self.clock.now() + self._probe_delay(circuit.failures)
            if circuit.failures == 1:
                log.warning(
                    "%s sink down (%s): its messages wait, probed every %.0f s at most", kind, why, PROBE_MAX_DELAY
                )
        outcome.down_channels[kind] = why = _storable(why)
        outcome.down.update({m.id: (m, why) for m in messages})

    def _sink_up(self, kind: str, outcome: _Outcome) -> None:
        """The sink took a call. If it was down (or this relay just started: another may have seen it down),
        its circuit closes, and once the run is settled every message waiting for it is made due."""
        circuit = self._sinks.pop(kind, None)
        if (circuit is not None and circuit.failures) or kind not in self._seen_up:
            outcome.recovered.add(kind)
            if circuit is not None and circuit.failures:
                log.warning("%s sink back after %d failed probe(s)", kind, circuit.failures)
        self._seen_up.add(kind)

    def _reject(self, message: OutboxMessage, why: str, outcome: _Outcome) -> None:
        outcome.rejected[message.id] = (message, _storable(why))

    # Writing back what happened

    def _settle(self, outcome: _Outcome, now: datetime) -> int:
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
                circuit = self._sinks.get(kind)
                probe = circuit.down_until if circuit is not None and circuit.down_until else now
                at = probe if sent else max(probe, now + WAITING_MAX_DELAY)
                self.outbox.retry_later(self.owner, ids, at, error=outcome.down_channels[kind], counted=False)
        if outcome.held:  # not tried: due at once, yet still behind their entry's failed message
            self.outbox.retry_later(self.owner, [m.id for m in outcome.held], now, counted=False)
        return parked

    def _backoff(self, attempts: int) -> timedelta:
        """A refused message's next try: 0.5 s, 1 s, 2 s … up to 5 minutes."""
        return self._doubling(attempts, MAX_DELAY)

    def _probe_delay(self, failures: int) -> timedelta:
        """While a sink is down it is probed 0.5 s, 1 s, 2 s … at most 5 s apart."""
        return self._doubling(failures - 1, PROBE_MAX_DELAY)

    def _doubling(self, steps: int, cap: float) -> timedelta:
        """BASE_DELAY doubled ``steps`` times, at most ``cap``, with jitter in its upper half."""
        ceiling: float = min(cap, BASE_DELAY * 2.0 ** min(steps, 20))
        return timedelta(seconds=ceiling * (0.5 + float(self.jitter()) / 2))


def _storable(why: str) -> str:
    """An error text any store and log can keep: valid UTF-8 (a sink's message may quote the bad text), short."""
    return why.encode("utf-8", "backslashreplace").decode("utf-8")[:500]


def _name(exc: BaseException) -> str:
    return type(exc).__name__


def _unexpected(exc: BaseException) -> str:
    log.error("a sink failed on one message", exc_info=exc)
    return f"{_name(exc)}: {exc}"  # made storable (and short) by _reject


def _rounds(messages: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """Round k holds the k-th message of each entry in each channel: those go out one round at a time, so a
    failure holds back that entry's later messages of its channel (the order PUB-002 keeps) but no other
    entry's and no other channel's."""
    rounds: list[list[OutboxMessage]] = []
    seen: dict[Key, int] = {}
    for message in messages:
        key = _lane(message)
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(message)
    return rounds
