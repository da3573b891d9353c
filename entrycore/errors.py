"""EntryError and its subclasses: each names a situation and carries its API.md error code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Self


class EntryError(Exception):
    """A rule said no. ``code`` is the API.md code; ``payload`` the details clients may read.

    Errors are grouped in families (``Invalid``, ``NotFound``, ``Conflict``…) that the edges answer alike (the HTTP
    table maps families to statuses); a family without a ``code`` of its own is never raised, only its members."""

    code = "INTERNAL"
    default_message = "Internal error."
    _family = False

    def __init_subclass__(cls, *, family: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._family = family  # declared per class: a family's members are raisable

    def __init__(self, message: str | None = None, payload: dict[str, Any] | None = None) -> None:
        if type(self)._family:
            raise TypeError(f"{type(self).__name__} is a family of errors: raise one of its members")
        self.message = message or self.default_message
        self.payload: dict[str, Any] = payload or {}
        super().__init__(self.message)


class BadRequest(EntryError):
    """The request's shape is wrong (not JSON, a wrong type, an unknown key, a bad query parameter)."""

    code = "BAD_REQUEST"
    default_message = "The request is malformed."

    @classmethod
    def at(cls, problems: list[tuple[str, str]]) -> BadRequest:
        """One error listing every ``(path, message)`` problem found."""
        errors = [{"path": path, "message": msg} for path, msg in problems]
        summary = "; ".join(f"{p}: {m}" for p, m in problems)
        return cls(f"Bad request: {summary}", {"errors": errors})


class Invalid(EntryError, family=True):
    """A family: a well-formed request that a rule judged wrong (a field, a market, a token…); raise one of its
    subclasses. Not a BadRequest: those carry ``payload.errors`` paths, and callers catch them to merge them."""


class Unauthorized(EntryError):
    code = "UNAUTHORIZED"
    default_message = "A valid bearer token is required."


class Forbidden(EntryError):
    """The caller may not do this: a role, another fan's data, or a rule of the campaign (its status, a gate)."""

    code = "FORBIDDEN"
    default_message = "You may not do this."


class PayloadTooLarge(EntryError):
    code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class NotFound(EntryError, family=True):
    """A family: the thing asked for does not exist; raise one of its subclasses. (An unknown route is the HTTP
    server's ``RouteNotFound``.)"""


class CampaignNotFound(NotFound):
    code = "CAMPAIGN_NOT_FOUND"
    default_message = "No such campaign."


class CampaignNotOpen(Forbidden):
    code = "CAMPAIGN_NOT_OPEN"
    default_message = "The campaign is not open for registration."


class EntryNotFound(NotFound):
    code = "ENTRY_NOT_FOUND"
    default_message = "No entry for this fan in this campaign."


class MissingFields(Invalid):
    code = "ENTRY_MISSING_FIELDS"
    default_message = "Required fields are missing."

    @classmethod
    def of(cls, field_ids: list[str]) -> MissingFields:
        return cls(f"Missing required fields: {', '.join(field_ids)}.", {"fields": field_ids})


class FieldRefused(Invalid, family=True):
    """A family: one field's value the campaign's preferences refuse; ``payload.field`` names the field."""

    @classmethod
    def of(cls, field_id: str, why: str) -> Self:
        return cls(f"Field '{field_id}': {why}", {"field": field_id})


class InvalidField(FieldRefused):
    code = "ENTRY_INVALID_FIELD"
    default_message = "A field is invalid."


class InvalidMarket(FieldRefused):
    code = "ENTRY_INVALID_MARKET"
    default_message = "The market choice is invalid."


class InvalidReferral(Invalid):
    code = "ENTRY_INVALID_REFERRAL"
    default_message = "The referral code is invalid."


class GateFailed(Forbidden, family=True):
    """A registration gate did not pass; subclasses name which (SPEC GATE-002)."""


