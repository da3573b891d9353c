"""One SQLite database file: private files, a connection per thread and process, migrations, transactions."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from adapters_sqlite.commits import GroupCommitter
from adapters_sqlite.schema import MIGRATIONS
from entrycore.errors import DependencyUnavailable

T = TypeVar("T")
DEFAULT_BUSY_TIMEOUT = 10.0  # seconds a writer waits for the write lock before giving up


class _Slot:
    """One thread's connection, tagged with the process and the generation it was opened in."""

    __slots__ = ("__weakref__", "conn", "generation", "pid")

    def __init__(self, conn: sqlite3.Connection, generation: int) -> None:
        self.conn = conn
        self.generation = generation
        self.pid = os.getpid()

    def __del__(self) -> None:
        # Runs when the owning thread ends (its thread-local is dropped) or the slot is replaced.
        # A connection inherited through fork() belongs to the parent: never close it here (see below).
        if self.pid == os.getpid():
            self.conn.close()


# SQLite connections must not be used, nor closed, in a child process after fork(): closing one may
# checkpoint and unlink the WAL the parent still uses. Python would close them as soon as the child
# drops the other threads' thread-locals, so every slot alive at fork time stays pinned in the child.
_ALL_SLOTS: weakref.WeakSet[_Slot] = weakref.WeakSet()
_ALL_DATABASES: weakref.WeakSet[Database] = weakref.WeakSet()
_FORKING: list[_Slot] = []  # strong references while fork() runs
_INHERITED: list[_Slot] = []  # in a child: its parents' connections, never used nor closed


# What SQLite itself uses for WAL syncs on Linux: fdatasync writes the data and the metadata needed to read
# it back (the size of a grown WAL) but not timestamps, so a WAL rewritten in place after a checkpoint costs
# no inode journal commit (measured here: 0.16 ms p50 against fsync's 0.27 ms). fsync where it is missing.
_datasync = getattr(os, "fdatasync", os.fsync)


def _before_fork() -> None:
    _FORKING.extend(_ALL_SLOTS)


def _after_fork_in_parent() -> None:
    _FORKING.clear()


def _after_fork_in_child() -> None:
    _INHERITED.extend(_FORKING)
    _FORKING.clear()
    for database in list(_ALL_DATABASES):
        database._lock = threading.Lock()  # another thread of the parent may have held it
        database._committer = None  # the parent's writer thread does not exist here


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)


