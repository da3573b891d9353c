"""The relay's bookkeeping (SPEC PUB-002, PUB-006): each entry's lane in each channel and the rounds that keep its
order, what one run did with each claimed message, the sinks' circuit breakers, and the backoff of retries and
probes. Pure: the relay (usecases/relay.py) asks these and writes the outcome back to the outbox."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta

import attrs

from entrycore.outbox import OutboxMessage

log = logging.getLogger("entry_service.relay")

BASE_DELAY = 0.5  # seconds before a refused message's first retry
MAX_DELAY = 300.0  # its retries back off exponentially up to five minutes
MAX_ATTEMPTS = 10  # refusals of one message before it is parked: 0.5 s … 256 s, about 4 to 8.5 minutes in all
PROBE_MAX_DELAY = 5.0  # while a sink is down as a whole, it is probed at most this far apart

Key = tuple[str, str, str]  # (campaign, user, kind): the outbox keeps the order of each entry in each channel


def lane(message: OutboxMessage) -> Key:
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
class Outcome:
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
        return {lane(m) for m in failed + self.held}


@attrs.define
class SinkCircuit:
    """A sink's circuit breaker: closed while it works; after it fails as a whole, open until ``down_until``
    (its messages wait, marked as waiting for it, and it is not asked); then the next messages due are the
    probe. A probe that goes through closes it and makes every waiting message of the channel due at once."""

    failures: int = 0  # consecutive runs in which the sink failed as a whole
    down_until: datetime | None = None


def doubling(steps: int, cap: float, jitter: Callable[[], float]) -> timedelta:
    """BASE_DELAY doubled ``steps`` times, at most ``cap``, with jitter in its upper half."""
    ceiling: float = min(cap, BASE_DELAY * 2.0 ** min(steps, 20))
    return timedelta(seconds=ceiling * (0.5 + float(jitter()) / 2))


@attrs.define
class Circuits:
    """The sinks' circuit breakers as one relay sees them (one thread uses a relay), by channel."""

    jitter: Callable[[], float]
    _sinks: dict[str, SinkCircuit] = attrs.Factory(dict)
    _seen_up: set[str] = attrs.Factory(set)  # kinds whose sink took a call since start

    def probe_at(self, kind: str, now: datetime) -> datetime:
        """When the channel's next probe is due (now when its circuit is closed)."""
        circuit = self._sinks.get(kind)
        return circuit.down_until if circuit is not None and circuit.down_until else now

    def skipped(self, kind: str, messages: Sequence[OutboxMessage], outcome: Outcome, now: datetime) -> bool:
        """A sink that failed as a whole earlier in this run, or whose circuit is open, is not asked: its
        messages wait for the next probe."""
        why = outcome.down_channels.get(kind)
        circuit = self._sinks.get(kind)
        if why is None and circuit is not None and circuit.down_until and now < circuit.down_until:
            why = outcome.down_channels[kind] = f"{kind} sink down: waiting for the next probe"
        if why is not None:
            outcome.waiting.update({m.id: (m, why) for m in messages})
        return why is not None

    def down(self, kind: str, messages: Iterable[OutboxMessage], why: str, outcome: Outcome, now: datetime) -> None:
        if kind not in outcome.down_channels:
            circuit = self._sinks.setdefault(kind, SinkCircuit())
            circuit.failures += 1
            circuit.down_until = now + doubling(circuit.failures - 1, PROBE_MAX_DELAY, self.jitter)  # 0.5 s … 5 s apart
            if circuit.failures == 1:
                log.warning(
                    "%s sink down (%s): its messages wait, probed every %.0f s at most", kind, why, PROBE_MAX_DELAY
                )
        outcome.down_channels[kind] = why = storable(why)
        outcome.down.update({m.id: (m, why) for m in messages})

    def up(self, kind: str, outcome: Outcome) -> None:
        """The sink took a call. If it was down (or this relay just started: another may have seen it down),
        its circuit closes, and once the run is settled every message waiting for it is made due."""
        circuit = self._sinks.pop(kind, None)
        if (circuit is not None and circuit.failures) or kind not in self._seen_up:
            outcome.recovered.add(kind)
            if circuit is not None and circuit.failures:
                log.warning("%s sink back after %d failed probe(s)", kind, circuit.failures)
        self._seen_up.add(kind)


def storable(why: str) -> str:
    """An error text any store and log can keep: valid UTF-8 (a sink's message may quote the bad text), short."""
    return why.encode("utf-8", "backslashreplace").decode("utf-8")[:500]


def name_of(exc: BaseException) -> str:
    return type(exc).__name__


def unexpected(exc: BaseException) -> str:
    log.error("a sink failed on one message", exc_info=exc)
    return f"{name_of(exc)}: {exc}"  # made storable (and short) by the relay's _reject


def rounds(messages: Sequence[OutboxMessage]) -> list[list[OutboxMessage]]:
    """Round k holds the k-th message of each entry in each channel: those go out one round at a time, so a
    failure holds back that entry's later messages of its channel (the order PUB-002 keeps) but no other
    entry's and no other channel's."""
    rounds: list[list[OutboxMessage]] = []
    seen: dict[Key, int] = {}
    for message in messages:
        key = lane(message)
        index = seen.get(key, 0)
        seen[key] = index + 1
        if index == len(rounds):
            rounds.append([])
        rounds[index].append(message)
    return rounds
