"""JSONL sinks on local files: the embedded default event sink and receipt sender (API.md §6, §8)."""

from __future__ import annotations

import contextlib
import json
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from entrycore.errors import DeliveryFailed, MessageRejected
from entrycore.outbox import OutboxMessage
from entrycore.timefmt import iso

try:
    import fcntl
except ImportError:  # pragma: no cover - not a POSIX system: appends are not guarded against other processes
    fcntl = None  # type: ignore[assignment]


class JsonLinesFile:
    """Appends JSON lines to a file readable by its owner only (SPEC OPS-003); safe across processes:
    each batch is one ``write`` on an ``O_APPEND`` descriptor, under an ``flock`` of the file. A write the disk
    takes only part of (full, SPEC OPS-007) is cut off again: the file never ends in half a line, and the batch
    fails whole (DeliveryFailed: the relay sends it again)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            if not self.path.parent.exists():
                self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def append(self, lines: Sequence[bytes]) -> None:
        """Appends the encoded ``lines`` (see ``line``) in one write; raises DeliveryFailed when the file
        cannot take them."""
        data = b"".join(lines)
        if not data:
            return
        try:
            with self._lock:
                fd = self._descriptor()
                with _exclusive(fd):
                    written = os.write(fd, data)
                    if written != len(data):
                        end = os.fstat(fd).st_size  # ours are the last bytes: other appenders wait for the lock
                        with contextlib.suppress(OSError):
                            os.ftruncate(fd, end - written)
                        raise OSError(f"short write: {written} of {len(data)} bytes (disk full?), cut off again")
        except OSError as exc:
            raise DeliveryFailed(f"cannot append to {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


@contextlib.contextmanager
def _exclusive(fd: int) -> Iterator[None]:
    """The file to this appender alone (every process's JsonLinesFile of it takes the same lock)."""
    if fcntl is None:
        yield
        return
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def line(record: Mapping[str, Any]) -> bytes:
    """One JSON line in UTF-8; raises MessageRejected for a record that has no such form (a lone surrogate)."""
    try:
        return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
    except (UnicodeEncodeError, ValueError, TypeError, RecursionError) as exc:
        raise MessageRejected(f"cannot be written as UTF-8 JSON: {type(exc).__name__}") from None


class FileEventSink:
    """``ENTRY_EVENTS=file:PATH``: one event per line, exactly the API.md §8 object. An event that cannot be
    written as UTF-8 JSON is returned refused; the others of its batch are written."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = JsonLinesFile(path)

    def publish(self, events: Sequence[OutboxMessage]) -> dict[str, str]:
        lines: list[bytes] = []
        refused: dict[str, str] = {}
        for event in events:
            try:
                lines.append(line(event.body))
            except MessageRejected as exc:
                refused[event.id] = str(exc)
        self._file.append(lines)
        return refused

    def close(self) -> None:
        self._file.close()


class FileReceiptSender:
    """``ENTRY_RECEIPTS=file:PATH``: one receipt per line (API.md §6 "Receipt lines"), with ``sentAt``; a
    receipt that cannot be written as UTF-8 JSON raises MessageRejected."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._file = JsonLinesFile(path)

    def send(self, receipt: Mapping[str, Any]) -> None:
        self._file.append([line({**receipt, "sentAt": iso(datetime.now(UTC))})])

    def close(self) -> None:
        self._file.close()
