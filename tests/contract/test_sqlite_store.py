"""What only the SQLite store promises: private files (SPEC OPS-003), durable settings, fork safety."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import stat
import threading
import time
from datetime import timedelta
from pathlib import Path

import pytest

from adapters_sqlite import SqliteEntryStore, open_sqlite
from adapters_sqlite.schema import MIGRATIONS, SCHEMA_VERSION
from entrycore.errors import DependencyUnavailable
from entrycore.model import Entry
from entrycore.outbox import EVENT, OutboxMessage, OutboxStatus
from entrycore.timefmt import iso
from entrywire.documents import documents
from tests.contract.entries import T0, an_entry
from tests.contract.test_outbox import NO_DEAD


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_are_private_to_their_owner(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "data" / "db" / "entries.db")
    try:
        store.create(an_entry())
        assert _mode(tmp_path / "data") == 0o700
        assert _mode(tmp_path / "data" / "db") == 0o700
        for name in ("entries.db", "entries.db-wal", "entries.db-shm"):
            assert _mode(tmp_path / "data" / "db" / name) == 0o600, name
    finally:
        store.close()


def test_the_file_is_in_wal_mode_with_the_current_schema(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    store.ping()
    store.close()
    with sqlite3.connect(tmp_path / "entries.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert raw.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    raw.close()


def test_a_second_store_on_the_same_file_sees_the_data(tmp_path: Path) -> None:
    first, second = SqliteEntryStore(tmp_path / "entries.db"), SqliteEntryStore(tmp_path / "entries.db")
    try:
        first.create(an_entry())
        assert second.get("c1", "u1") == an_entry()
    finally:
        first.close()
        second.close()


def test_close_releases_connections_and_the_store_reopens(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    try:
        store.create(an_entry())
        reader = threading.Thread(target=store.ping)
        reader.start()
        reader.join()
        store.close()
        assert store.get("c1", "u1") == an_entry()
    finally:
        store.close()


def test_an_unusable_path_is_dependency_unavailable(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")
    store = SqliteEntryStore(tmp_path / "a-file" / "entries.db")
    with pytest.raises(DependencyUnavailable):
        store.ping()
    with pytest.raises(DependencyUnavailable):
        store.create(an_entry())
    store.close()


def test_a_file_that_is_not_a_database_is_dependency_unavailable(tmp_path: Path) -> None:
    (tmp_path / "entries.db").write_bytes(b"this is not a database" * 100)
    store = SqliteEntryStore(tmp_path / "entries.db")
    with pytest.raises(DependencyUnavailable):
        store.get("c1", "u1")
    store.close()


def _create_fifty(store: SqliteEntryStore, worker: int) -> None:
    for n in range(50):
        store.create(an_entry("c1", f"w{worker}-u{n}", phone=f"+1212555{worker}{n:03d}", confirmed=True))


# Python >= 3.12 warns on fork() while other threads run (here: the store's writer thread); forking is the
# point of this test, as granian (like gunicorn before it) forks its workers.
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded, use of fork:DeprecationWarning")
def test_one_store_serves_forked_processes(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    try:
        store.create(an_entry("c0", "parent"))  # the parent's connection is open when it forks
        fork = multiprocessing.get_context("fork")
        workers = [fork.Process(target=_create_fifty, args=(store, w)) for w in (1, 2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=60)
        assert [w.exitcode for w in workers] == [0, 0]
        created = [store.get("c1", f"w{w}-u{n}") for w in (1, 2) for n in range(50)]
        assert all(entry is not None for entry in created)
        assert len({entry.user_id for entry in created if entry}) == 100
        assert store.get("c0", "parent") == an_entry("c0", "parent")  # the parent's connection still works
        store.create(an_entry("c0", "parent-again"))
    finally:
        store.close()


def test_a_file_of_an_older_schema_is_migrated_and_keeps_its_data(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "entries.db") as raw:  # what the first release left
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute(OLD_INSERT, old_row(an_entry()))
        raw.execute("PRAGMA user_version = 1")
    raw.close()
    store = SqliteEntryStore(tmp_path / "entries.db")
    stores = open_sqlite(store)  # the other ports, on the same file
    try:
        assert store.get("c1", "u1") == an_entry()
        store.replace(an_entry(version=2), 1, [_message(1)])
        assert [m.id for m in stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))] == ["m1"]
        with sqlite3.connect(tmp_path / "entries.db") as raw:
            assert raw.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        raw.close()
    finally:
        store.close()


# An entry as versions 1 to 11 stored it: its indexed columns and its whole document (markets included).
OLD_INSERT = (
    "INSERT INTO entries (campaign_id, user_id, code, phone, phone_confirmed, date_created, version, doc)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def old_row(entry: Entry) -> tuple[object, ...]:
    return (
        entry.campaign_id,
        entry.user_id,
        entry.code,
        entry.phone,
        int(entry.phone_confirmed),
        iso(entry.date_created),
        entry.version,
        json.dumps(documents.unstructure(entry)),
    )


def _message(number: int) -> OutboxMessage:
    return OutboxMessage(f"m{number}", EVENT, "c1", f"u{number}", "c1:x", {"n": number}, T0)


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as raw:
        rows = raw.execute(sql).fetchall()
    raw.close()
    return rows


def test_a_delivered_message_is_deleted_at_once_and_its_time_kept(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    stores = open_sqlite(store)  # the other ports, on the same file
    try:
        for n in (1, 2, 3):
            store.create(an_entry(user_id=f"u{n}"), [_message(n)])
        stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))
        stores.outbox.delivered("relay", ["m1", "m2"], T0)
        assert _rows(store.path, "SELECT id FROM outbox") == [("m3",)]
        stores.outbox.delivered("other-relay", ["m3"], T0 + timedelta(seconds=1))  # not its lease: nothing changes
        assert _rows(store.path, "SELECT id FROM outbox") == [("m3",)]
        assert stores.outbox.outbox_status() == OutboxStatus(1, T0, T0, **NO_DEAD)
        stores.outbox.delivered("relay", ["m3"], T0 + timedelta(seconds=2))
        assert _rows(store.path, "SELECT id FROM outbox") == []
        assert stores.outbox.outbox_status() == OutboxStatus(
            backlog=0,
            last_delivered_at=T0 + timedelta(seconds=2),
            oldest_pending_at=None,
            **NO_DEAD,
        )
    finally:
        store.close()


def test_migration_4_drops_the_delivered_rows_version_3_kept(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    for n in (1, 2):
        store.create(an_entry(user_id=f"u{n}"), [_message(n)])
    store.close()
    with sqlite3.connect(tmp_path / "entries.db") as raw:  # as version 3 left it: m1 delivered, kept an hour
        raw.execute("UPDATE outbox SET delivered_at = '2026-01-01T00:00:00.000Z' WHERE id = 'm1'")
        raw.execute("PRAGMA user_version = 3")
    raw.close()
    store = SqliteEntryStore(tmp_path / "entries.db")
    stores = open_sqlite(store)  # the other ports, on the same file
    try:
        assert [m.id for m in stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))] == ["m2"]
        assert _rows(store.path, "SELECT id FROM outbox") == [("m2",)]
        assert _rows(store.path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    finally:
        store.close()


def test_recording_a_failure_forgets_the_entrys_failures_older_than_a_day(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    stores = open_sqlite(store)  # the other ports, on the same file
    try:
        stores.attempts.record_failed_attempt("c1", "ana", T0)
        stores.attempts.record_failed_attempt("c1", "bob", T0)
        stores.attempts.record_failed_attempt("c1", "ana", T0 + timedelta(days=1, milliseconds=1))
        assert _rows(store.path, "SELECT user_id FROM attempts ORDER BY at") == [("bob",), ("ana",)]
    finally:
        store.close()


def test_rows_an_older_version_marked_delivered_are_neither_claimed_nor_counted(tmp_path: Path) -> None:
    store = SqliteEntryStore(tmp_path / "entries.db")
    stores = open_sqlite(store)  # the other ports, on the same file
    try:
        for n in (1, 2):
            store.create(an_entry(user_id=f"u{n}"), [_message(n)])
        with sqlite3.connect(tmp_path / "entries.db") as raw:  # an old relay, still running, marks m1
            raw.execute("UPDATE outbox SET delivered_at = '2026-01-01T00:00:00.000Z' WHERE id = 'm1'")
        raw.close()
        assert stores.outbox.outbox_status().backlog == 1
        assert [m.id for m in stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))] == ["m2"]
        stores.outbox.retry_later("relay", ["m1"], T0)  # not pending for this version: nothing changes
        assert _rows(store.path, "SELECT id, attempts FROM outbox ORDER BY seq") == [("m1", 0), ("m2", 0)]
    finally:
        store.close()


def test_a_file_of_schema_6_gains_waiting_and_its_attempts_start_over(tmp_path: Path) -> None:
    path = tmp_path / "v6.db"
    raw = sqlite3.connect(path)
    for migration in MIGRATIONS[:6]:
        for statement in migration:
            raw.execute(statement)
    raw.execute(
        "INSERT INTO outbox (id, kind, campaign_id, user_id, partition_key, body, created_at, attempts)"
        " VALUES ('m1', 'event', 'c1', 'u1', 'c1:u1', '{}', '2026-11-27T12:00:00.123Z', 7)"
    )
    raw.execute("PRAGMA user_version = 6")
    raw.commit()
    raw.close()
    store = SqliteEntryStore(path)
    stores = open_sqlite(store)  # the other ports, on the same file
    try:
        (claimed,) = stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))
        assert claimed.attempts == 0  # they counted outages before version 7
        stores.outbox.retry_later("relay", ["m1"], T0 + timedelta(hours=1), error="down", counted=False)
        assert stores.outbox.release_waiting("event", T0) == 1
        assert [m.id for m in stores.outbox.claim("relay", 10, T0, timedelta(seconds=5))] == ["m1"]
        assert _rows(store.path, "PRAGMA user_version") == [(SCHEMA_VERSION,)] == [(15,)]
    finally:
        store.close()


def test_opening_a_store_while_another_process_writes_neither_waits_nor_fails(tmp_path: Path) -> None:
    """Every serve worker opens the file as the others write: an up-to-date file in WAL mode needs no lock to
    open (setting the journal mode, or taking the write lock to look for migrations, failed or waited at start)."""
    path = tmp_path / "entries.db"
    SqliteEntryStore(path).ping()  # made, migrated, in WAL mode
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        started = time.monotonic()
        opened = SqliteEntryStore(path, busy_timeout=5.0)
        opened.ping()
        assert opened.get("c1", "u1") is None
        assert time.monotonic() - started < 2.0
        opened.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
