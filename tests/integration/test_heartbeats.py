"""entry_service.background.ThreadHeartbeats (the Heartbeats port a transfer renews its lock with, MKT-003): beats
come every interval from another thread, a failing beat does not end them, and stop() returns with none left."""

from __future__ import annotations

import threading
import time

from entry_service.background import ThreadHeartbeats


def test_beats_come_until_stopped_and_survive_a_failure() -> None:
    beats: list[str] = []
    three = threading.Event()

    def beat() -> None:
        beats.append(threading.current_thread().name)
        if len(beats) == 1:
            raise RuntimeError("the datastore failed once")
        if len(beats) >= 3:
            three.set()

    stop = ThreadHeartbeats().start(0.01, beat)
    assert three.wait(5)
    stop()
    count = len(beats)
    time.sleep(0.05)
    assert len(beats) == count >= 3  # nothing after stop()
    assert all(name != threading.current_thread().name for name in beats)
