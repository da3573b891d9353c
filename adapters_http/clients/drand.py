"""HttpxDrandRelay: a beacon round's signature from a drand HTTP relay (``ENTRY_DRAND_URL``, SPEC DRW-002).

    GET {url}/{chainHash}/public/{round}
    200 {"round": 657413, "signature": "b713…", "randomness": "fc18…", …}   → the signature's bytes
    404 (or a relay's 425 Too Early)                                      → not published yet

The answer is not trusted: the use case verifies the signature against the chain's public key before using it, so
a relay can delay a reveal but never choose its outcome. Every call is bounded by the dependency timeout and goes
through the relay's circuit breaker (PUB-007) like every other dependency.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from adapters_http.clients.breaker import Breaker
from adapters_http.clients.service import JsonService, ServiceClient, path_segment
from entrycore.draws.beacon import Chain

SERVICE = "drand relay"


class HttpxDrandRelay(ServiceClient):
    """BeaconSource on a drand HTTP relay."""

    def __init__(
        self, url: str, timeout: float = 3.0, client: httpx.Client | None = None, breaker: Breaker | None = None
    ) -> None:
        self._service = JsonService(SERVICE, url, timeout, client, breaker)

    def signature(self, chain: Chain, round_number: int) -> bytes | None:
        answer = self._service.get_json(f"/{path_segment(chain.chain_hash)}/public/{round_number}")
        if answer is None:
            return None
        signature = answer.get("signature") if isinstance(answer, Mapping) else None
        if not isinstance(signature, str) or answer.get("round") != round_number:
            raise self._service.unavailable("malformed answer", f"round {round_number}: {str(answer)[:200]}")
        try:
            return bytes.fromhex(signature)
        except ValueError:
            raise self._service.unavailable("malformed answer", f"round {round_number}: signature not hex") from None
