"""The one table from EntryError families to HTTP statuses: every error answers the status API.md §2 gives its
code, and no row repeats what a family's row already says."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from adapters_http.server import errors as http
from adapters_http.server.errors import STATUS, code_of_status, status_of
from entrycore import errors as core
from entrycore.errors import EntryError

# API.md §2's table of codes, copied: the contract the table keeps (status codes and codes must not change).
API_STATUSES = {
    "UNAUTHORIZED": 401,
    "FORBIDDEN": 403,
    "BAD_REQUEST": 400,
    "PAYLOAD_TOO_LARGE": 413,
    "NOT_FOUND": 404,
    "URI_TOO_LONG": 414,
    "HEADERS_TOO_LARGE": 431,
    "METHOD_NOT_ALLOWED": 405,
    "CAMPAIGN_NOT_FOUND": 404,
    "CAMPAIGN_NOT_OPEN": 403,
    "ENTRY_NOT_FOUND": 404,
    "ENTRY_MISSING_FIELDS": 400,
    "ENTRY_INVALID_FIELD": 400,
    "ENTRY_INVALID_MARKET": 400,
    "ENTRY_INVALID_REFERRAL": 400,
    "NO_INVITE": 403,
    "NOT_LINKED": 403,
    "NO_CARD": 403,
    "INVALID_PHONE_TOKEN": 400,
    "PHONE_ALREADY_CONFIRMED": 409,
    "TOO_MANY_ATTEMPTS": 429,
    "INVALID_TRANSFER": 400,
    "TRANSFER_IN_PROGRESS": 409,
    "INVALID_DRAW": 400,
    "INVALID_BEACON": 400,
    "DRAW_NOT_FOUND": 404,
    "DRAW_NOT_REVEALED": 409,
    "DRAW_CLOSED": 409,
    "OFFER_NOT_OPEN": 409,
    "BEACON_NOT_READY": 409,
    "TOO_MANY_REQUESTS": 429,
    "DEPENDENCY_UNAVAILABLE": 503,
    "INTERNAL": 500,
}


def descendants(cls: type[EntryError]) -> Iterator[type[EntryError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from descendants(sub)


# The core's errors and the HTTP server's own (an unknown route, a wrong method); not those a test may define.
ERRORS = sorted(
    {EntryError} | {c for c in descendants(EntryError) if c.__module__ in {core.__name__, http.__name__}},
    key=lambda c: c.__name__,
)


def test_the_walk_finds_the_core_errors_and_the_http_ones() -> None:
    assert {core.PhoneAlreadyConfirmed, core.NoCard, core.Internal, http.RouteNotFound, http.MethodNotAllowed} < set(
        ERRORS
    )
    assert not hasattr(core, "MethodNotAllowed")  # HTTP's own, out of the core


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_each_error_answers_the_status_api_md_gives_its_code(cls: type[EntryError]) -> None:
    if "code" in vars(cls):
        assert status_of(cls()) == API_STATUSES[cls.code]
    else:  # a family without a code of its own is never raised: it has members, answered as it is
        members = [member for member in descendants(cls) if "code" in vars(member)]
        assert members
        as_itself = cls.__new__(cls)  # never raised (its __init__ refuses): only its class is answered
        assert {status_of(member()) for member in members} == {status_of(as_itself)}


@pytest.mark.parametrize("cls", list(STATUS), ids=lambda c: c.__name__)
def test_no_row_says_what_a_family_row_already_says(cls: type[EntryError]) -> None:
    inherited = next((STATUS[base] for base in cls.__mro__[1:] if base in STATUS), None)
    assert inherited != STATUS[cls]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (404, "NOT_FOUND"),
        (405, "METHOD_NOT_ALLOWED"),
        (413, "PAYLOAD_TOO_LARGE"),
        (400, "BAD_REQUEST"),
        (415, "BAD_REQUEST"),
        (500, "INTERNAL"),
    ],
)
def test_werkzeugs_own_refusals_are_named_by_their_errors_codes(status: int, code: str) -> None:
    assert code_of_status(status) == code


def test_a_family_of_errors_cannot_be_raised_itself_only_its_members() -> None:
    from entrycore import errors  # noqa: PLC0415 - the module under test, read whole

    for family in (errors.Invalid, errors.NotFound, errors.Conflict, errors.FieldRefused, errors.GateFailed):
        with pytest.raises(TypeError, match="family"):
            family()
    assert errors.CampaignNotFound().code == "CAMPAIGN_NOT_FOUND"
    assert errors.InvalidField.of("email", "bad").payload
