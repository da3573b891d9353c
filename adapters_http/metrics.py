"""Prometheus metrics of a process (API.md §5 ``GET /metrics``), shared by the HTTP server, the HTTP clients and
the relay thread.

Under ``entry-service serve`` the workers are separate processes: ``serve`` points ``PROMETHEUS_MULTIPROC_DIR`` at
an empty folder before they start, so prometheus-client keeps each worker's values in files there and any worker
answers ``/metrics`` with the sum over all of them (``MultiProcessCollector``). Without it (tests, the CLI) the
values are this process's. The outbox gauges are read from the datastore at each scrape, once for all workers.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, mmap_dict, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from entrycore.outbox import OutboxStatus

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Histogram(
    "entry_http_request_duration_seconds",
    "HTTP requests by route template, method and status: their count (_count) and handling time",
    ["route", "method", "status"],
    buckets=_FAST,
)
REGISTRATIONS = Counter(
    "entry_registrations_total", "Fan registrations by outcome: created, updated, confirmed (phone)", ["outcome"]
)
DRAWS = Counter(
    "entry_draws_total",
    "Draws and their offers by event: committed, revealed, cancelled (draws); accepted, declined (offers answered)",
    ["event"],
)
DEPENDENCY_CALLS = Histogram(
    "entry_dependency_call_seconds",
    "Calls to other services by dependency and outcome (success, failure, skipped: circuit open)",
    ["dependency", "outcome"],
    buckets=_FAST,
)
DELIVERIES = Histogram(
    "entry_outbox_delivery_seconds",
    "Time from an outbox message's commit to its delivery, by channel (event, receipt, retry)",
    ["channel"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 15.0, 60.0, 300.0, 3600.0),
)


_log = logging.getLogger("entry_service.metrics")
_failed: set[str] = set()  # the kinds of failure logged already (once each per process)


def count_registration(outcome: str) -> None:
    _safely(lambda: REGISTRATIONS.labels(outcome).inc())


def count_draw(event: str, count: int = 1) -> None:
    if count:
        _safely(lambda: DRAWS.labels(event).inc(count))


def observe_request(route: str, method: str, status: str, seconds: float) -> None:
    _safely(lambda: REQUESTS.labels(route, method, status).observe(seconds))


def observe_dependency(dependency: str, outcome: str, seconds: float) -> None:
    _safely(lambda: DEPENDENCY_CALLS.labels(dependency, outcome).observe(seconds))


def observe_delivery(channel: str, seconds: float) -> None:
    _safely(lambda: DELIVERIES.labels(channel).observe(seconds))


def _safely(update: Callable[[], None]) -> None:
    """Metrics are best effort: a failure to record one (serve's metrics folder removed, a full disk) is logged
    once per kind and never fails the request, the dependency call or the delivery that was measured."""
    try:
        update()
    except Exception as err:  # whatever the metrics library raises, the work it measured stands
        kind = type(err).__name__
        if kind not in _failed:
            _failed.add(kind)
            _log.warning("metrics not recorded: %s: %s", kind, err)


def _allocate(path: str, size: int) -> None:
    """Gives the file at ``path`` ``size`` bytes of allocated space, holes filled; raises OSError (ENOSPC on a
    full disk). A missing file is made whole under another name first, then renamed: a scrape, which reads the
    header of every ``*.db`` file there, never meets an empty one, and a failure leaves nothing behind."""
    if os.path.exists(path):
        fd = os.open(path, os.O_RDWR)
        try:
            os.posix_fallocate(fd, 0, max(size, os.fstat(fd).st_size))
        finally:
            os.close(fd)
        return
    making = f"{path}.{threading.get_ident()}.new"
    fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.posix_fallocate(fd, 0, size)
        os.rename(making, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(making)
        raise
    finally:
        os.close(fd)


class AllocatedMmapedDict(MmapedDict):
    """prometheus-client's file of one process's values, its space allocated before it is mapped or grown: a store
    through the map never lands in a hole (SIGBUS on a full disk). The map's layout and growth are the library's."""

    def __init__(self, filename: str, read_mode: bool = False) -> None:
        if not read_mode:
            _allocate(filename, mmap_dict._INITIAL_MMAP_SIZE)  # what the library would truncate an empty file to
        super().__init__(filename, read_mode)  # type: ignore[no-untyped-call]

    def _init_value(self, key: str) -> None:
        encoded = key.encode("utf-8")
        padded = len(encoded) + (8 - (len(encoded) + 4) % 8)  # as the library lays a value out
        needed = self._used + struct.calcsize(f"i{padded}sdd")
        capacity = self._capacity
        while needed > capacity:
            capacity *= 2  # as the library grows the file
        if capacity > self._capacity:
            _allocate(self._fname, capacity)  # then the library's truncate to it changes nothing
        super()._init_value(key)  # type: ignore[no-untyped-call]


# Every value of multiprocess mode opens its file through this name (looked up when the file is opened): set at
# import, in every process that records metrics, whether its workers were forked or spawned.
values.MmapedDict = AllocatedMmapedDict  # type: ignore[attr-defined]


class _OutboxCollector(Collector):
    """The outbox gauges, read from the datastore when scraped (``Overview.outbox_gauges``)."""

    def __init__(self, status: Callable[[], OutboxStatus]) -> None:
        self._status = status

    def collect(self) -> Iterator[GaugeMetricFamily]:
        status = self._status()
        yield GaugeMetricFamily("entry_outbox_backlog", "Outbox messages waiting for delivery", status.backlog)
        yield GaugeMetricFamily(
            "entry_outbox_dead_letters", "Outbox messages parked after their attempts ran out", status.dead_letters
        )
        oldest = status.oldest_pending_at
        yield GaugeMetricFamily(
            "entry_outbox_oldest_pending_timestamp_seconds",
            "Commit time of the oldest message waiting (0: none)",
            oldest.timestamp() if oldest else 0.0,
        )


def use_multiprocess(folder: Path) -> Path:
    """Makes this process and the worker processes it forks from now on keep their metrics as files in ``folder``
    (emptied first: the counts of an earlier run do not belong to this one), so that any worker's ``/metrics``
    sums them all; returns the folder used. Called by ``serve`` before its workers start; no labelled value may
    exist yet (ours are made in the workers, at their first request). A ``folder`` that cannot be prepared (a
    read-only data folder, SPEC OPS-007) is logged and replaced by a private temporary one, removed at exit."""
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):
            stale.unlink()
        if not os.access(folder, os.W_OK):
            raise PermissionError(f"{folder} is not writable")
    except OSError as err:
        spare = Path(tempfile.mkdtemp(prefix="entry-service-metrics-"))
        atexit.register(shutil.rmtree, spare, ignore_errors=True)
        _log.warning("metrics folder %s cannot be used (%s): worker metrics are kept in %s", folder, err, spare)
        folder = spare
    os.environ[MULTIPROCESS_DIR] = str(folder)
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]  # chosen at import, before the variable was set
    return folder


def exposition(outbox_status: Callable[[], OutboxStatus]) -> bytes:
    """The text of ``GET /metrics``: every worker's metrics (multiprocess mode) or this process's, and the
    outbox gauges."""
    registry = CollectorRegistry()
    folder = os.environ.get(MULTIPROCESS_DIR)
    if folder:
        if not Path(folder).is_dir():
            # Removed under a running serve (a cleanup): the workers keep writing the files they had open, now
            # unreachable, so the counts are lost until serve restarts. Made again, the scrape still answers, with
            # what workers create from now on.
            _log.error("metrics folder %s was removed: request and registration counts restart with serve", folder)
            Path(folder).mkdir(mode=0o700, parents=True, exist_ok=True)
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for metric in (REQUESTS, REGISTRATIONS, DEPENDENCY_CALLS, DELIVERIES):
            registry.register(metric)
    registry.register(_OutboxCollector(outbox_status))
    return generate_latest(registry)
