"""API.md §2's order on every admin route: token (401) → body size (413) → role (403) → shape (400) → campaign (404),
whether the edge (a route that reads its query or body first) or the use case answers the role."""

from __future__ import annotations

from typing import Any

import pytest

from tests.http_app import Api
from tests.integration.test_http_entries import assert_error

# (method, path, raw body, headers): each is a bad query or body for an admin, or an unknown campaign
BAD_READS = [
    ("GET", "/c1/entries/winners?limit=0", None, {}),
    ("GET", "/c1/entries/timeline?bucket=week", None, {}),
    ("GET", "/c1/entries/scoring?minScore=x", None, {}),
    ("GET", "/c1/entries/scoring?limit=5", None, {"Accept": "text/csv"}),
    ("GET", "/c1/entries/eligibility?minScore=x", None, {}),
    ("GET", "/nope/entries/counts", None, {}),
    ("GET", "/nope/entries/winners", None, {}),
    ("DELETE", "/users/u9", None, {}),
    ("GET", "/campaigns", None, {}),
    ("GET", "/outbox", None, {}),
]
BAD_WRITES = [
    ("POST", path, b"{not json", {})
    for path in (
        "/c1/entries/codes",
        "/c1/entries/verdicts",
        "/c1/entries/transfer",
        "/c1/entries/scoring",
        "/c1/scoring/tags",
        "/c1/scoring/flipVerdicts",
        "/c1/invites",
        "/v2/entries",
        "/v2/refreshScores",
        "/users/u1/optout",
    )
]
ROUTES = BAD_READS + BAD_WRITES


def _call(api: Api, route: tuple[str, str, bytes | None, dict[str, str]], **who: Any) -> Any:
    method, path, raw, headers = route
    return api.call(method, path, raw=raw, headers={**headers, "Content-Type": "application/json"}, **who)


@pytest.mark.parametrize("route", ROUTES, ids=[f"{m} {p}" for m, p, _, _ in ROUTES])
def test_no_token_is_401_then_a_fan_is_403_before_the_query_or_body_is_judged(
    api: Api, route: tuple[str, str, bytes | None, dict[str, str]]
) -> None:
    assert_error(_call(api, route, user=None), 401, "UNAUTHORIZED")
    assert_error(_call(api, route, user="u1"), 403, "FORBIDDEN")
    answer = _call(api, route, user="admin-1", supreme=True)
    assert answer.status_code in (200, 400, 404), answer.get_json()


@pytest.mark.parametrize("path", ["/c1/entries/codes", "/c1/scoring/tags", "/v2/entries"])
def test_a_body_over_the_admin_limit_is_413_before_the_role(api: Api, path: str) -> None:
    limit = api.client.application.extensions["entry_config"].admin_body_limit
    answer = api.call("POST", path, user="u1", raw=b"[" + b" " * limit + b"]")
    assert_error(answer, 413, "PAYLOAD_TOO_LARGE")
