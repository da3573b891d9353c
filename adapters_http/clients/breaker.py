"""A circuit breaker per outbound HTTP dependency (SPEC PUB-007): a dependency that keeps failing or timing
out is skipped at once for a cool-down, then probed one call at a time before it is trusted again.

Written here rather than taken from a library (docs/decisions.md): pybreaker holds its lock while the
guarded call runs, so every call of a process to that dependency would wait for the one before it;
purgatory mutates one shared context from every thread without a lock; circuitbreaker has no transition
hooks and lets every call through once the cool-down is over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("entry_service.breaker")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"
FAILURES = 5  # consecutive failures (errors, timeouts, bad answers) that open the circuit
COOL_DOWN = 10.0  # seconds an open circuit skips the dependency before probing it
PROBES = 3  # successful probes, one at a time, that close it again

# Every breaker of the process by dependency name: state and counts for operators (logs, metrics).
BREAKERS: dict[str, Breaker] = {}


class Breaker:
    """The circuit of one dependency, shared by every thread of the process; its lock is held only to
    change the state, never during a call.

    ``admit()`` before a call answers None when the call must be skipped (open, or half-open with its
    probe already out), else a ticket to hand back with ``succeeded``/``failed``. A ticket from an earlier
    state (a call still running when the circuit opened) changes nothing."""

    def __init__(
        self,
        name: str,
        failures: int = FAILURES,
        cool_down: float = COOL_DOWN,
        probes: int = PROBES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failures < 1 or probes < 1 or not cool_down >= 0:
            raise ValueError("a breaker needs failures >= 1, probes >= 1 and a cool-down >= 0")
        self.name = name
        self._failures_to_open, self._cool_down, self._probes = failures, cool_down, probes
        self._clock = clock
        self._lock = threading.Lock()
        self.state = CLOSED
        self._generation = 0  # bumped by every transition
        self._failures = 0  # consecutive, while closed
        self._successes = 0  # probes that went through, while half-open
        self._probe_out = False
        self._opened_at = 0.0
        self.skipped = 0  # calls not made because the circuit was open
        self.transitions: dict[str, int] = {}  # "closed->open" -> count
        BREAKERS[name] = self

    def admit(self) -> int | None:
        with self._lock:
            if self.state == OPEN:
                if self._clock() - self._opened_at < self._cool_down:
                    self.skipped += 1
                    return None
                self._move(HALF_OPEN)
            if self.state == HALF_OPEN:
                if self._probe_out:
                    self.skipped += 1
                    return None
                self._probe_out = True
            return self._generation

    def succeeded(self, ticket: int) -> None:
        with self._lock:
            if ticket != self._generation:
                return
            if self.state == HALF_OPEN:
                self._probe_out = False
                self._successes += 1
                if self._successes >= self._probes:
                    self._move(CLOSED)
            else:
                self._failures = 0

    def failed(self, ticket: int, why: str) -> None:
        with self._lock:
            if ticket != self._generation:
                return
            if self.state == HALF_OPEN:
                self._move(OPEN, why)
                return
            self._failures += 1
            if self._failures >= self._failures_to_open:
                self._move(OPEN, why)

    def _move(self, state: str, why: str = "") -> None:
        key = f"{self.state}->{state}"
        self.transitions[key] = self.transitions.get(key, 0) + 1
        if state == OPEN:
            self._opened_at = self._clock()
            log.warning("circuit of %s open (%s): skipped for %.0f s, then probed", self.name, why, self._cool_down)
        elif state == HALF_OPEN:
            log.warning("circuit of %s half-open: probing it, one call at a time", self.name)
        elif state == CLOSED:
            log.warning("circuit of %s closed: %d probes went through", self.name, self._probes)
        self.state = state
        self._generation += 1
        self._failures = self._successes = 0
        self._probe_out = False