class NoInvite(GateFailed):
    code = "NO_INVITE"
    default_message = "This campaign is invite-only and you are not on its invite list."


class NotLinked(GateFailed):
    code = "NOT_LINKED"
    default_message = "This campaign needs a linked account you do not have."


class NoCard(GateFailed):
    code = "NO_CARD"
    default_message = "This campaign needs an active verified payment card you do not have."


class InvalidPhoneToken(Invalid):
    code = "INVALID_PHONE_TOKEN"
    default_message = "The phone token is invalid."


class Conflict(EntryError, family=True):
    """A family: the request clashes with the state something else holds; raise one of its subclasses."""


class PhoneAlreadyConfirmed(Conflict):
    code = "PHONE_ALREADY_CONFIRMED"
    default_message = "This phone number is already confirmed by another fan of this campaign."


class TooManyAttempts(EntryError):
    code = "TOO_MANY_ATTEMPTS"
    default_message = "Too many failed attempts; try again later."


class InvalidTransfer(Invalid):
    code = "INVALID_TRANSFER"
    default_message = "The transfer request is invalid."


class TransferInProgress(Conflict):
    code = "TRANSFER_IN_PROGRESS"
    default_message = "Another transfer of this campaign is running; try again when it has finished."


class InvalidDraw(Invalid):
    code = "INVALID_DRAW"
    default_message = "The draw cannot be committed as asked."


class InvalidBeacon(Invalid):
    code = "INVALID_BEACON"
    default_message = "The beacon signature does not verify for the draw's round."


class DrawNotFound(NotFound):
    code = "DRAW_NOT_FOUND"
    default_message = "No such draw in this campaign."


class DrawNotRevealed(Conflict):
    code = "DRAW_NOT_REVEALED"
    default_message = "The draw is not revealed yet."


class DrawClosed(Conflict):
    code = "DRAW_CLOSED"
    default_message = "The draw can no longer be revealed or cancelled."


class OfferNotOpen(Conflict):
    code = "OFFER_NOT_OPEN"
    default_message = "There is no open offer to accept or decline."


class BeaconNotReady(Conflict):
    code = "BEACON_NOT_READY"
    default_message = "The beacon round's signature cannot be had yet; reveal with it, or try again later."


class DependencyUnavailable(EntryError):
    code = "DEPENDENCY_UNAVAILABLE"
    default_message = "A required dependency is unavailable."


class Internal(EntryError):
    code = "INTERNAL"
    default_message = "Internal error."


class EntryExists(Exception):
    """Raised by a store when ``(campaignId, userId)`` is already taken (a lost create race)."""


class ReferralCodeTaken(Exception):
    """Raised by a store when a generated referral code is already used in the campaign."""


class PhoneTaken(Exception):
    """Raised by a store when a confirmed phone is already held by another entry of the campaign."""


class StaleEntry(Exception):
    """Raised by a store when the entry changed since it was read (optimistic concurrency)."""


class StaleDraw(Exception):
    """Raised by a store when the draw changed since it was read (optimistic concurrency between workers)."""


class DeliveryFailed(Exception):
    """Raised by a sink or sender that failed as a whole (an outage: down, unreachable, timing out, throttling
    every message): the relay backs off and retries the batch later. A sink that failed part-way says which
    messages landed before (``delivered``) and which it had refused one by one (``refused``: id -> reason)."""

    def __init__(
        self, message: str = "", *, delivered: Sequence[str] = (), refused: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.delivered = tuple(delivered)
        self.refused = dict(refused or {})


class MessageRejected(Exception):
    """Raised by a sender that refused this one message (it cannot be encoded, is too large, or the service
    answered that it is bad): the relay retries it alone with its own backoff and parks it as a dead letter
    after its attempts run out, while the other messages go on."""


class EnrichmentFailed(Exception):
    """Raised by a fraud check or fanscore source that gave no valid answer (error, timeout, garbage)."""
