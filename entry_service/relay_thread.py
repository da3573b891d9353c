"""The outbox relay as a background thread of each ``serve`` worker process (SPEC PUB-002)."""

from __future__ import annotations

import logging
import threading

import attrs

from adapters_http.metrics import observe_delivery
from entrycore.usecases.relay import Relay

log = logging.getLogger("entry_service.relay")


class RelayThread:
    """Runs ``relay.run_once()`` in a loop: straight again after a full batch, else every ``interval``
    seconds (what arrives meanwhile goes out as one batch), and after a pause when the relay itself fails
    (the datastore is down)."""

    def __init__(self, relay: Relay, interval: float = 0.2) -> None:
        self._interval = interval
        self._stop = threading.Event()
        self._relay = attrs.evolve(relay, stopping=self._stop.is_set)  # a stop releases the batch in hand
        self._thread = threading.Thread(target=self._run, name="outbox-relay", daemon=True)

    def start(self) -> RelayThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stops after the message being sent: the rest of the claimed batch is released, due at once."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                report = self._relay.run_once()
            except Exception:
                log.exception("outbox relay failed; retrying")
                self._stop.wait(2.0)
                continue
            for channel, seconds in report.delivery_ages:
                observe_delivery(channel, seconds)
            if not self._relay.keep_going(report):
                self._stop.wait(self._interval)