class Database:
    """A SQLite file in WAL mode with durable commits, shared by threads and (forked) processes.

    Each thread of each process gets its own connection, opened lazily; the first one creates the
    data directory (0700), the file (0600) and the schema. Library errors become DependencyUnavailable.
    """

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        if str(path) in ("", ":memory:"):
            raise ValueError("SqliteStore needs a file path (every thread opens its own connection)")
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by close(): older connections are not used again
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
        self._ready = False
        self._committer: GroupCommitter | None = None
        self._synced_pid = 0
        _ALL_DATABASES.add(self)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process, opened (and the file prepared) on first use."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is not None and slot.pid == os.getpid() and slot.generation == self._generation:
            return slot.conn
        if slot is not None and slot.pid != os.getpid():
            _INHERITED.append(slot)  # the parent's connection: keep it open and unused
        with self._lock:
            try:
                if not self._ready:
                    self._prepare_file()
                conn = self._open()
                try:
                    if not self._ready:
                        self._migrate(conn)
                        self._ready = True
                except BaseException:
                    conn.close()
                    raise
            except (sqlite3.Error, OSError) as err:
                raise DependencyUnavailable(f"SQLite store {self.path} is unavailable: {err}") from err
            slot = _Slot(conn, self._generation)
            self._slots.add(slot)
            _ALL_SLOTS.add(slot)
        self._local.slot = slot
        return conn

    def _prepare_file(self) -> None:
        """Creates missing directories (0700) and the database file (0600) before SQLite opens it.

        SQLite creates the -wal and -shm files with the database file's permissions.
        """
        missing = []
        parent = self.path.parent
        while not parent.exists():
            missing.append(parent)
            parent = parent.parent
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                continue  # another process made it first
            os.chmod(directory, 0o700)  # whatever the umask
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            return  # an existing database keeps the permissions its operator gave it
        try:
            os.fchmod(fd, 0o600)
        finally:
            os.close(fd)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout,  # sqlite3_busy_timeout: writers queue for the lock this long
            isolation_level=None,  # autocommit; writes use explicit BEGIN IMMEDIATE … COMMIT
            check_same_thread=False,  # one thread uses it; close() may come from another
            cached_statements=256,  # prepared statements, keyed by the (constant) SQL text
        )
        try:
            # No fsync inside COMMIT (under the write lock): the group-commit writer fsyncs the WAL right after
            # it, before answering anyone (commits.py). Checkpoints still sync as SQLite does.
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error:
            conn.close()
            raise
        return conn

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Switches the file to WAL and applies the migrations it has not seen, once, under the write lock."""
        # Persistent (stored in the file): set once. Setting it needs the file to itself and does not wait for it
        # (SQLITE_BUSY at once), so processes opening a file already in WAL mode — every worker — only read it.
        if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        if conn.execute("PRAGMA user_version").fetchone()[0] >= len(MIGRATIONS):
            return  # up to date (the usual case): no write lock taken, none waited for
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            for number in range(version, len(MIGRATIONS)):
                for statement in MIGRATIONS[number]:
                    _apply(conn, statement)
                conn.execute(f"PRAGMA user_version = {number + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection for reads (each statement is its own snapshot)."""
        conn = self.connection()
        try:
            yield conn
        except sqlite3.Error as err:
            raise DependencyUnavailable(f"SQLite store {self.path} failed: {err}") from err

    def one(self, sql: str, params: tuple[object, ...] = ()) -> tuple[Any, ...] | None:
        """The first row of a read (or None) on this thread's connection: ``reading()`` without the context
        manager, for the single-row reads every request makes."""
        conn = self.connection()
        try:
            row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
        except sqlite3.Error as err:
            raise DependencyUnavailable(f"SQLite store {self.path} failed: {err}") from err
        return row

    def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Runs ``work(conn)`` in a durable write transaction shared with concurrent writes of this
        process (group commit, see commits.py); returns after the COMMIT. ``work`` raises the errors it
        expects (constraints, translated); any other SQLite failure is DependencyUnavailable."""
        committer = self._committer
        if committer is None or not committer.alive:
            with self._lock:
                committer = self._committer
                if committer is None or not committer.alive:
                    committer = self._committer = GroupCommitter(
                        self.connection, str(self.path), self.sync_wal, str(self.path) + "-writer.lock"
                    )
        result: T = committer.submit(work)
        return result

    def sync_wal(self) -> None:
        """fsyncs the WAL file: what ``synchronous=FULL`` does at each COMMIT, done after the lock is released.
        The first sync of a process also syncs the folder, so a newly created WAL file's entry is durable."""
        wal = self.path.with_name(self.path.name + "-wal")
        fd = os.open(wal, os.O_RDONLY)
        try:
            _datasync(fd)
        finally:
            os.close(fd)
        if self._synced_pid != os.getpid():
            folder = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)
            self._synced_pid = os.getpid()

    def close(self) -> None:
        """Closes every connection this process opened; the next call in any thread opens a new one.

        For shutdown and tests: no other thread should be inside a call meanwhile.
        """
        committer, self._committer = self._committer, None
        if committer is not None:
            committer.stop()
        with self._lock:
            self._generation += 1
            for slot in list(self._slots):
                if slot.pid == os.getpid():
                    slot.conn.close()


_ADD_COLUMN = re.compile(r"^\s*ALTER TABLE (\w+) ADD COLUMN (\w+)", re.IGNORECASE)


def _apply(conn: sqlite3.Connection, statement: str) -> None:
    """Runs one migration statement; ``ALTER TABLE t ADD COLUMN c`` is skipped when ``t`` has ``c`` already,
    so every statement is idempotent (SQLite has no ADD COLUMN IF NOT EXISTS)."""
    adding = _ADD_COLUMN.match(statement)
    if adding:
        table, column = adding.groups()
        if any(row[1] == column for row in conn.execute(f"PRAGMA table_xinfo({table})")):  # generated ones too
            return
    conn.execute(statement)
