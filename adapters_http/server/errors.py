"""The one table from EntryError families to HTTP statuses, the HTTP-only errors, and the API.md §2 envelope."""

from __future__ import annotations

from typing import Any

from entrycore import errors as e


class RouteNotFound(e.NotFound):
    """No route takes this path (an unknown ``filterType`` included): HTTP's own, the core has no routes."""

    code = "NOT_FOUND"
    default_message = "No such route."


class MethodNotAllowed(e.EntryError):
    """The route exists but not with this method: HTTP's own, the core has no methods."""

    code = "METHOD_NOT_ALLOWED"
    default_message = "This method is not allowed on this route."


# Resolved along the class hierarchy (status_of): a family's row answers all its members, so an error needs a row of
# its own only when its status differs from its family's. EntryError's row answers the rest (Internal among them).
STATUS: dict[type[e.EntryError], int] = {
    e.EntryError: 500,
    e.BadRequest: 400,
    e.Invalid: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.NotFound: 404,
    MethodNotAllowed: 405,
    e.Conflict: 409,
    e.PayloadTooLarge: 413,
    e.TooManyAttempts: 429,
    e.DependencyUnavailable: 503,
}

# Werkzeug's own refusals (no route, wrong method, body over MAX_CONTENT_LENGTH or unreadable), named by the code of
# the error they are.
_WERKZEUG: dict[int, type[e.EntryError]] = {
    404: RouteNotFound,
    405: MethodNotAllowed,
    413: e.PayloadTooLarge,
    400: e.BadRequest,
}


def status_of(error: e.EntryError) -> int:
    """The HTTP status of an EntryError, resolved along its class hierarchy."""
    return next(STATUS[cls] for cls in type(error).__mro__ if cls in STATUS)


def code_of_status(status: int) -> str:
    """The API code of a refusal Werkzeug made with ``status`` before any view ran."""
    known = _WERKZEUG.get(status)
    if known is not None:
        return known.code
    return e.Internal.code if status >= 500 else e.BadRequest.code


def envelope(status: int, code: str, message: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message, "payload": payload or {}}


def item_error(error: e.EntryError | None) -> dict[str, Any] | None:
    """A batch item's ``error`` (API.md §4): ``{"code", "message", "payload"}``, or None when the item was done."""
    return None if error is None else {"code": error.code, "message": error.message, "payload": error.payload}
