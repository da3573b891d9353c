"""One JSON-over-HTTP dependency: its timeouts (PUB-007), the caller's Authorization, and its failures."""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Self
from urllib.parse import quote

import httpx

from adapters_http.clients.breaker import CLOSED, Breaker
from adapters_http.clients.deadline import make_client, within
from adapters_http.metrics import observe_dependency
from entrycore.errors import DependencyUnavailable

log = logging.getLogger(__name__)

_SERVICE_STATE = {408, 429}  # 4xx answers that speak of the service's state, not of the request
# A bigger answer is a broken dependency, not a campaign list; reading it would only eat memory.
MAX_ANSWER_BYTES = 16 * 1024 * 1024


def http_timeout(total: float) -> httpx.Timeout:
    """The timeouts of every call to another service: ``total`` seconds, connect at most 1 s (PUB-007)."""
    return httpx.Timeout(total, connect=min(1.0, total))


def path_segment(value: str) -> str:
    """``value`` encoded as one URL path segment ("/" and the dot segments "." and ".." included)."""
    encoded = quote(value, safe="")
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


class JsonService:
    """GETs (or POSTs for) JSON documents from another service (``name`` for messages) under ``base_url``.

    Every failure (transport error, timeout, unexpected status, an answer that is not JSON) raises
    DependencyUnavailable naming the service; no httpx exception escapes. The details, which may
    name internal hosts, go to the log, not into the message fans may see. The whole call (connect,
    send, headers, body) ends within ``timeout`` seconds (deadline.py), so a server trickling bytes
    cannot hold the caller past it; an injected client keeps that bound only if made by
    ``deadline.make_client``.
    Calls go through the dependency's circuit breaker (breaker.py): after repeated failures it is
    skipped at once for a while.
    """

    def __init__(
        self,
        name: str,
        base_url: str,
        timeout: float = 3.0,
        client: httpx.Client | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        self.name = name
        self.breaker = breaker if breaker is not None else Breaker(name)
        self._base = checked_base(name, base_url)
        self._total = timeout
        self._timeout = http_timeout(timeout)
        self._owns_client = client is None
        self._client = client if client is not None else make_client(self._timeout)

    def get_json(self, path: str, authorization: str | None = None) -> Any | None:
        """The JSON value answered with 200 to ``GET base+path``, or None for a 404."""
        return self._call("GET", self._base + path, authorization, None, missing_ok=True)

    def post_json(self, path: str, value: Any, authorization: str | None = None) -> Any:
        """The JSON value answered with 200 to ``POST base+path`` with ``value`` as its JSON body; any
        other status (404 included) raises DependencyUnavailable like every other failure."""
        content = json.dumps(value, separators=(",", ":")).encode()
        return self._call("POST", self._base + path, authorization, content, missing_ok=False)

    def _call(self, method: str, url: str, authorization: str | None, content: bytes | None, missing_ok: bool) -> Any:
        """One call through the dependency's circuit: skipped at once while it is open (PUB-007). What counts
        against the circuit is the service's own state: no answer in time, a transport error, 5xx, 408, 429,
        a 200 that is not JSON. Another 4xx speaks of this one request (one fan's data or token) and does not;
        nor does an answer the client then finds malformed (it cost no time)."""
        ticket = self.breaker.admit()
        if ticket is None:
            observe_dependency(self.name, "skipped", 0.0)
            raise DependencyUnavailable(f"{self.name} is unavailable (circuit open).")
        failure: str | None = "no answer"  # until the call says otherwise; settled exactly once, below
        started = time.perf_counter()
        try:
            status, body = self._exchange(method, url, authorization, content)
            failure = f"HTTP {status}" if status >= 500 or status in _SERVICE_STATE else None
            if missing_ok and status == 404:
                return None
            if status != 200:
                raise self.unavailable(f"answered HTTP {status}", url)
            failure = "an answer that is not JSON"
            value = self._json(url, status, body)
            failure = None
            return value
        except DependencyUnavailable as exc:
            failure = failure and exc.message
            raise
        except BaseException as exc:  # never leave a probe out: the circuit would stay half-open for good
            failure = type(exc).__name__
            raise
        finally:
            outcome = "success" if failure is None else "failure"
            observe_dependency(self.name, outcome, time.perf_counter() - started)
            if failure is None:
                self.breaker.succeeded(ticket)
            else:
                self.breaker.failed(ticket, failure)

    def _exchange(
        self, method: str, url: str, authorization: str | None, content: bytes | None = None
    ) -> tuple[int, bytes]:
        """``(status, body)`` of one call, all of it under the total deadline; transport failures raise."""
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        if authorization is not None:
            headers["Authorization"] = authorization
        deadline = time.monotonic() + self._total
        try:
            with (
                within(self._total),
                self._client.stream(
                    method, url, content=content, headers=_encoded(headers), timeout=self._timeout
                ) as answer,
            ):
                body = bytearray()
                for chunk in answer.iter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise self.unavailable("answer too large", url)
                    if time.monotonic() > deadline:
                        raise self.unavailable("timed out", f"{url}: still arriving after {self._total} s")
                return answer.status_code, bytes(body)
        except httpx.TimeoutException as exc:
            raise self.unavailable("timed out", f"{url}: {type(exc).__name__}") from None
        except httpx.ConnectError as exc:
            raise self.unavailable("unreachable", f"{url}: {exc}") from None
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError) as exc:
            raise self.unavailable("failed", f"{url}: {type(exc).__name__}: {exc}") from None

    def _json(self, url: str, status: int, body: bytes) -> Any:
        """The JSON value of a 200 answer; DependencyUnavailable for another status or a body not JSON."""
        if status != 200:
            raise self.unavailable(f"answered HTTP {status}", url)
        try:
            return json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise self.unavailable("answered something that is not JSON", f"{url}: {exc}") from None

    def unavailable(self, reason: str, detail: str | None = None) -> DependencyUnavailable:
        """The error to raise when this service failed; logs ``detail`` (URL, library error)."""
        log.warning("%s %s: %s", self.name, reason, detail or self._base)
        return DependencyUnavailable(f"{self.name} is unavailable ({reason}).")

    def close(self) -> None:
        """Closes the HTTP client when this object made it (an injected client belongs to its owner)."""
        if self._owns_client:
            self._client.close()


class ServiceClient:
    """A client built on one JsonService (``self._service``): closing it, and using it as a context manager."""

    _service: JsonService

    def close(self) -> None:
        """Releases the HTTP connections (when the client was made here)."""
        self._service.close()

    def trusted(self) -> bool:
        """Whether the service's circuit is closed: while it is open or probed, fans do not wait for it."""
        return self._service.breaker.state == CLOSED

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def checked_base(name: str, base_url: str) -> str:
    try:
        url = httpx.URL(base_url)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{name} base URL {base_url!r} is invalid: {exc}") from None
    if url.scheme not in ("http", "https") or not url.host or url.query or url.fragment:
        raise ValueError(f"{name} base URL must be http(s)://host[:port][/path], not {base_url!r}")
    return str(url).rstrip("/")


def _encoded(headers: dict[str, str]) -> dict[bytes, bytes]:
    # httpx encodes str header values as ASCII and raises UnicodeEncodeError otherwise; send the
    # caller's bytes as received (WSGI decodes headers as latin-1) and let h11 judge them.
    return {key.encode("ascii"): value.encode("latin-1", errors="replace") for key, value in headers.items()}
