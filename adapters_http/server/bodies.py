"""Request bodies: JSON parsing and strict cattrs structuring; every problem becomes a BAD_REQUEST path."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError, IterableValidationError

from entrycore.errors import BadRequest, PayloadTooLarge
from entrycore.text import is_unicode

# Items per request (API.md §2): more is 413 PAYLOAD_TOO_LARGE. The routes and the OpenAPI document read them here.
MAX_RECORDS = 10_000  # scoring records
MAX_TAG_VALUES = 10_000
MAX_INVITES = 10_000
MAX_REFRESH = 1_000  # refresh entries
MAX_ITEMS = 1_000  # codes, blocking items
MAX_BATCH = 1_000  # saves and deletions of POST /v2/entries, in all


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


@attrs.frozen
class ScoringBody:
    """``POST /{campaignId}/entries/scoring`` (API.md §4): each record is read on its own (SCR-002)."""

    records: list[Any]


@attrs.frozen
class TagsBody:
    """``POST /{campaignId}/scoring/tags`` (API.md §4)."""

    tagName: str
    by: str
    values: list[str]


@attrs.frozen
class FlipBody:
    """``POST /{campaignId}/scoring/flipVerdicts`` (API.md §4)."""

    tagName: str
    mode: str


@attrs.frozen
class OptOutBody:
    """``POST /users/{userId}/optout`` (API.md §4)."""

    type: str


@attrs.frozen
class TransferBody:
    """``POST /{campaignId}/entries/transfer`` (API.md §4, SPEC MKT-003)."""

    fromMarketId: str
    toMarketId: str


@attrs.frozen
class BatchBody:
    """``POST /v2/entries`` (API.md §4, SPEC USR-004): each item is read on its own (``BatchEntry``, ``EntryKey``),
    so a bad item is that item's error, not the request's."""

    entries: list[Any] = attrs.Factory(list)
    deletions: list[Any] = attrs.Factory(list)


@attrs.frozen
class BatchEntry:
    """One save of ``POST /v2/entries``: the fan's fields as the fan route takes them."""

    campaignId: str
    userId: str
    fields: dict[str, Any]
    locale: str | None = None
    referralCode: str | None = None
    inviteCode: str | None = None  # accepted as the fan route takes it, and unused: gates do not apply (USR-004)


@attrs.frozen
class CodeDates:
    start: str
    end: str | None = None
    revealCode: str | None = None


@attrs.frozen
class CodeItem:
    """One item of ``POST /{campaignId}/entries/codes`` (API.md §4)."""

    userId: str
    code: str
    date: CodeDates
    codeConfigId: str | None = None


@attrs.frozen
class VerdictItem:
    """One item of ``POST /{campaignId}/entries/verdicts`` (API.md §4)."""

    userId: str
    isBlocked: bool
    date: str | None = None


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


MAX_DEPTH = 32  # nesting of arrays and objects; no body of API.md comes near it
# Values inside an object under this key are the campaign's preference fields: entrycore judges them
# (ENTRY_INVALID_FIELD naming the field, API.md §2), never BAD_REQUEST.
_DOMAIN_FIELDS = "fields"


def parse_json(raw: bytes) -> Any:
    """The JSON value of a body; BAD_REQUEST when it is not JSON, nests deeper than MAX_DEPTH, or holds text
    that is not valid Unicode (a lone UTF-16 surrogate such as ``"\\ud800"`` is valid JSON, but no store or
    sink can keep it) outside the preference ``fields``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise BadRequest.at([("$", f"nested deeper than {MAX_DEPTH} levels")]) from None
    except (ValueError, UnicodeDecodeError):
        raise BadRequest.at([("$", "the body is not valid JSON")]) from None
    problems = _inspect(value)
    if problems:
        raise BadRequest.at(problems)
    return value


def _inspect(value: Any) -> list[tuple[str, str]]:
    """Depth and text problems of a parsed body, with their paths; iterative (no recursion to exhaust)."""
    problems: list[tuple[str, str]] = []
    stack: list[tuple[Any, str, int, bool]] = [(value, "$", 0, True)]
    while stack:
        item, path, depth, check_text = stack.pop()
        if isinstance(item, str):
            if check_text and not is_unicode(item):
                problems.append((path, "is not valid Unicode text"))
            continue
        if not isinstance(item, dict | list):
            continue
        if depth >= MAX_DEPTH:
            return [("$", f"nested deeper than {MAX_DEPTH} levels")]
        if isinstance(item, list):
            stack.extend((v, f"{path}[{i}]", depth + 1, check_text) for i, v in enumerate(item))
            continue
        for key, v in item.items():
            inner = f"{path}.{key}" if is_unicode(key) else f"{path}.{key!a}"
            if check_text and not is_unicode(key):
                problems.append((inner, "is not valid Unicode text"))
            stack.append((v, inner, depth + 1, check_text and not (key == _DOMAIN_FIELDS and isinstance(v, dict))))
    return sorted(problems)


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


def structure_item(value: Any, cls: type[T], path: str) -> T | BadRequest:
    """One item of a batch read as ``cls``, or its BAD_REQUEST (paths under ``path``): the batch goes on."""
    try:
        return structure(value, cls)
    except BadRequest as error:
        problems = [(path + problem["path"][1:], problem["message"]) for problem in error.payload["errors"]]
        return BadRequest.at(problems)


def structure_items(value: Any, cls: type[T], limit: int) -> list[T]:
    """A body that is a JSON array of 1..``limit`` ``cls`` items: BAD_REQUEST for another shape, no item or a bad
    item (every problem with its path), PAYLOAD_TOO_LARGE past ``limit`` (API.md §2)."""
    if not isinstance(value, list):
        raise BadRequest.at([("$", "the body must be a JSON array")])
    if not value:
        raise BadRequest.at([("$", "must not be empty")])
    if len(value) > limit:
        raise PayloadTooLarge(f"At most {limit} items per request.")
    try:
        items: list[T] = CONVERTER.structure(value, list[cls])  # type: ignore[valid-type]
    except (ClassValidationError, IterableValidationError) as exc:
        raise BadRequest.at(_problems(exc, "$")) from None
    return items


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


@attrs.frozen
class DrawBody:
    """``POST /{campaignId}/draws`` (API.md §4 Draws). ``capacities``, ``mechanism``, ``offerHours`` and
    ``beaconRound`` are taken as sent: their rules are the use case's (INVALID_DRAW), not the body's shape."""

    name: str
    criteria: dict[str, Any]
    capacities: dict[str, Any]
    mechanism: Any = None
    offerHours: Any = None
    beaconRound: Any = None


@attrs.frozen
class BeaconBody:
    round: int
    signature: str


@attrs.frozen
class RevealBody:
    """``POST …/reveal``: the beacon round's signature, or nothing (no round, or fetched from ENTRY_DRAND_URL)."""

    beacon: BeaconBody | None = None


@attrs.frozen
class CancelBody:
    reason: str


@attrs.frozen
class RespondBody:
    """``POST …/accept`` and ``…/decline``: a fan's ``{}`` (their own offer), an admin's ``{"tickets": […]}``."""

    tickets: list[str] | None = None
