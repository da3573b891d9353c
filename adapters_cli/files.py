"""The files the CLI imports (SPEC SCR-002): a file that cannot be the import at all — not UTF-8 text, not CSV or
JSONL, a header (or first JSONL line) without the columns the import needs or with others — is refused whole, in one
line, before anything is stored; a good file is then read line by line (streamed, any size)."""

from __future__ import annotations

import csv
import json
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import attrs
import click

CHUNK = 1 << 20  # bytes read at a time when a whole file is checked first
CSV_SUFFIXES = ("", ".csv", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


class FileRefused(click.ClickException):
    """A whole file refused, or a streamed one that stopped reading: one line naming the file and the problem."""


@attrs.frozen
class Columns:
    """The columns of an import, as CSV header names or JSONL keys: those it needs, then those it also reads."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    others: bool = False  # other names are ignored rather than refused

    def shape(self) -> str:
        return ",".join(self.required) + "".join(f"[,{name}]" for name in self.optional)

    def problem(self, found: Sequence[str]) -> str | None:
        """What is wrong with the columns ``found`` (missing, unknown, repeated ones), or None."""
        missing = [name for name in self.required if name not in found]
        unknown = [] if self.others else [name for name in found if name not in self.required + self.optional]
        twice = sorted({name for name in found if found.count(name) > 1})
        if missing:  # what it has instead says the rest
            has = f" (it has {_listed(found)})" if found else ""
            problem = f"no {_listed(missing)} {'column' if len(missing) == 1 else 'columns'}{has}"
        elif unknown:
            problem = f"unknown {'column' if len(unknown) == 1 else 'columns'} {_listed(unknown)}"
        elif twice:
            problem = f"{_listed(twice)} more than once"
        else:
            return None
        return f"{problem}; expected {self.shape()}"


def _listed(names: Sequence[str]) -> str:
    return ", ".join(repr(n) if not n.isidentifier() else n for n in names)


@attrs.frozen
class Layout:
    """What an import reads: ``what`` (for messages), its CSV columns and, when it also takes JSONL, its keys;
    ``every_line``: each JSONL line must be an object with known keys (else only the first one must: later
    lines that are not are the import's bad rows, reported one by one)."""

    what: str
    csv: Columns
    jsonl: Columns | None = None
    every_line: bool = False


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


def file_format(name: str, layout: Layout) -> str:
    """``csv`` or ``jsonl`` by the file's suffix (stdin: CSV); any other suffix is refused."""
    suffix = "" if name == "stdin" else Path(name).suffix.lower()
    if suffix in CSV_SUFFIXES:
        return "csv"
    if suffix in JSONL_SUFFIXES and layout.jsonl is not None:
        return "jsonl"
    kinds = "CSV or JSONL (.csv, .jsonl, .ndjson)" if layout.jsonl is not None else "a CSV or text file (.csv, .txt)"
    raise FileRefused(f"{name}: not {kinds}: {layout.what} cannot be read from it")


def records(text: TextFile, layout: Layout) -> Iterator[tuple[int, Any]]:
    """``(line, record)`` of a checked file: a ``{column: cell}`` dict per CSV row, or each JSONL line's value
    (a line that is not JSON: the line itself). The header or first JSONL line is checked before this returns."""
    lines = text.lines()
    try:
        if file_format(text.name, layout) == "jsonl":
            return _jsonl(text, lines, layout)
        return _csv(text, lines, layout)
    except csv.Error as exc:
        raise text.refuse(f"not CSV ({exc})") from None


def _csv(text: TextFile, lines: Iterator[str], layout: Layout) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None:
        raise FileRefused(f"{text.name}: empty: {layout.what} needs a header row {layout.csv.shape()}")
    names = [name.strip() for name in header]
    if (problem := layout.csv.problem([n for n in names if n])) is not None:
        raise text.refuse(f"the header has {problem}")
    return _rows(text, reader, names)


def _rows(text: TextFile, reader: Iterator[list[str]], names: list[str]) -> Iterator[tuple[int, Any]]:
    try:
        for row in reader:
            if row:
                yield text.line, {name: cell for name, cell in zip(names, row, strict=False) if name}
    except csv.Error as exc:
        raise text.refuse(f"not CSV ({exc})") from None


def _jsonl(text: TextFile, lines: Iterator[str], layout: Layout) -> Iterator[tuple[int, Any]]:
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise FileRefused(f"{text.name}: empty: {layout.what} needs one JSON object per line")
    value = _json_object(text, first, layout)
    return _values(text, lines, layout, (text.line, value))


def _values(text: TextFile, lines: Iterator[str], layout: Layout, first: tuple[int, Any]) -> Iterator[tuple[int, Any]]:
    yield first
    for line in lines:
        if line.strip():
            yield text.line, _json_object(text, line, layout) if layout.every_line else _json_or_line(line)


def _json_object(text: TextFile, line: str, layout: Layout) -> dict[str, Any]:
    value = _json_or_line(line)
    if not isinstance(value, dict):
        raise text.refuse(f"not a JSON object: {layout.what} in JSONL has one object per line")
    assert layout.jsonl is not None  # a JSONL file only when the layout has keys
    if (problem := layout.jsonl.problem(list(value))) is not None:
        raise text.refuse(problem.replace("column", "key"))
    return value


def _json_or_line(line: str) -> Any:
    try:
        return json.loads(line)
    except (ValueError, RecursionError):
        return line
