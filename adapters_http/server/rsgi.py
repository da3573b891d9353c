"""The WSGI app served over granian's RSGI interface, each request read whole before a thread runs it.

Why not granian's own WSGI interface: it hands the app a body stream read on the app's thread, so clients
that trickle their bodies hold every thread of a worker (measured: 200 such connections and ``/heartbeat``
timed out). Here the event loop of the worker (Rust underneath) reads headers and body, however slowly they
come, and only a complete request takes one of ``threads`` threads. Slow or idle clients cost a coroutine,
never a thread; headers have granian's read timeout, bodies ``body_timeout``.

Memory is bounded: a body is read up to ``max_body`` bytes (the largest any route takes; the app then
applies each route's own limit), and bodies larger than ``small_body`` are read ``large_bodies`` at a time.

Before anything else (route, token, body) a request is held to the limits of API.md §2: a URL over
``MAX_URL`` is 414 ``URI_TOO_LONG``, a header block over ``MAX_HEADER_BLOCK`` or with more than ``MAX_FIELDS``
fields 431 ``HEADERS_TOO_LARGE``, in the envelope. granian's own limits are above these (serve.py), so that
these requests reach this check instead of getting granian's empty answers; the few it still refuses itself
are in the README.

Requests without a body (GET, HEAD) run at once on the worker's event loop thread instead: the hop to a
thread and back cost a GET about a third of its throughput (measured: 3,700 against 5,700 req/s). The price: such
a request that waits on a remote dependency (user-service for registrationEligibility, campaign-service on
a cache miss, an unreachable MongoDB) holds the worker's other requests for that wait, which the client
timeouts and circuit breakers bound (PUB-007). With the embedded defaults (files, SQLite) no GET waits on
the network.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]

SMALL_BODY = 64 * 1024  # a fan route's whole limit
LARGE_BODIES = 4  # bodies above SMALL_BODY read at once per worker
INLINE_METHODS = frozenset({"GET", "HEAD"})  # run on the event loop thread (see above)
# API.md §2: the URL (path and query) and the header block (every field line, its CRLF included).
MAX_URL = 16 * 1024
MAX_HEADER_BLOCK = 64 * 1024
MAX_FIELDS = 100
# What a path keeps unencoded when measured as sent (RFC 3986 pchar and "/"): granian hands it over decoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


class RsgiBridge:
    """An RSGI application (granian) running the WSGI ``app`` on a pool of ``threads`` threads."""

    def __init__(
        self,
        app: WsgiApp,
        threads: int = 8,
        *,
        max_body: int = 16 * 1024 * 1024,
        body_timeout: float = 30.0,
        small_body: int = SMALL_BODY,
        large_bodies: int = LARGE_BODIES,
        inline_methods: frozenset[str] = INLINE_METHODS,
        on_stop: Callable[[], None] | None = None,
    ) -> None:
        self.app = app
        self._on_stop = on_stop
        self.inline_methods = inline_methods
        self.threads = threads
        self.max_body, self.body_timeout, self.small_body = max_body, body_timeout, small_body
        self._large_bodies = large_bodies
        self._large: asyncio.Semaphore | None = None
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="wsgi")

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._large = asyncio.Semaphore(self._large_bodies)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pool.shutdown(wait=True)  # requests in flight are answered before the worker exits
        if self._on_stop is not None:  # then the worker's own stop: its relay's batch, its connections
            self._on_stop()

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return  # no websocket route: granian refuses the upgrade
        refusal = _over_limits(scope)
        if refusal is not None:
            _refuse(protocol, *refusal)
            return
        if scope.method in self.inline_methods:
            protocol.response_bytes(*self._call(_environ(scope, b"")))
            return
        headers = scope.headers
        length = _length(headers.get("content-length"))
        if length is not None and length > self.max_body:
            body = b""  # never read: the app answers 413 from Content-Length alone
        else:
            try:
                body = await asyncio.wait_for(self._body(protocol, length), self.body_timeout)
            except TimeoutError:
                _refuse(protocol, 408, "REQUEST_TIMEOUT", f"The body did not arrive within {self.body_timeout:g} s.")
                return
            except _TooLarge:
                _refuse(protocol, 413, "PAYLOAD_TOO_LARGE", f"The body is over {self.max_body} bytes.")
                return
            except RuntimeError:  # granian's ProtocolClosed/ProtocolError: the client went away mid-body
                return
        environ = _environ(scope, body)
        loop = asyncio.get_running_loop()
        status, response_headers, content = await loop.run_in_executor(self._pool, self._call, environ)
        protocol.response_bytes(status, response_headers, content)

    async def _body(self, protocol: Any, length: int | None) -> bytes:
        if length is not None and length <= self.small_body:
            return bytes(await protocol())
        chunks: list[bytes] = []
        size = 0
        large = self._large
        assert large is not None  # __rsgi_init__ ran
        async with large:  # a large body (or one of unknown size) is read a few at a time
            async for chunk in protocol:
                size += len(chunk)
                if size > self.max_body:
                    raise _TooLarge
                chunks.append(chunk)
        return b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> tuple[int, Headers, bytes]:
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = int(status[:3]), headers
            return _no_write

        result = self.app(environ, start_response)
        try:
            content = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return answer["status"], answer["headers"], content


class _TooLarge(Exception):
    pass


def _no_write(data: bytes) -> None:
    raise RuntimeError("write() is not supported: return the body")


def _length(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        length = int(value)
    except ValueError:
        return None
    return length if length >= 0 else None


def _over_limits(scope: Any) -> tuple[int, str, str] | None:
    """The API.md §2 refusal of a request whose URL or header block is over its limit, or None.

    The path is measured percent-encoded as a client sends it at its shortest (granian gives it decoded;
    needless escapes are not counted), the query as sent; a header field counts as its line,
    ``name: value`` and CRLF."""
    path, query = scope.path, scope.query_string
    # Bounds from the lengths alone (a character is at most 4 UTF-8 bytes, an escape 3 of them), so that most
    # requests encode nothing here: _environ encodes the path and query once more for Werkzeug anyway.
    url = 12 * len(path) + 1 + 4 * len(query)
    if url > MAX_URL:
        url = len(quote(path.encode("utf-8", "surrogateescape"), safe=_PATH_SAFE)) + (
            1 + len(query.encode("utf-8", "surrogateescape")) if query else 0
        )
    if url > MAX_URL:
        return 414, "URI_TOO_LONG", f"The URL is {url} bytes long, over the {MAX_URL} allowed."
    fields = scope.headers.items()
    if len(fields) > MAX_FIELDS:
        return 431, "HEADERS_TOO_LARGE", f"The request has {len(fields)} header fields, over the {MAX_FIELDS} allowed."
    block = sum(len(name) + 4 * len(value) + 4 for name, value in fields)
    if block > MAX_HEADER_BLOCK:
        block = sum(len(name) + len(value.encode("utf-8", "surrogateescape")) + 4 for name, value in fields)
    if block > MAX_HEADER_BLOCK:
        return 431, "HEADERS_TOO_LARGE", f"The header block is {block} bytes, over the {MAX_HEADER_BLOCK} allowed."
    return None


def _environ(scope: Any, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of an RSGI HTTP scope (header names as WSGI servers give them)."""
    server_host, _, server_port = str(scope.server).rpartition(":")
    client_host = str(scope.client).rpartition(":")[0]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        # PEP 3333: the path's bytes as a latin-1 string (Werkzeug reads them back as UTF-8); granian gives the
        # percent-decoded text, so a non-ASCII id would otherwise be read twice decoded (U+FFFD).
        "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
        "QUERY_STRING": scope.query_string.encode("utf-8", "surrogateescape").decode("latin-1"),  # the same
        "SERVER_NAME": server_host,
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client_host.strip("[]"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,  # the whole body is here, chunked or not
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        environ[key] = f"{environ[key]}, {value}" if key in environ else value
    environ.setdefault("CONTENT_LENGTH", str(len(body)))  # a chunked body, now whole
    return environ


def _refuse(protocol: Any, status: int, code: str, message: str) -> None:
    """An answer in the API.md envelope, given before the app saw the request."""
    body = json.dumps({"status": status, "code": code, "message": message, "payload": {}}) + "\n"
    protocol.response_bytes(status, [("content-type", "application/json"), ("connection", "close")], body.encode())
