"""A JSON file read into an immutable snapshot, re-read when it changes on disk (at most once a second)."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

KEPT = "keeping the content loaded before"

# What identifies one version of the file: a rename-over (new inode) or an edit (mtime, size) changes it.
_Signature = tuple[int, int, int, int]


class SourceFileError(ValueError):
    """A source file is missing, unreadable, not JSON, or holds a bad document; names the file."""


class WatchedFile(Generic[T]):
    """Holds ``parse(json_value)`` of a file and swaps in a fresh one when the file changes.

    The first read happens in the constructor and raises SourceFileError. Later reads are checked
    for on ``current()``, at most once per ``interval`` seconds; a failed re-read logs a warning and
    keeps the last good snapshot, so a half-saved or broken edit never takes the service down.
    Snapshots are replaced whole, so readers on other threads never see a mix of two versions.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        parse: Callable[[Any], T],
        *,
        interval: float = 1.0,
    ) -> None:
        self.path = Path(path)
        self._parse = parse
        self._interval = interval
        self._lock = threading.Lock()
        # The version last read, good or bad (None: the file was gone): not read again until it changes.
        self._seen: _Signature | None
        self._seen, self._snapshot = self._read()
        self._next_check = time.monotonic() + interval

    def current(self) -> T:
        """The latest good snapshot, after re-reading the file if it changed (checked once per interval)."""
        if time.monotonic() >= self._next_check and self._lock.acquire(blocking=False):
            # One thread checks; the others keep answering from the current snapshot meanwhile.
            try:
                self._next_check = time.monotonic() + self._interval
                self._refresh()
            finally:
                self._lock.release()
        return self._snapshot

    def _refresh(self) -> None:
        try:
            signature = self._signature()
        except OSError as exc:
            if self._seen is not None:  # warn once, not every interval, while the file is gone
                log.warning("%s: cannot read it (%s); %s", self.path, _why(exc), KEPT)
            self._seen = None
            return
        if signature == self._seen:
            return
        self._seen = signature
        try:
            self._seen, self._snapshot = self._read()
        except SourceFileError as exc:
            log.warning("%s; %s", exc, KEPT)
            return
        log.info("reloaded %s", self.path)

    def _signature(self) -> _Signature:
        st = os.stat(self.path)
        return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)

    def _read(self) -> tuple[_Signature, T]:
        # Stat before reading: a change racing the read then shows up as a new signature next time.
        try:
            signature = self._signature()
            raw = self.path.read_bytes()
        except OSError as exc:
            raise SourceFileError(f"{self.path}: cannot read it ({_why(exc)})") from None
        try:
            value = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise SourceFileError(f"{self.path}: not valid JSON ({exc})") from None
        try:
            return signature, self._parse(value)
        except ValueError as exc:  # DocumentError is a ValueError
            raise SourceFileError(f"{self.path}: {exc}") from None


def _why(exc: OSError) -> str:
    return exc.strerror or str(exc)
