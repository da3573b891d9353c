"""Per-request helpers for views: authenticate before reading the body, read it within its limit."""

from __future__ import annotations

from typing import Any, TypeVar

from flask import request

from adapters_http.server.bodies import parse_json, structure
from adapters_http.server.context import config, services
from entrycore.caller import Caller
from entrycore.errors import BadRequest, PayloadTooLarge
from entrycore.model import Origin

T = TypeVar("T")
_CHUNK = 64 * 1024


def caller() -> Caller:
    """The authenticated caller (401 before anything else is read, API.md §1)."""
    environ = request.environ
    authorization = environ.get("HTTP_AUTHORIZATION")
    user_id, supreme = services().verifier.verify(authorization)
    return Caller(
        user_id=user_id,
        is_supreme=supreme,
        authorization=authorization,
        origin=Origin(ip=environ.get("REMOTE_ADDR"), user_agent=environ.get("HTTP_USER_AGENT")),
    )


def raw_body(admin: bool = False) -> bytes:
    """The body, refused with 413 past the route's byte limit without reading more than the limit."""
    limit = config().admin_body_limit if admin else config().fan_body_limit
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"The body is over {limit} bytes.")
    stream = request.stream
    if length is not None:  # the usual case: the stream ends at the announced length, read it whole
        data: bytes = stream.read()
        return data
    chunks, size = [], 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is over {limit} bytes.")
    return b"".join(chunks)


def body_as(cls: type[T], raw: bytes) -> T:
    """The body structured as ``cls`` (BAD_REQUEST naming every problem)."""
    return structure(parse_json(raw), cls)


def _role_before_shape(who: Caller) -> Caller:
    """Who may do what is the use cases' rule (``Caller.require_supreme``, checked by every admin use case for every
    caller: HTTP, CLI, importing services). API.md §2 answers the role (403) before the body's or the query's shape
    (400), and an admin route reads those at the edge before its use case runs: so such a route asks the same rule
    here first, and only here. A route that reads nothing before its use case leaves the answer to the use case."""
    who.require_supreme()
    return who


def admin_caller() -> Caller:
    """An admin read whose query the edge reads before its use case, in API.md §2 order: token → supreme."""
    return _role_before_shape(caller())


def admin_request() -> tuple[Caller, bytes]:
    """An admin write in API.md §2 order up to its body's shape: token → body size → supreme."""
    who = caller()
    raw = raw_body(admin=True)
    return _role_before_shape(who), raw


def admin_body(cls: type[T]) -> tuple[Caller, T]:
    """``admin_request``, then the body structured as ``cls``."""
    who, raw = admin_request()
    return who, body_as(cls, raw)


def admin_batch(cls: type[T], items: str, limit: int) -> tuple[Caller, T, list[Any]]:
    """``admin_body``, then 1..``limit`` items (none: 400; more: 413). Returns the caller, the body and its list
    of items named ``items``."""
    who, body = admin_body(cls)
    batch: list[Any] = getattr(body, items)
    if not batch:
        raise BadRequest.at([(f"$.{items}", "must not be empty")])
    if len(batch) > limit:
        raise PayloadTooLarge(f"At most {limit} {items} per request.")
    return who, body, batch
