"""Hostile input is refused at the door, in the envelope, and changes nothing: text that is not valid Unicode,
JSON nested too deep, odd spellings of the bearer scheme, paths Werkzeug would redirect (API.md §1, §2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.builders import VALID_FIELDS
from tests.http_app import Api, make_token
from tests.integration.test_http_entries import assert_error

SURROGATE = "\ud800"  # a lone UTF-16 surrogate: valid JSON ("\\ud800"), no UTF-8 form


def raw(body: Any) -> bytes:
    return json.dumps(body).encode()  # ensure_ascii: the surrogate travels as the JSON escape \ud800


def nothing_stored(api: Api) -> None:
    assert api.services.stores.entries.get("c1", "u1") is None
    assert api.services.outbox.outbox_status().backlog == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({**VALID_FIELDS, "first_name": SURROGATE}, "first_name"),
        ({**VALID_FIELDS, "first_name": "Ana" + SURROGATE}, "first_name"),
        ({**VALID_FIELDS, "email": SURROGATE + "@example.com"}, "email"),
        ({**VALID_FIELDS, "phone": "+1212555" + SURROGATE + "0123"}, "phone"),
    ],
)
def test_text_that_is_not_unicode_in_a_field_is_an_invalid_field_naming_it(
    api: Api, fields: dict[str, Any], field: str
) -> None:
    body = assert_error(api.call("POST", "/c1/entries", raw=raw({"fields": fields})), 400, "ENTRY_INVALID_FIELD")
    assert body["payload"] == {"field": field}
    nothing_stored(api)


def test_the_issue_request_is_refused_and_the_next_fan_is_published(api: Api, tmp_path: Path) -> None:
    hostile = {"fields": {**VALID_FIELDS, "first_name": SURROGATE}}
    assert_error(api.call("POST", "/c1/entries", raw=raw(hostile)), 400, "ENTRY_INVALID_FIELD")
    assert api.register(VALID_FIELDS, user="u2").status_code == 201
    assert api.services.relay.drain() == 2  # the event and receipt of u2
    assert api.services.outbox.outbox_status().backlog == 0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"fields": VALID_FIELDS, "locale": SURROGATE}, "$.locale"),
        ({"fields": VALID_FIELDS, "referralCode": "AB" + SURROGATE}, "$.referralCode"),
        ({"fields": VALID_FIELDS, "inviteCode": SURROGATE}, "$.inviteCode"),
        ({"fields": VALID_FIELDS, SURROGATE: 1}, "$.'\\ud800'"),
    ],
)
def test_text_that_is_not_unicode_elsewhere_in_a_body_is_a_bad_request_naming_its_path(
    api: Api, body: dict[str, Any], path: str
) -> None:
    answer = assert_error(api.call("POST", "/c1/entries", raw=raw(body)), 400, "BAD_REQUEST")
    assert [e["path"] for e in answer["payload"]["errors"]] == [path]
    nothing_stored(api)


def test_a_phone_token_or_admin_values_that_are_not_unicode_are_bad_requests(api: Api) -> None:
    api.register(VALID_FIELDS)
    confirm = api.call("POST", "/c1/entries/confirm", raw=raw({"phoneJwt": "x" + SURROGATE}))
    assert assert_error(confirm, 400, "BAD_REQUEST")["payload"]["errors"][0]["path"] == "$.phoneJwt"
    invites = api.call("POST", "/c1/invites", user="boss", supreme=True, raw=raw({"invites": ["ok", SURROGATE]}))
    assert assert_error(invites, 400, "BAD_REQUEST")["payload"]["errors"][0]["path"] == "$.invites[1]"


@pytest.mark.parametrize("depth", [33, 1_000, 30_000])
def test_json_nested_too_deep_is_a_bad_request(api: Api, depth: int) -> None:
    nested = b'{"fields": ' + b"[" * depth + b"]" * depth + b"}"
    body = assert_error(api.call("POST", "/c1/entries", raw=nested), 400, "BAD_REQUEST")
    assert body["payload"]["errors"][0]["message"] == "nested deeper than 32 levels"
    objects = min(depth, 10_000)
    deep_object = b'{"a":' * objects + b"1" + b"}" * objects
    assert_error(api.call("POST", "/c1/entries", raw=deep_object), 400, "BAD_REQUEST")
    nothing_stored(api)


def test_json_nested_past_the_interpreter_s_recursion_limit_is_a_bad_request(api: Api) -> None:
    deep = b'{"invites": ' + b"[" * 2_000_000 + b"]" * 2_000_000 + b"}"  # within the admin routes' 16 MiB
    assert_error(api.call("POST", "/c1/invites", user="boss", supreme=True, raw=deep), 400, "BAD_REQUEST")


def test_a_body_just_within_the_depth_limit_is_judged_by_its_shape(api: Api) -> None:
    nested = raw({"fields": VALID_FIELDS})[:-2] + b', "first_name": ' + b"[" * 30 + b"]" * 30 + b"}}"
    body = assert_error(api.call("POST", "/c1/entries", raw=nested), 400, "ENTRY_INVALID_FIELD")
    assert body["payload"] == {"field": "first_name"}


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "Bearer", "bEaReR"])
def test_the_bearer_scheme_is_case_insensitive(api: Api, scheme: str) -> None:
    headers = {"Authorization": f"{scheme} {make_token('u1')}"}
    assert api.call("POST", "/c1/entries", user=None, body={"fields": VALID_FIELDS}, headers=headers).status_code == 201


@pytest.mark.parametrize("header", ["Basic dTE6cHc=", "Bearer", "Bearer ", "Token abc", "bearer  "])
def test_other_schemes_or_no_token_are_unauthorized(api: Api, header: str) -> None:
    answer = api.call(
        "POST", "/c1/entries", user=None, body={"fields": VALID_FIELDS}, headers={"Authorization": header}
    )
    assert_error(answer, 401, "UNAUTHORIZED")
    nothing_stored(api)


def test_a_token_whose_subject_is_not_unicode_is_unauthorized(api: Api) -> None:
    token = make_token(SURROGATE)
    answer = api.call("GET", "/c1/entries", user=None, headers={"Authorization": f"Bearer {token}"})
    assert_error(answer, 401, "UNAUTHORIZED")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "//entries"),
        ("GET", "/c1//entries"),
        ("POST", "/c1//entries"),
        ("GET", "//c1/entries"),
        ("GET", "/c1/entries/"),
        ("GET", "/users//entries"),
        ("GET", "/%ED%A0%80/entries/confirm/x"),
    ],
)
def test_werkzeug_answers_in_the_envelope_and_never_redirects(api: Api, method: str, path: str) -> None:
    answer = api.call(method, path, body={"fields": VALID_FIELDS} if method == "POST" else None)
    assert_error(answer, 404, "NOT_FOUND")
    assert "Location" not in answer.headers
    nothing_stored(api)


def test_a_campaign_id_that_is_not_unicode_is_an_unknown_campaign(api: Api) -> None:
    answer = api.call("POST", "/%ED%A0%80/entries", body={"fields": VALID_FIELDS})
    assert_error(answer, 404, "CAMPAIGN_NOT_FOUND")
    nothing_stored(api)


@pytest.mark.parametrize("subject", ["evil\r\nX-Injected: 1", "tab\there", "nul\x00", "x" * 201, "\u2028"])
def test_a_token_subject_with_control_characters_or_too_long_is_unauthorized(api: Api, subject: str) -> None:
    answer = api.call("POST", "/c1/entries", user=None, body={"fields": VALID_FIELDS}, headers=bearer(subject))
    assert_error(answer, 401, "UNAUTHORIZED")
    nothing_stored(api)


def test_a_long_but_bounded_subject_is_a_user(api: Api) -> None:
    answer = api.call("POST", "/c1/entries", user=None, body={"fields": VALID_FIELDS}, headers=bearer("u" * 200))
    assert answer.status_code == 201


def bearer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(subject)}"}
