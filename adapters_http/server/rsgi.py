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

Admin work has a lane of its own (SPEC OPS-005: admin bulk work never degrades fans). A request whose bearer token
claims ``isSupreme`` — read from the token's payload without verifying it, only to choose the lane; the app
verifies every token — never runs on the event loop nor on the fans' threads: it runs on ``admin_threads``
threads of its own (default 2 a worker), and its answer is sent as the app produces it, so an export streams
(at most ``STREAM_AHEAD`` chunks ahead of its client) and a client gone away frees its thread. Admins queue
behind admins; fans queue behind nobody (measured in benchmarks/fans_during_admin.py: 4 admin clients counting
eligibility at 1M entries gave fans a p99 of 18 s when those GETs ran on the event loop). The public routes of the
draws (``/{campaignId}/draws…``, no token) take the admin lane too: their files are large and served as stored.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import io
import json
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]

SMALL_BODY = 64 * 1024  # a fan route's whole limit
LARGE_BODIES = 4  # bodies above SMALL_BODY read at once per worker
INLINE_METHODS = frozenset({"GET", "HEAD"})  # run on the event loop thread (see above)
ADMIN_THREADS = 2  # per worker: admin requests in the app at once (more wait for one of them)
STREAM_AHEAD = 4  # chunks an admin answer (an export) may be ahead of its client
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
        admin_threads: int = ADMIN_THREADS,
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
        self._admin_pool = ThreadPoolExecutor(admin_threads, thread_name_prefix="admin")

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._large = asyncio.Semaphore(self._large_bodies)

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._pool.shutdown(wait=True)  # requests in flight are answered before the worker exits
        self._admin_pool.shutdown(wait=True)
        if self._on_stop is not None:  # then the worker's own stop: its relay's batch, its connections
            self._on_stop()

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return  # no websocket route: granian refuses the upgrade
        refusal = _over_limits(scope)
        if refusal is not None:
            _refuse(protocol, *refusal)
            return
        admin = _admin(scope.headers.get("authorization")) or _public_draw(scope.path)
        if scope.method in self.inline_methods and not admin:
            protocol.response_bytes(*self._call(_environ(scope, b"")))
            return
        body = b"" if scope.method in self.inline_methods else await self._read(scope, protocol)
        if body is None:
            return  # refused, or the client went away
        environ = _environ(scope, body)
        loop = asyncio.get_running_loop()
        if admin:
            await self._streamed(loop, protocol, environ)
            return
        status, response_headers, content = await loop.run_in_executor(self._pool, self._call, environ)
        protocol.response_bytes(status, response_headers, content)

    async def _read(self, scope: Any, protocol: Any) -> bytes | None:
        """The request's whole body, or None when it was refused here (408, 413) or the client went away."""
        length = _length(scope.headers.get("content-length"))
        if length is not None and length > self.max_body:
            return b""  # never read: the app answers 413 from Content-Length alone
        try:
            return await asyncio.wait_for(self._body(protocol, length), self.body_timeout)
        except TimeoutError:
            _refuse(protocol, 408, "REQUEST_TIMEOUT", f"The body did not arrive within {self.body_timeout:g} s.")
        except _TooLarge:
            _refuse(protocol, 413, "PAYLOAD_TOO_LARGE", f"The body is over {self.max_body} bytes.")
        except RuntimeError:  # granian's ProtocolClosed/ProtocolError: the client went away mid-body
            pass
        return None

    async def _streamed(self, loop: asyncio.AbstractEventLoop, protocol: Any, environ: dict[str, Any]) -> None:
        """An admin request: the app runs on one admin thread for the whole answer (the store's reads stay on that
        thread's connection), and a body without a Content-Length (an export) is sent as it comes, at most
        ``STREAM_AHEAD`` chunks ahead of the client; one with a Content-Length is sent whole, as ``_call`` does."""
        chunks: asyncio.Queue[Any] = asyncio.Queue(STREAM_AHEAD)
        gone = threading.Event()
        produced = loop.run_in_executor(self._admin_pool, self._produce, environ, loop, chunks, gone)
        try:
            head = await chunks.get()
            if isinstance(head, BaseException):
                raise head
            status, headers, whole = head
            if whole is not None:
                protocol.response_bytes(status, headers, whole)
                return
            transport = protocol.response_stream(status, headers)
            while (chunk := await chunks.get()) is not None:
                if isinstance(chunk, BaseException):
                    return  # the app failed mid-answer (it logged why): the answer ends short
                await transport.send_bytes(chunk)
        except RuntimeError:
            return  # granian's ProtocolClosed: the client went away
        finally:
            gone.set()
            while not chunks.empty():  # a producer waiting on a full queue sees ``gone`` and stops
                chunks.get_nowait()
            await produced

    def _produce(
        self,
        environ: dict[str, Any],
        loop: asyncio.AbstractEventLoop,
        chunks: asyncio.Queue[Any],
        gone: threading.Event,
    ) -> None:
        def put(item: Any) -> bool:
            """Hands ``item`` to the event loop, waiting while the queue is full; False once the client is gone."""
            handed = asyncio.run_coroutine_threadsafe(chunks.put(item), loop)
            while True:
                try:
                    handed.result(timeout=1)
                    return True
                except TimeoutError:
                    if gone.is_set():
                        handed.cancel()
                        return False

        try:
            answer, result = self._start(environ)
        except BaseException as exc:
            put(exc)
            return
        try:
            headers = answer["headers"]
            if any(name.lower() == "content-length" for name, _ in headers):
                put((answer["status"], headers, b"".join(result)))
                return
            if not put((answer["status"], headers, None)):
                return
            for chunk in result:
                if chunk and not put(chunk):
                    return
            put(None)
        except Exception as exc:
            put(exc)
        finally:
            _close(result)

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

    def _start(self, environ: dict[str, Any]) -> tuple[dict[str, Any], Iterable[bytes]]:
        """The app called on ``environ``: its body, and what it gave ``start_response`` (``status``, ``headers``;
        there once the app returned, or its body's first chunk was read)."""
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: Headers, exc_info: Any = None) -> Callable[[bytes], None]:
            answer["status"], answer["headers"] = int(status[:3]), headers
            return _no_write

        return answer, self.app(environ, start_response)

    def _call(self, environ: dict[str, Any]) -> tuple[int, Headers, bytes]:
        answer, result = self._start(environ)
        try:
            content = b"".join(result)
        finally:
            _close(result)
        return answer["status"], answer["headers"], content


