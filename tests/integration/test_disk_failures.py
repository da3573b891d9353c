"""SPEC OPS-007 below the process: what a full or read-only disk does to the SQLite store, the heartbeat, the
metrics files, the JSONL sinks and the secrets file. SQLite's own refusals stand in for the disk here —
``max_page_count`` ("database or disk is full"), ``query_only`` ("attempt to write a readonly database") — and
an I/O error is an fsync failing; tests/e2e/test_full_disk.py fills and mounts real disks."""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pytest

from adapters_files.sinks import FileEventSink
from adapters_mongo import open_mongo
from adapters_sqlite import SqliteEntryStore, open_sqlite
from adapters_sqlite.database import Database, storage_failure
from entry_service.bootstrap import build
from entry_service.settings import ConfigError, Settings, load_or_create_secrets
from entry_service.wsgi import app_for
from entrycore.errors import DeliveryFailed, DependencyUnavailable
from entrycore.outbox import OutboxMessage
from tests.builders import VALID_FIELDS
from tests.contract.entries import an_entry
from tests.http_app import Api, make_api, write_sources

T0 = datetime(2026, 1, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def _message(number: int, size: int = 10) -> OutboxMessage:
    return OutboxMessage(
        id=f"m{number}", kind="event", campaign_id="c1", user_id="u1", partition_key="c1:u1",
        body={"blob": "x" * size}, created_at=T0,
    )  # fmt: skip


class _Pragmas:
    """Sets a PRAGMA on every connection the store opens from now on (the writer's too) and on those open."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, database: Database) -> None:
        self._database = database
        self._pragmas: dict[str, int] = {}
        database.one("SELECT 1")  # the file made and migrated first
        connect = Database._connect

        def connect_and_set(db: Database, target: Any, *, uri: bool) -> sqlite3.Connection:
            conn = connect(db, target, uri=uri)
            for name, value in self._pragmas.items():
                conn.execute(f"PRAGMA {name} = {value}")
            return conn

        monkeypatch.setattr(Database, "_connect", connect_and_set)
        database.close()  # every connection is opened again, through connect_and_set

    def set(self, name: str, value: int) -> None:
        self._pragmas[name] = value
        for slot in list(self._database._slots):
            if slot.generation == self._database._generation:  # not those closed
                slot.conn.execute(f"PRAGMA {name} = {value}")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteEntryStore]:
    opened = SqliteEntryStore(tmp_path / "entries.db")
    opened.ping()
    yield opened
    opened.close()


def test_a_full_database_refuses_the_write_whole_and_says_so_until_a_write_commits(
    store: SqliteEntryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    outbox = open_sqlite(store).outbox  # on the same file
    pragmas = _Pragmas(monkeypatch, store.database)
    store.create(an_entry(user_id="before"))
    pages = store.database.one("PRAGMA page_count")
    assert pages is not None
    pragmas.set("max_page_count", pages[0])  # the file may not grow: SQLITE_FULL, as on a full disk
    assert store.write_failure() is None

    with pytest.raises(DependencyUnavailable, match="database or disk is full"):
        store.create(an_entry(user_id="u1"), [_message(1, size=200_000)])  # needs new pages
    assert store.get("c1", "u1") is None  # nothing half-written: neither the entry nor its message
    assert outbox.claim("relay", 10, datetime.now(UTC), MINUTE) == []
    assert store.get("c1", "before") is not None  # reads go on
    failure = store.write_failure()
    assert failure is not None and "database or disk is full" in failure  # the folder check saw no full disk

    pragmas.set("max_page_count", 1_000_000)  # room again
    assert store.write_failure() is not None  # not explained by the folder: kept until a write commits
    store.create(an_entry(user_id="u1"), [_message(1, size=200_000)])
    assert store.write_failure() is None
    assert [m.id for m in outbox.claim("relay", 10, datetime.now(UTC), MINUTE)] == ["m1"]


def test_a_read_only_database_refuses_writes_as_dependency_unavailable_and_serves_reads(
    store: SqliteEntryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    pragmas = _Pragmas(monkeypatch, store.database)
    store.create(an_entry(user_id="before"))
    pragmas.set("query_only", 1)  # SQLITE_READONLY: "attempt to write a readonly database"
    with pytest.raises(DependencyUnavailable, match="readonly database"):
        store.create(an_entry(user_id="u1"))
    with pytest.raises(DependencyUnavailable, match="readonly database"):
        store.add("c1", ["code"])
    assert store.get("c1", "before") is not None
    store.ping()
    assert "readonly database" in (store.write_failure() or "")
    pragmas.set("query_only", 0)
    store.create(an_entry(user_id="u1"))
    assert store.write_failure() is None


def test_an_fsync_that_fails_is_dependency_unavailable_and_a_write_failure(
    store: SqliteEntryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_sync() -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(store.database, "sync_wal", broken_sync)
    store.database.close()  # the writer is made again with the broken sync
    with pytest.raises(DependencyUnavailable, match="could not sync to disk"):
        store.create(an_entry(user_id="u1"))
    assert "Input/output error" in (store.write_failure() or "")


def test_storage_failures_are_told_from_other_failures() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("PRAGMA query_only = 1")
    with pytest.raises(sqlite3.Error) as read_only:
        conn.execute("CREATE TABLE t (a)")
    assert storage_failure(read_only.value)
    with pytest.raises(sqlite3.Error) as syntax:
        conn.execute("SELEKT 1")
    assert not storage_failure(syntax.value)
    wrapped = DependencyUnavailable("SQLite store failed")
    wrapped.__cause__ = read_only.value
    assert storage_failure(wrapped)
    assert storage_failure(OSError(errno.ENOSPC, "No space left on device"))
    assert storage_failure(OSError(errno.EROFS, "Read-only file system"))
    assert not storage_failure(OSError(errno.ECONNREFUSED, "refused"))
    assert not storage_failure(ValueError("x"))


def test_the_folder_check_names_a_full_or_read_only_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = Database(tmp_path / "entries.db")
    assert database.folder_problem() is None
    real = os.statvfs(tmp_path)

    class Stats:
        f_flag = real.f_flag
        f_frsize = real.f_frsize
        f_bfree = f_bavail = 3  # blocks

    monkeypatch.setattr(os, "statvfs", lambda _path: Stats)
    assert "is full" in (database.folder_problem() or "")
    Stats.f_flag = real.f_flag | os.ST_RDONLY
    assert "read-only" in (database.folder_problem() or "")
    assert "read-only" in (database.write_failure() or "")


# The heartbeat (API.md §5)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    made = make_api(tmp_path)
    yield made
    made.services.close()


def test_the_heartbeat_is_200_degraded_naming_the_writes_while_the_store_reads_but_cannot_write(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.services.stores.entries
    assert isinstance(store, SqliteEntryStore)
    assert api.register(dict(VALID_FIELDS)).status_code == 201
    pragmas = _Pragmas(monkeypatch, store.database)
    pragmas.set("query_only", 1)

    refused = api.register(dict(VALID_FIELDS), user="u2")
    assert refused.status_code == 503
    body = refused.get_json()
    assert body["code"] == "DEPENDENCY_UNAVAILABLE" and body["status"] == 503 and body["payload"] == {}
    assert api.call("GET", "/c1/entries").status_code == 200  # reads answer
    beat = api.call("GET", "/heartbeat", user=None)
    assert beat.status_code == 200
    assert beat.get_json()["status"] == "degraded"
    assert list(beat.get_json()["failing"]) == ["datastoreWrites"]
    assert "readonly database" in beat.get_json()["failing"]["datastoreWrites"]

    pragmas.set("query_only", 0)
    assert api.register(dict(VALID_FIELDS), user="u2").status_code == 201  # nothing of the refused one was kept
    beat = api.call("GET", "/heartbeat", user=None)
    assert beat.status_code == 200 and beat.get_json()["status"] == "ok" and "failing" not in beat.get_json()


def test_the_heartbeat_is_degraded_while_the_data_folder_is_full_and_ok_again_when_space_returns(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = api.services.stores.entries
    assert isinstance(store, SqliteEntryStore)
    full = ["full", "data folder /x is full (0 KiB free)"]
    monkeypatch.setattr(Database, "_folder_check", lambda _self: tuple(full) if full else None)
    pragmas = _Pragmas(monkeypatch, store.database)
    pragmas.set("query_only", 1)  # the write fails while the folder check says full: explained by it
    assert api.register(dict(VALID_FIELDS)).status_code == 503
    beat = api.call("GET", "/heartbeat", user=None).get_json()
    assert beat["status"] == "degraded" and beat["failing"] == {"datastoreWrites": full[1]}
    full.clear()  # space returns: ok at once, before any write succeeds
    assert api.call("GET", "/heartbeat", user=None).get_json()["status"] == "ok"


def test_a_mongodb_store_keeps_its_heartbeat(tmp_path: Path) -> None:
    client: mongomock.MongoClient = mongomock.MongoClient()
    services = build(Settings.from_env(write_sources(tmp_path)), stores=open_mongo(client["entry_service"]))
    try:
        assert services.write_failure() is None
        beat = app_for(services).test_client().get("/heartbeat")
        assert beat.status_code == 200 and beat.get_json()["status"] == "ok"
    finally:
        services.close()
        client.close()


# The JSONL sinks and the secrets file


def test_a_jsonl_append_the_disk_takes_only_part_of_is_cut_off_and_fails_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "events.jsonl"
    sink = FileEventSink(path)
    sink.publish([_message(1)])
    before = path.read_bytes()
    real_write = os.write

    def half(fd: int, data: bytes) -> int:
        return real_write(fd, data[: len(data) // 2])  # what write(2) does when the disk fills half-way

    monkeypatch.setattr("adapters_files.sinks.os.write", half)
    with pytest.raises(DeliveryFailed, match="short write"):
        sink.publish([_message(2), _message(3)])
    assert path.read_bytes() == before  # no half line: the relay sends the batch again
    monkeypatch.undo()
    sink.publish([_message(2), _message(3)])
    assert [json.loads(line)["blob"] for line in path.read_text().splitlines()] == ["x" * 10] * 3
    sink.close()


def test_secrets_that_cannot_be_written_are_one_config_error_and_leave_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("entry_service.settings.json.dump", full)
    with pytest.raises(ConfigError, match="No space left on device"):
        load_or_create_secrets(tmp_path)
    assert list(tmp_path.iterdir()) == []


# The metrics files (prometheus-client multiprocess mode), in a process of their own: the mode is process-wide

_METRICS = """
import errno, logging, os, sys
from pathlib import Path
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(message)s")
from adapters_http import metrics
from entrycore.outbox import OutboxStatus
idle = OutboxStatus(0, None, None, 0, None)  # backlog, last delivery, oldest pending, dead letters, oldest dead
folder = metrics.use_multiprocess(Path(sys.argv[1]))
real = os.posix_fallocate
def full(fd, offset, length):
    raise OSError(errno.ENOSPC, "No space left on device")
os.posix_fallocate = full
metrics.observe_request("/x", "GET", "200", 0.01)      # the file cannot be made: logged, not raised
print("files while full:", sorted(p.name for p in folder.iterdir()))
print("scrape while full:", b"entry_outbox_backlog" in metrics.exposition(lambda: idle))
os.posix_fallocate = real
for k in range(400):                                     # many keys: the files grow past their first 64 KiB
    metrics.observe_request(f"/route/{k}", "GET", "200", 0.01)
for path in sorted(folder.iterdir()):
    st = path.stat()
    print("allocated:", path.name, st.st_size > 65536, st.st_blocks * 512 >= st.st_size)
text = metrics.exposition(lambda: idle).decode()
print("counted:", 'route="/route/399"' in text)
"""


def test_metrics_files_are_allocated_before_they_are_mapped_so_a_full_disk_is_no_sigbus(tmp_path: Path) -> None:
    """A store through prometheus-client's map into a hole of its sparse file is SIGBUS on a full disk, and the
    worker dies (issue 21): every page of the files is allocated first, and failing that, nothing is recorded."""
    done = subprocess.run(
        [sys.executable, "-c", _METRICS, str(tmp_path / "metrics")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "metrics not recorded: OSError: [Errno 28] No space left on device" in lines
    assert "files while full: []" in lines  # no empty file left to break the scrapes
    assert "scrape while full: True" in lines
    allocated = [line for line in lines if line.startswith("allocated:")]
    assert allocated == [
        f"allocated: {name} True True" for name in sorted(p.name for p in (tmp_path / "metrics").iterdir())
    ]
    assert len(allocated) == 1  # the histogram's file (counters untouched)
    assert "counted: True" in lines


def test_a_metrics_folder_that_cannot_be_prepared_is_replaced_by_a_private_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from prometheus_client import values  # noqa: PLC0415

    from adapters_http.metrics import MULTIPROCESS_DIR, use_multiprocess  # noqa: PLC0415

    monkeypatch.setattr(values, "ValueClass", values.ValueClass)  # restored after the test
    monkeypatch.setenv(MULTIPROCESS_DIR, "")
    (tmp_path / "data").write_text("a file where the data folder should be")  # as unusable as a read-only one
    with caplog.at_level(logging.WARNING, logger="entry_service.metrics"):
        used = use_multiprocess(tmp_path / "data" / "metrics")
    try:
        assert used != tmp_path / "data" / "metrics" and used.is_dir() and os.environ[MULTIPROCESS_DIR] == str(used)
        assert (used.stat().st_mode & 0o777) == 0o700
        assert "cannot be used" in caplog.text
    finally:
        used.rmdir()
