"""HttpxFraudCheck: Nudetect's fraud score for each entry write, over HTTP (SPEC PUB-003, API.md §6 ENTRY_FRAUD).

Our contract with Nudetect (``ENTRY_FRAUD=http(s)://…`` is the endpoint itself)::

    POST {url}
    Content-Type: application/json
    {
      "placement": "VerifiedFanSignUp" | "VerifiedFanEdit",   (create | update)
      "ip": "203.0.113.7" | null,                              (the fan's origin)
      "userAgent": "Mozilla/5.0 …" | null,
      "entry": {"campaignId", "userId", "email", "phone", "firstName", "lastName",
                "markets": ["nyc", …], "locale"}                (null where the entry has none)
    }

    200 {"score": 0 … 1000, …}   → FraudResult(score, "scored"); other keys are ignored

Anything else — a timeout, no connection, another status, a body that is not a JSON object, a
``score`` that is missing, not a number (a string, a boolean), not finite or out of range — raises
EnrichmentFailed: the entry is stored with fraud status ``unknown`` and a retry is queued, never a pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx

from adapters_http.clients.breaker import Breaker
from adapters_http.clients.service import JsonService, ServiceClient
from entrycore.errors import DependencyUnavailable, EnrichmentFailed
from entrycore.model import Entry, FraudResult

SERVICE = "Nudetect"
MAX_SCORE = 1000


class HttpxFraudCheck(ServiceClient):
    """FraudCheck on Nudetect: one POST per entry write (module docstring: the request and answer).

    ``timeout`` bounds the whole call (connect ≤ 1 s, the body read under the same deadline), so a slow
    Nudetect costs a fan at most about ``timeout`` seconds.
    """

    def __init__(
        self, url: str, timeout: float = 1.0, client: httpx.Client | None = None, breaker: Breaker | None = None
    ) -> None:
        self._service = JsonService(SERVICE, url, timeout, client, breaker)

    def check(self, entry: Entry, placement: str) -> FraudResult:
        """Nudetect's score for ``entry`` at ``placement``; raises EnrichmentFailed when there is none."""
        try:
            answer = self._service.post_json("", request(entry, placement))
        except DependencyUnavailable as exc:
            raise EnrichmentFailed(exc.message) from None
        score = _score(answer)
        if score is None:
            shown = repr(answer.get("score"))[:50] if isinstance(answer, Mapping) else type(answer).__name__
            detail = f"entry {entry.campaign_id}/{entry.user_id}: score {shown}"
            raise EnrichmentFailed(self._service.unavailable("malformed answer", detail).message)
        return FraudResult(score=score, status="scored")


def request(entry: Entry, placement: str) -> dict[str, Any]:
    """The JSON body Nudetect is asked with (module docstring)."""
    origin = entry.origin
    return {
        "placement": placement,
        "ip": origin.ip if origin else None,
        "userAgent": origin.user_agent if origin else None,
        "entry": {
            "campaignId": entry.campaign_id,
            "userId": entry.user_id,
            "email": entry.email,
            "phone": entry.phone,
            "firstName": entry.first_name,
            "lastName": entry.last_name,
            "markets": list(entry.markets),
            "locale": entry.locale,
        },
    }


def _score(answer: Any) -> float | None:
    """The answer's valid ``score``, or None."""
    value = answer.get("score") if isinstance(answer, Mapping) else None
    # bool is an int in Python, and a JSON true is no score; Python's json reads NaN and Infinity, which
    # fail the range check (NaN compares false), as a huge integer does before any float conversion.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_SCORE:
        return None
    return float(value)
