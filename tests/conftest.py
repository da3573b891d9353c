"""Fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import mongomock.collection
import pytest

from tests.http_app import Api, make_api

# The one compatibility shim for mongomock (DESIGN.md): mongomock 4.3 predates the ``sort`` argument pymongo 4.11+
# passes to a bulk write's replace or update (always None unless a ReplaceOne/UpdateOne asks for it, which the
# store never does): accepted when None, refused otherwise.
_Bulk: Any = mongomock.collection.BulkOperationBuilder


def _sort_unset(add: Callable[..., Any]) -> Callable[..., Any]:
    def added(self: Any, *args: Any, sort: Any = None, **kwargs: Any) -> Any:
        if sort is not None:
            raise NotImplementedError("mongomock cannot sort in a bulk write")
        return add(self, *args, **kwargs)

    return added


if not getattr(_Bulk.add_replace, "sort_unset", False):
    for _name in ("add_replace", "add_update"):
        _shimmed = _sort_unset(getattr(_Bulk, _name))
        _shimmed.sort_unset = True  # type: ignore[attr-defined]
        setattr(_Bulk, _name, _shimmed)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """The real app (SQLite store, file sources) on a temporary folder."""
    wired = make_api(tmp_path)
    yield wired
    wired.services.close()
