"""Progress of the long CLI commands on stderr (uploads, imports, transfers, exports): on a terminal, or with
``ENTRY_PROGRESS=1`` one line per report; written only from the first report on — after the command's checks
passed — so a refused command prints its one line and nothing else."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable

import click

UNITS = ("B", "KiB", "MiB", "GiB", "TiB")


def show_progress() -> bool:
    return os.environ.get("ENTRY_PROGRESS") != "0" and (sys.stderr.isatty() or os.environ.get("ENTRY_PROGRESS") == "1")


def size(count: float) -> str:
    """A byte count with its unit: ``812 B``, ``3.4 MiB``."""
    for unit in UNITS:
        if count < 1024 or unit == UNITS[-1]:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    raise AssertionError  # pragma: no cover  # the loop returns at the last unit


class Progress:
    """One long command's progress: ``report`` a line of text; on a terminal the line is rewritten in place. Used as
    ``with Progress(label) as bar:``, the line is ended however the block ends, so the summary printed after it (or
    the error) starts on a line of its own."""

    def __init__(self, label: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.label = label
        self.enabled = show_progress()
        self._terminal = sys.stderr.isatty()
        self._clock = clock
        self._started = clock()
        self._shown = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def per_second(self, amount: float) -> float:
        """``amount`` divided by the seconds since the command started (its rate)."""
        return amount / max(self._clock() - self._started, 1e-6)

    def report(self, text: str) -> None:
        if not self.enabled:
            return
        if self._terminal:
            click.echo(f"\r\x1b[K{self.label}: {text}", nl=False, err=True)  # \x1b[K: clear a longer earlier line
        else:
            click.echo(f"{self.label}: {text}", err=True)
        self._shown = True

    def close(self) -> None:
        """Ends the terminal's progress line, so what follows starts on its own line."""
        if self._shown and self._terminal:
            click.echo("", err=True)
        self._shown = False
