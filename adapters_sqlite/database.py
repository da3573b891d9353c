"""One SQLite database file: private files, a connection per thread and process, migrations, transactions, and
what a full or read-only disk does to them (SPEC OPS-007)."""

from __future__ import annotations

import errno
import os
import re
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from adapters_sqlite.commits import GroupCommitter
from adapters_sqlite.schema import MIGRATIONS
from entrycore.errors import DependencyUnavailable

T = TypeVar("T")
DEFAULT_BUSY_TIMEOUT = 10.0  # seconds a writer waits for the write lock before giving up
# Free space under which the data folder counts as full: more than one registration's WAL frames (a few pages of
# the entry, its indexes and its outbox rows) with room to spare, far less than any disk worth running on.
MIN_FREE_BYTES = 256 * 1024

# Failures of the disk rather than of the statement or the lock (SQLITE_BUSY is contention, never counted): a full
# or read-only disk, files the process may not write, I/O errors.
_STORAGE_CODES = frozenset(
    {sqlite3.SQLITE_FULL, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM}
)
_STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO})


def storage_failure(error: BaseException) -> bool:
    """Whether ``error`` (or the error it was raised from) says the disk cannot take writes: SQLite's "database or
    disk is full", "attempt to write a readonly database", "unable to open database file", "disk I/O error", or an
    OSError such as ENOSPC or EROFS."""
    while error is not None:
        if isinstance(error, sqlite3.Error):
            code = getattr(error, "sqlite_errorcode", None)
            return code is not None and code & 0xFF in _STORAGE_CODES
        if isinstance(error, OSError):
            return error.errno in _STORAGE_ERRNOS
        error = error.__cause__  # type: ignore[assignment]
    return False