def _close(result: Iterable[bytes]) -> None:
    """PEP 3333: the body's ``close()``, when it has one, once it was sent (or given up)."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


class _TooLarge(Exception):
    pass


def _no_write(data: bytes) -> None:
    raise RuntimeError("write() is not supported: return the body")


def _base64_fragments(text: bytes) -> tuple[str, ...]:
    """What ``text`` looks like inside base64url at each of its three possible alignments (only the characters
    it fully determines): a payload holding ``text`` holds one of them."""
    fragments = []
    for shift in range(3):  # ``text`` after ``shift`` bytes: its bits are [8 shift, 8 (shift + len)), a character's 6
        encoded = base64.urlsafe_b64encode(b"\0" * shift + text).decode()
        fragments.append(encoded[-(-8 * shift // 6) : 8 * (shift + len(text)) // 6])
    return tuple(fragments)


_SUPREME_FRAGMENTS = _base64_fragments(b'"isSupreme"')


def _admin(authorization: str | None) -> bool:
    """Whether a request's bearer token claims ``isSupreme`` (its payload read, not verified: this only picks the
    admin lane; a forged claim gets a fan the admins' queue and then the app's 401). A payload without the claim's
    name in any base64 alignment (every fan's) is not decoded: 0.8 µs instead of 4.9 µs a request. A claim name
    written with JSON escapes puts an admin in the fans' lane, no further."""
    if not authorization or len(authorization) > 8192:
        return False
    token = authorization[7:] if authorization[:7].lower() == "bearer " else ""
    parts = token.split(".")
    if len(parts) != 3 or not any(fragment in parts[1] for fragment in _SUPREME_FRAGMENTS):
        return False  # no "isSupreme" in the payload (a fan's token): answered without decoding it
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, binascii.Error):
        return False
    return isinstance(claims, dict) and claims.get("isSupreme") is True


def _public_draw(path: str) -> bool:
    """Whether a request reads a draw's public routes (SPEC DRW-006): its files may be a million lines long, and at
    a reveal every fan may ask at once — served on the admin lane, streamed, never on the fans' threads."""
    return "/draws" in path


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
