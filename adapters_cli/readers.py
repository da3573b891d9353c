"""The CSV and JSONL readers of the CLI's imports (SPEC SCR-002), the one reading of each: a file that cannot be the
import at all — not CSV or JSONL, a header (or first JSONL line) without the columns the import needs or with
others — is refused whole, in one line, before anything is stored; its records are then read one at a time."""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

from adapters_cli.files import FileRefused, TextFile

CSV_SUFFIXES = ("", ".csv", ".txt")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


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


def items(text: TextFile, layout: Layout) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(where, item)`` of a ``.jsonl`` file (one JSON object per line) or of a CSV file with a header row (its
    cells stripped); ``where`` names the line and the item for messages."""
    jsonl = file_format(text.name, layout) == "jsonl"
    for number, (line, item) in enumerate(records(text, layout), start=1):
        where = f"{text.name}: line {line}: item {number}"
        yield where, item if jsonl else {k: v.strip() for k, v in item.items()}


def first_cells(text: TextFile, layout: Layout, headers: Collection[str]) -> Iterator[str]:
    """The first cell of each row of a CSV or text file without a header row (one value a line); blank lines and
    ``#`` comments are skipped, and a first row naming one of ``headers`` (lower case) is a header after all."""
    file_format(text.name, layout)  # a text or CSV file: anything else is refused before a line is read
    try:
        for index, row in enumerate(csv.reader(text.lines())):
            if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                continue
            if index == 0 and row[0].strip().lower() in headers:
                continue
            yield row[0]
    except csv.Error as exc:
        raise text.refuse(f"not CSV ({exc})") from None


def in_batches(values: Iterator[Any], size: int) -> Iterator[list[Any]]:
    """``values`` ``size`` at a time (the last batch may be shorter), read as the batches are taken."""
    batch: list[Any] = []
    for value in values:
        batch.append(value)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