class NewerDatabase(Exception):
    """The file was written by a newer release of the service (its schema version is past this release's): it is
    refused, unchanged (SPEC OPS-006)."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"the SQLite database is at schema version {version}, newer than this release's {len(MIGRATIONS)}:"
            " upgrade entry-service to open it"
        )
        self.version = version


class _Slot:
    """One thread's connection, tagged with the process and the generation it was opened in."""

    __slots__ = ("__weakref__", "conn", "generation", "pid", "snapshot")

    def __init__(self, conn: sqlite3.Connection, generation: int, snapshot: bool = False) -> None:
        self.conn = conn
        self.generation = generation
        self.pid = os.getpid()
        self.snapshot = snapshot  # opened read-only on a folder that took no writes (see Database._open)

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

    A full or read-only disk (SPEC OPS-007): writes fail as DependencyUnavailable with nothing written, reads go on,
    and ``write_failure()`` says why writes cannot happen. A database whose folder takes no writes (read-only, or
    not writable by this process) and that has no -wal/-shm files (a clean stop) cannot be opened by SQLite in WAL
    mode; it is then read as an immutable snapshot, given up for an ordinary connection as soon as the folder takes
    writes again (checked at each use of the snapshot: three system calls, while degraded only).
    """

    def __init__(self, path: str | os.PathLike[str], busy_timeout: float = DEFAULT_BUSY_TIMEOUT) -> None:
        self.path = Path(path)
        if str(path) in ("", ":memory:"):
            raise ValueError("SqliteEntryStore needs a file path (every thread opens its own connection)")
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._generation = 0  # bumped by close(): older connections are not used again
        self._slots: weakref.WeakSet[_Slot] = weakref.WeakSet()
        self._ready = False
        self._committer: GroupCommitter | None = None
        self._synced_pid = 0
        # The last write's failure of the disk (message, and whether the folder check explained it then), or None:
        # set by the writer when a write fails so, cleared by the next write that commits.
        self._write_failure: tuple[str, bool] | None = None
        self._on_close: list[Callable[[], None]] = []  # what close() stops first (columns.py's keeper)
        _ALL_DATABASES.add(self)

    def on_close(self, stop: Callable[[], None]) -> None:
        """``stop`` is called by every close(), before any connection is closed."""
        self._on_close.append(stop)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection in this process, opened (and the file prepared) on first use."""
        slot: _Slot | None = getattr(self._local, "slot", None)
        if slot is not None and slot.pid == os.getpid() and slot.generation == self._generation:
            if not slot.snapshot or self._takes_no_writes():
                return slot.conn
            self._local.slot = None  # the folder takes writes again: an ordinary connection sees them
            slot.conn.close()
            slot = None
        if slot is not None and slot.pid != os.getpid():
            _INHERITED.append(slot)  # the parent's connection: keep it open and unused
        with self._lock:
            try:
                if not self._ready:
                    self._prepare_file()
                conn, snapshot = self._open()
                try:
                    if not self._ready:
                        self._migrate(conn, snapshot)
                        self._ready = not snapshot  # an ordinary connection still sets WAL mode and migrates
                except BaseException:
                    conn.close()
                    raise
            except (sqlite3.Error, OSError) as err:
                raise DependencyUnavailable(f"SQLite store {self.path} is unavailable: {err}") from err
            slot = _Slot(conn, self._generation, snapshot)
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

    def _open(self) -> tuple[sqlite3.Connection, bool]:
        """A new connection, and whether it is a read-only snapshot: SQLite reads a WAL database only through its
        -shm file, which a folder taking no writes (read-only disk, no write permission) cannot get when the last
        connection removed it at a clean stop. Such a file, with no -wal left to read, is unchanging while the
        folder stays so: it is opened ``immutable`` (read-only, no locks, no -shm)."""
        conn = self._connect(self.path, uri=False)
        try:
            # No fsync inside COMMIT (under the write lock): the group-commit writer fsyncs the WAL right after
            # it, before answering anyone (commits.py). Checkpoints still sync as SQLite does.
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA schema_version").fetchone()  # opens the file (and its -shm) now, not at first use
        except sqlite3.Error as err:
            conn.close()
            if not (storage_failure(err) and self._snapshot_readable()):
                raise
            return self._connect(f"file:{quote(str(self.path.absolute()))}?immutable=1", uri=True), True
        return conn, False

    def _connect(self, target: str | os.PathLike[str], *, uri: bool) -> sqlite3.Connection:
        return sqlite3.connect(
            target,
            timeout=self._busy_timeout,  # sqlite3_busy_timeout: writers queue for the lock this long
            isolation_level=None,  # autocommit; writes use explicit BEGIN IMMEDIATE … COMMIT
            check_same_thread=False,  # one thread uses it; close() may come from another
            cached_statements=256,  # prepared statements, keyed by the (constant) SQL text
            uri=uri,
        )

    def _snapshot_readable(self) -> bool:
        """Whether the file may be read as an immutable snapshot: its folder takes no writes and no -wal file holds
        commits that the snapshot, reading the main file alone, would miss."""
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            pending = wal.stat().st_size > 0
        except FileNotFoundError:
            pending = False
        except OSError:
            return False
        return not pending and self.path.is_file() and self._takes_no_writes()

    @staticmethod
    def _migrate(conn: sqlite3.Connection, snapshot: bool = False) -> None:
        """Switches the file to WAL and applies the migrations it has not seen, once, under the write lock. A
        read-only snapshot is only checked: it cannot be migrated."""
        found = conn.execute("PRAGMA user_version").fetchone()[0]
        if found > len(MIGRATIONS):  # OPS-006: written by a newer release; nothing here may touch it
            conn.close()
            raise NewerDatabase(found)
        if snapshot:
            if found < len(MIGRATIONS):
                raise sqlite3.OperationalError("attempt to write a readonly database (it needs migrating)")
            return
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

    @contextmanager
    def snapshot(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection inside one read transaction: every statement made on it sees the same
        committed state of the file (``reading()``'s statements each see their own). Keep it short: a checkpoint
        cannot pass a reader's snapshot."""
        conn = self.connection()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")
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
        deferred: list[Callable[[sqlite3.Connection], Any]] | None = getattr(self._local, "deferred", None)
        if deferred is not None:  # inside together(): the item's write runs later, in the batch's transaction
            deferred.append(work)
            return None  # type: ignore[return-value]  # together()'s items use no write's result (see there)
        committer = self._committer
        if committer is None or not committer.alive:
            with self._lock:
                committer = self._committer
                if committer is None or not committer.alive:
                    committer = self._committer = GroupCommitter(
                        self.connection,
                        str(self.path),
                        self.sync_wal,
                        str(self.path) + "-writer.lock",
                        self._wrote,
                    )
        result: T = committer.submit(work)
        return result

    def together(self, items: Sequence[Callable[[], T]]) -> list[T | Exception]:
        """``EntryStore.write_together`` on this file: runs each item on this thread now — its reads see what is
        committed — collecting the writes it asks for (``write()`` answers None meanwhile: an item's steps must
        not use a write's result), then applies every item's writes in one transaction, each item in its own
        SAVEPOINT (``write_batch``). Answers per item what it returned, or the Exception it raised (nothing of
        it is written) or its writes raised (rolled back to its savepoint). A failure of the whole transaction
        (a full disk) is every written item's answer."""
        outcomes: list[T | Exception] = []
        planned: list[list[Callable[[sqlite3.Connection], Any]]] = []
        for item in items:
            works: list[Callable[[sqlite3.Connection], Any]] = []
            self._local.deferred = works
            try:
                outcomes.append(item())
            except Exception as error:  # the item's own answer; the writes it asked for before failing are dropped
                outcomes.append(error)
                works = []
            finally:
                self._local.deferred = None
            planned.append(works)
        writing = [index for index, works in enumerate(planned) if works]
        if writing:
            try:
                failures = self.write_batch([planned[index] for index in writing])
            except Exception as error:  # nothing of the transaction was committed
                failures = [error] * len(writing)
            for index, failure in zip(writing, failures, strict=True):
                if failure is not None:
                    outcomes[index] = failure
        return outcomes

    def write_batch(self, items: Sequence[Sequence[Callable[[sqlite3.Connection], Any]]]) -> list[Exception | None]:
        """Runs every item's works in ONE durable write transaction (one COMMIT, one fsync; shared with concurrent
        writes like any ``write``), each item on its own: an item whose work raises is rolled back alone and
        answered with that exception (an unexpected SQLite error as DependencyUnavailable), the others commit.
        Answers None per item that committed. Raises, with nothing committed, when the transaction itself fails
        (SQLite rolled it back: a full disk, an I/O error) or cannot be made durable.

        Works raise only when an item lost a race or the disk failed (the items' own rules ran before), so the
        items first run one after the other in one SAVEPOINT: two statements for the whole chunk instead of a
        SAVEPOINT and a RELEASE per item (each a statement of the writer, which holds the write lock meanwhile).
        Should any work raise, that pass is rolled back whole and every item runs again in its own SAVEPOINT, so
        the answers are the same either way. A work must therefore be SQL on the connection and nothing else (it
        may run twice): what ``write()`` is given."""

        def each_in_its_savepoint(conn: sqlite3.Connection) -> list[Exception | None]:
            answers: list[Exception | None] = []
            for works in items:
                conn.execute("SAVEPOINT item")
                try:
                    _run_works(conn, works)
                except Exception as error:
                    if not conn.in_transaction:
                        raise  # SQLite rolled the whole transaction back: every item fails with it
                    conn.execute("ROLLBACK TO item")
                    conn.execute("RELEASE item")
                    answers.append(self._item_failure(error))
                    continue
                conn.execute("RELEASE item")
                answers.append(None)
            return answers

        def run(conn: sqlite3.Connection) -> list[Exception | None]:
            if len(items) < 2:
                return each_in_its_savepoint(conn)
            conn.execute("SAVEPOINT items")
            try:
                for works in items:
                    _run_works(conn, works)
            except Exception:
                if not conn.in_transaction:
                    raise  # SQLite rolled the whole transaction back: every item fails with it
                conn.execute("ROLLBACK TO items")
                conn.execute("RELEASE items")
                return each_in_its_savepoint(conn)
            conn.execute("RELEASE items")
            return [None] * len(items)

        return self.write(run)

    def _item_failure(self, error: Exception) -> Exception:
        if not isinstance(error, sqlite3.Error):
            return error  # what the item's work raises on purpose (a constraint, translated)
        failure = DependencyUnavailable(f"SQLite store {self.path} failed: {error}")
        failure.__cause__ = error
        self._wrote(failure)  # a full disk may show here first (a page spilled from the cache)
        return failure

    def _wrote(self, failure: BaseException | None) -> None:
        """The writer's report of a write: None when it committed, else its failure."""
        if failure is None:
            self._write_failure = None
        elif storage_failure(failure):
            self._write_failure = (str(failure), self.folder_problem() is not None)

    def folder_problem(self) -> str | None:
        """What the file's folder says about writes, cheaply (a statvfs and two access calls): read-only, not
        writable by this process, or full (under MIN_FREE_BYTES free for this process); None when none of these."""
        found = self._folder_check()
        return None if found is None else found[1]

    def _takes_no_writes(self) -> bool:
        """Whether the folder is read-only or not writable by this process (not merely full)."""
        found = self._folder_check()
        return found is not None and found[0] == "read-only"

    def _folder_check(self) -> tuple[str, str] | None:
        folder = self.path.parent
        try:
            stats = os.statvfs(folder)
        except OSError as err:
            return "unchecked", f"data folder {folder} cannot be checked: {err.strerror or err}"
        if stats.f_flag & os.ST_RDONLY:
            return "read-only", f"data folder {folder} is on a read-only filesystem"
        if not os.access(folder, os.W_OK) or (self.path.exists() and not os.access(self.path, os.W_OK)):
            return "read-only", f"data folder {folder} or {self.path.name} is not writable by this process"
        blocks = stats.f_bfree if os.geteuid() == 0 else stats.f_bavail  # root may use the reserved blocks
        free = blocks * stats.f_frsize
        if free < MIN_FREE_BYTES:
            return "full", f"data folder {folder} is full ({free // 1024} KiB free)"
        return None

    def write_failure(self) -> str | None:
        """Why writes cannot happen now (SPEC OPS-007), or None: the folder check, else the last write's failure of
        the disk that the folder check did not explain (an I/O error, a quota, a write bigger than the space
        left), kept until a write commits. A failure the folder check explained when it happened is over once
        that check passes again (space came back) — no write needs to succeed first."""
        problem = self.folder_problem()
        if problem is not None:
            return problem
        failure = self._write_failure
        if failure is None:
            return None
        message, explained = failure
        if explained:
            self._write_failure = None
            return None
        return f"the last write failed: {message}"

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
        for stop in self._on_close:
            stop()
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


def _run_works(conn: sqlite3.Connection, works: Sequence[Callable[[sqlite3.Connection], Any]]) -> None:
    for work in works:
        result = work(conn)
        if isinstance(result, sqlite3.Cursor):
            result.close()
