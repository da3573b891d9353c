"""The bytes of a file the CLI imports (SPEC SCR-002) as UTF-8 lines: a file that is not UTF-8 text is refused whole,
in one line naming the file and the line, before anything is stored; a good file is then read line by line (streamed,
any size). ``adapters_cli.readers`` reads those lines as CSV or JSONL."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click

CHUNK = 1 << 20  # bytes read at a time when a whole file is checked first


class FileRefused(click.ClickException):
    """A whole file refused, or a streamed one that stopped reading: one line naming the file and the problem."""


class TextFile:
    """An import's bytes as UTF-8 lines. A regular file is checked whole before anything is read from it (a NUL
    byte: binary; a byte that does not decode: not UTF-8) — about a millisecond a megabyte; a pipe cannot be read
    twice, so its lines are checked as they come, and a bad one stops the reading with FileRefused."""

    def __init__(self, name: str, handle: IO[bytes]) -> None:
        self.name = name
        self._handle = handle
        mode = os.fstat(handle.fileno()).st_mode if hasattr(handle, "fileno") and _has_fd(handle) else 0
        self.regular = stat.S_ISREG(mode)
        self.size = os.fstat(handle.fileno()).st_size if self.regular else 0
        self.line = 0  # number of the last line read
        self.read = 0  # bytes read so far

    @classmethod
    @contextmanager
    def opened(cls, path: Path | str) -> Iterator[TextFile]:
        """The file at ``path`` (``-``: stdin), checked whole when it is a regular file."""
        if str(path) == "-":
            text = cls("stdin", sys.stdin.buffer)
            yield text
            return
        try:
            handle = Path(path).open("rb")  # noqa: SIM115  # closed by the with below; only the opening is guarded
        except OSError as exc:
            raise FileRefused(f"{path}: cannot read it ({exc.strerror})") from None
        with handle:
            text = cls(str(path), handle)
            if text.regular:
                text.check_whole()
            yield text

    def rewind(self) -> None:
        """Back to the start, to be read again (a regular file only: a pipe stays where it is)."""
        if self.regular:
            self._handle.seek(0)
            self.line = self.read = 0

    def refuse(self, problem: str, line: int | None = None) -> FileRefused:
        return FileRefused(f"{self.name}: line {line or self.line}: {problem}")

    def check_whole(self) -> None:
        """Reads the whole file once (then rewinds): binary or not UTF-8 is refused naming the line."""
        carry, lines = b"", 0
        while chunk := self._handle.read(CHUNK):
            data = carry + chunk
            carry = b""
            if (nul := data.find(b"\0")) >= 0:
                line = lines + data.count(b"\n", 0, nul) + 1
                raise FileRefused(f"{self.name}: a binary file, not text (a NUL byte on line {line})")
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.reason != "unexpected end of data" or len(data) - exc.start > 3:
                    line = lines + data.count(b"\n", 0, exc.start) + 1
                    raise self.refuse(_undecodable(data[exc.start]), line) from None
                carry = data[exc.start :]  # a character cut by the chunk's end: decoded with the next chunk
            lines += data.count(b"\n", 0, len(data) - len(carry))
        if carry:
            raise self.refuse(_undecodable(carry[0]), lines + 1)
        self._handle.seek(0)

    def lines(self) -> Iterator[str]:
        """The lines with their ends (a UTF-8 byte sequence never holds a newline byte: splitting bytes is safe)."""
        for raw in self._handle:
            self.line += 1
            self.read += len(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self.refuse(_undecodable(raw[exc.start])) from None
            if "\0" in text:
                raise self.refuse("a binary file, not text (a NUL byte)")
            yield text.removeprefix("\ufeff") if self.line == 1 else text


def _has_fd(handle: IO[bytes]) -> bool:
    try:
        handle.fileno()
    except (OSError, ValueError):  # io.BytesIO (Click's runner gives stdin so): no descriptor, not a regular file
        return False
    return True


def _undecodable(byte: int) -> str:
    return f"not UTF-8 text (byte 0x{byte:02X}); save the file as UTF-8"
