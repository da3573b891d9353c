"""The draws' own clock work as a background thread of each ``serve`` worker (SPEC DRW-002, DRW-005): reveal the
draws whose beacon round has come (with ``ENTRY_DRAND_URL``) and roll expired offers over, every ``interval``
seconds — within a minute of their time, as the SPEC asks. Every worker runs one: their changes are saved over the
version they read (the draw store's optimistic concurrency), so two workers never roll one offer twice."""

from __future__ import annotations

import logging
import threading

from entrycore.usecases.draws import Draws

log = logging.getLogger("entry_service.draws")
INTERVAL = 15.0  # seconds between rounds of work: well within the minute of DRW-002 and DRW-005


class DrawsThread:
    def __init__(self, draws: Draws, interval: float = INTERVAL) -> None:
        self._draws = draws
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="draws", daemon=True)

    def start(self) -> DrawsThread:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def run_once(self) -> tuple[int, int]:
        """Reveals what is due, then rolls over expired offers until none is left: ``(revealed, expired)``."""
        revealed = self._draws.reveal_due()
        expired = 0
        while not self._stop.is_set() and (done := self._draws.roll_due()):
            expired += done
        return revealed, expired

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                revealed, expired = self.run_once()
            except Exception:
                log.exception("draws: revealing or rolling over failed; trying again later")
                continue
            if revealed or expired:
                log.info("draws: %d revealed, %d expired offers rolled over", revealed, expired)
