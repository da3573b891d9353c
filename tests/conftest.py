"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.http_app import Api, make_api


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The real app (SQLite store, file sources) on a temporary folder."""
    wired = make_api(tmp_path)
    yield wired
    wired.services.close()
