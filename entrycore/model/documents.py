"""Reading the documents of other services (API.md §7): required and optional keys of a type, or DocumentError."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class DocumentError(ValueError):
    """A campaign or account document from another service does not have the API.md §7 shape."""


def required(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    if doc.get(key) is None:  # a JSON null is as absent as a missing key
        raise DocumentError(f"{where}: '{key}' is required")
    return optional(doc, key, kind, where, None)


def optional(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any) -> Any:
    value = doc.get(key, default)
    if value is None:
        return default
    kinds = kind if isinstance(kind, tuple) else (kind,)
    # bool is an int in Python; a JSON true is never a number here.
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        raise DocumentError(f"{where}: '{key}' has the wrong type")
    return value
