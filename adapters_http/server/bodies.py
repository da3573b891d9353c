"""Request bodies: JSON parsing and strict cattrs structuring; every problem becomes a BAD_REQUEST path."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from entrycore.errors import BadRequest


@attrs.frozen
class EntryBody:
    """``POST /{campaignId}/entries`` (API.md §3): top-level keys exactly these."""

    fields: dict[str, Any]
    locale: str | None = None
    referralCode: str | None = None
    inviteCode: str | None = None


@attrs.frozen
class ConfirmBody:
    """``POST /{campaignId}/entries/confirm`` (API.md §3)."""

    phoneJwt: str


@attrs.frozen
class EntryKey:
    campaignId: str
    userId: str


@attrs.frozen
class RefreshBody:
    """``POST /v2/refreshScores`` (API.md §4)."""

    entries: list[EntryKey]


@attrs.frozen
class InvitesBody:
    """``POST /{campaignId}/invites`` (API.md §4)."""

    invites: list[str]


def _strict(kind: type, name: str) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise TypeError(f"must be {name}")
        return value

    return structure


def make_converter() -> cattrs.Converter:
    """The HTTP edge's converter: no coercion ("nyc" is not a list, 1 is not a string), no extra keys."""
    converter = cattrs.Converter(forbid_extra_keys=True)
    converter.register_structure_hook(str, _strict(str, "a string"))
    converter.register_structure_hook(int, _strict(int, "an integer"))
    converter.register_structure_hook(bool, _strict(bool, "true or false"))
    converter.register_structure_hook_func(lambda t: t == dict[str, Any], _strict(dict, "an object"))

    def structure_list(value: Any, cls: Any) -> list[Any]:
        if not isinstance(value, list):
            raise TypeError("must be an array")
        (item_type,) = cls.__args__
        errors, out = [], []
        for index, item in enumerate(value):
            try:
                out.append(converter.structure(item, item_type))
            except Exception as exc:
                exc.__notes__ = [f"Structuring list @ index {index}"]
                errors.append(exc)
        if errors:
            raise IterableValidationError("invalid items", errors, cls)
        return out

    converter.register_structure_hook_func(lambda t: getattr(t, "__origin__", None) is list, structure_list)
    return converter


CONVERTER = make_converter()
T = TypeVar("T")


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body; BAD_REQUEST when it is not JSON."""
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise BadRequest.at([("$", "the body is not valid JSON")]) from None


def structure(value: Any, cls: type[T]) -> T:
    """``value`` as ``cls``; raises one BAD_REQUEST listing every problem with its JSON path."""
    if not isinstance(value, dict):
        raise BadRequest.at([("$", "the body must be a JSON object")])
    try:
        return CONVERTER.structure(value, cls)
    except ClassValidationError as exc:
        raise BadRequest.at(_problems(exc, "$")) from None
    except ForbiddenExtraKeysError as exc:
        raise BadRequest.at([(f"$.{k}", "unknown key") for k in sorted(exc.extra_fields)]) from None


def _problems(exc: BaseException, path: str) -> list[tuple[str, str]]:
    if isinstance(exc, ForbiddenExtraKeysError):
        return [(f"{path}.{k}", "unknown key") for k in sorted(exc.extra_fields)]
    if isinstance(exc, ClassValidationError | IterableValidationError):
        found: list[tuple[str, str]] = []
        for sub in exc.exceptions:
            note = next((n for n in getattr(sub, "__notes__", []) if isinstance(n, str)), "")
            if "@ attribute " in note:
                found += _problems(sub, f"{path}.{note.rsplit('@ attribute ', 1)[1]}")
            elif "@ index " in note:
                found += _problems(sub, f"{path}[{note.rsplit('@ index ', 1)[1]}]")
            else:
                found += _problems(sub, path)
        return found
    if isinstance(exc, KeyError):
        return [(path, "is required")]
    return [(path, str(exc) or "is invalid")]
