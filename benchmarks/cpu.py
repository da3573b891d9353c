"""Who used the CPUs during a measured run: the server's processes, wrk, everything else (from /proc).

On a shared 2-core machine another process (a test suite, a build) changes every figure; this makes the
share visible next to each run instead of guessing from the load average.
"""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def _busy_seconds() -> float:
    """CPU seconds spent not idle by the whole machine since boot (user nice system irq softirq steal)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _process_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended
        total += (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    return total


def _children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # waited-for children: wrk
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class CpuShare:
    server: float  # fractions of the machine's capacity (all cores) during the run
    client: float
    other: float

    def __str__(self) -> str:
        return (
            f"CPU of {os.cpu_count()} cores: server {self.server:.0%}, wrk {self.client:.0%}, "
            f"other processes {self.other:.0%}"
        )


class CpuMeter:
    """``start`` before a run, ``stop`` after it (wrk waited for), with the server's process ids."""

    def start(self, server_pids: list[int], elapsed_start: float) -> None:
        self._pids = server_pids
        self._t0 = elapsed_start
        self._busy, self._server, self._client = _busy_seconds(), _process_seconds(server_pids), _children_seconds()

    def stop(self, elapsed_end: float) -> CpuShare:
        capacity = (elapsed_end - self._t0) * (os.cpu_count() or 1)
        busy = _busy_seconds() - self._busy
        server = _process_seconds(self._pids) - self._server
        client = _children_seconds() - self._client
        other = max(busy - server - client, 0.0)
        return CpuShare(server / capacity, client / capacity, other / capacity)


def machine_busy(seconds: float = 2.0) -> float:
    """Share of all cores busy over the next ``seconds`` (call it while the benchmark sends no load)."""
    start = _busy_seconds()
    time.sleep(seconds)
    return (_busy_seconds() - start) / (seconds * (os.cpu_count() or 1))


def wait_idle(max_wait: float, threshold: float = 0.10) -> tuple[float, float]:
    """Waits (at most ``max_wait`` s) until under ``threshold`` of the CPUs are busy: other work on a shared
    machine skews every figure. Returns (seconds waited, last busy share)."""
    started = time.monotonic()
    busy = machine_busy()
    while busy >= threshold and time.monotonic() - started < max_wait:
        busy = machine_busy()
    return time.monotonic() - started, busy
