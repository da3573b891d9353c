"""RFC 8785 (JSON Canonicalization Scheme) for the values a draw's public files hold (SPEC §12).

Those objects hold only integers, ASCII ids, hex strings, ``null``, lists and objects, so the canonical form is
what ``json.dumps`` gives with sorted keys, no spaces and UTF-8 — provided the numbers are integers a double
holds exactly (RFC 8785 numbers are IEEE 754 doubles) and keys sort by UTF-16 code units, as RFC 8785 says.
A value outside that (a float, a lone surrogate, an integer past 2**53 - 1) is refused, not approximated.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import Any

MAX_INTEGER = 2**53 - 1  # the largest integer an IEEE 754 double holds with all the integers below it

_strings = json.JSONEncoder(ensure_ascii=False)


def canonical(value: Any) -> bytes:
    """The RFC 8785 bytes of ``value`` (UTF-8). Raises ``ValueError`` for what these files never hold."""
    parts: list[str] = []
    _write(value, parts)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("a string holds a lone surrogate, which RFC 8785 cannot encode") from None


def _write(value: Any, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if abs(value) > MAX_INTEGER:
            raise ValueError(f"integer {value} is past 2**53 - 1: a double would not hold it exactly")
        out.append(str(int(value)))
    elif isinstance(value, str):
        out.append(_strings.encode(value))
    elif isinstance(value, Mapping):
        keys = list(value)
        if not all(isinstance(key, str) for key in keys):
            raise ValueError("object keys must be strings")
        out.append("{")
        for index, key in enumerate(sorted(keys, key=lambda k: k.encode("utf-16-be"))):
            if index:
                out.append(",")
            out.append(_strings.encode(key))
            out.append(":")
            _write(value[key], out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _write(item, out)
        out.append("]")
    else:
        raise ValueError(f"{type(value).__name__} has no canonical form here (integers, strings, lists, objects)")


def lines(values: Iterable[Any]) -> bytes:
    """A public file: each value's canonical JSON followed by ``\\n``."""
    return b"".join(canonical(value) + b"\n" for value in values)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
