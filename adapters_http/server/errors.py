"""The one table from EntryError codes to HTTP statuses, and the API.md §2 error envelope."""

from __future__ import annotations

from typing import Any

from entrycore import errors as e

_STATUS: dict[type[e.EntryError], int] = {
    e.BadRequest: 400,
    e.Unauthorized: 401,
    e.Forbidden: 403,
    e.PayloadTooLarge: 413,
    e.NotFound: 404,
    e.MethodNotAllowed: 405,
    e.CampaignNotFound: 404,
    e.CampaignNotOpen: 403,
    e.EntryNotFound: 404,
    e.MissingFields: 400,
    e.InvalidField: 400,
    e.InvalidMarket: 400,
    e.InvalidReferral: 400,
    e.GateFailed: 403,
    e.InvalidPhoneToken: 400,
    e.PhoneAlreadyConfirmed: 409,
    e.TooManyAttempts: 429,
    e.InvalidTransfer: 400,
    e.TransferInProgress: 409,
    e.DependencyUnavailable: 503,
    e.Internal: 500,
}


def status_of(error: e.EntryError) -> int:
    """The HTTP status of an EntryError, resolved along its class hierarchy."""
    for cls in type(error).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def envelope(status: int, code: str, message: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": status, "code": code, "message": message, "payload": payload or {}}
