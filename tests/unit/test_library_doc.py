"""docs/library.md: its examples run as written, from the repository's root (doctest)."""

from __future__ import annotations

import doctest
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_library_guide_runs_as_written(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for name in [n for n in os.environ if n.startswith("ENTRY_")]:
        monkeypatch.delenv(name)  # the guide's configuration is its own value, not the environment
    failures, tried = doctest.testfile(str(ROOT / "docs" / "library.md"), module_relative=False, report=True)
    assert tried > 10
    assert failures == 0
