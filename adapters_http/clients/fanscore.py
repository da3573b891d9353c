"""HttpxFanscoreSource: the fan's account fanscore from a GraphQL endpoint (SPEC PUB-004, ENTRY_FANSCORE=http…).

Our contract with the fanscore service (``ENTRY_FANSCORE=http(s)://…`` is the GraphQL endpoint)::

    POST {url}
    Content-Type: application/json
    Authorization: <the fan's, forwarded as received, when there is one>
    {"query": "query AccountFanscore($userId: ID!) { accountFanscore(userId: $userId) { rawScore } }",
     "variables": {"userId": "<user id>"}}

    200 {"data": {"accountFanscore": {"rawScore": 0.87}}}   → 0.87
    200 {"data": {"accountFanscore": null}}                 → None (the account has no fanscore; no retry)

Anything else — a timeout, no connection, another status, a body that is not JSON, an ``errors`` member
(even beside data), a missing ``data``/``accountFanscore``, a ``rawScore`` that is not a finite number —
raises EnrichmentFailed: the entry is stored with a null fanscore and a retry is queued.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import httpx

from adapters_http.clients.breaker import Breaker
from adapters_http.clients.service import JsonService, ServiceClient
from entrycore.errors import DependencyUnavailable, EnrichmentFailed
from entrycore.model import UserAccount

SERVICE = "fanscore service"
QUERY = "query AccountFanscore($userId: ID!) { accountFanscore(userId: $userId) { rawScore } }"


class _Malformed(Exception):
    """The answer does not have the shape of the module docstring."""


class HttpxFanscoreSource(ServiceClient):
    """FanscoreSource on a GraphQL endpoint: one ``accountFanscore`` query per entry write, with the fan's
    Authorization (module docstring: the request and answer). ``timeout`` bounds the call like every
    client of another service (connect ≤ 1 s, the body read under the same deadline)."""

    def __init__(
        self, url: str, timeout: float = 1.0, client: httpx.Client | None = None, breaker: Breaker | None = None
    ) -> None:
        self._service = JsonService(SERVICE, url, timeout, client, breaker)

    def fanscore(self, user_id: str, authorization: str | None, account: UserAccount | None = None) -> float | None:
        """The account's raw fanscore, or None when it has none; ``account`` is not used (the GraphQL
        service, not the account document, is the source here). Raises EnrichmentFailed on failure."""
        body = {"query": QUERY, "variables": {"userId": user_id}}
        try:
            answer = self._service.post_json("", body, authorization)
        except DependencyUnavailable as exc:
            raise EnrichmentFailed(exc.message) from None
        try:
            return _raw_score(answer)
        except _Malformed as exc:
            failure = self._service.unavailable("malformed answer", f"user {user_id!r}: {exc}")
            raise EnrichmentFailed(failure.message) from None


def _raw_score(answer: Any) -> float | None:
    if not isinstance(answer, Mapping):
        raise _Malformed("not an object")
    if "errors" in answer:  # GraphQL puts errors beside (possibly partial) data: never trust that data
        raise _Malformed(f"errors {str(answer['errors'])[:200]}")
    data = answer.get("data")
    if not isinstance(data, Mapping) or "accountFanscore" not in data:
        raise _Malformed("no data.accountFanscore")
    fanscore = data["accountFanscore"]
    if fanscore is None:
        return None
    raw = fanscore.get("rawScore") if isinstance(fanscore, Mapping) else None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise _Malformed(f"rawScore {raw!r}")
    try:
        score = float(raw)
    except OverflowError:  # an integer too big for a float
        raise _Malformed("rawScore out of range") from None
    if not math.isfinite(score):
        raise _Malformed(f"rawScore {raw!r}")
    return score
