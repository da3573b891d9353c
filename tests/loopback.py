"""LoopbackServer: a real HTTP server on 127.0.0.1, scripted per path (answers, slowness, failures)."""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import attrs


@attrs.frozen
class Received:
    """One request the server received; ``headers`` has lower-case names."""

    method: str
    path: str  # as sent, percent-encoding kept, without the query
    query: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@attrs.frozen
class Answer:
    """What the server sends: after ``delay`` seconds, the status and headers (one byte every ``head_drip``
    seconds when it is set), then the body, in ``drip_bytes``-sized pieces ``drip`` seconds apart when
    ``drip`` is set."""

    status: int = 200
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = attrs.field(factory=dict)
    delay: float = 0.0
    drip: float = 0.0
    drip_bytes: int = 1
    head_drip: float = 0.0


Handler = Callable[[Received], Answer]


def unused_url() -> str:
    """The URL of a loopback port nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class LoopbackServer:
    """A ThreadingHTTPServer on 127.0.0.1 (free port) in a background thread, scripted per path.

    ``with LoopbackServer() as server:`` (or ``start()``/``stop()``); ``server.url`` is its base URL.
    Script it with ``answer``/``json``/``fail``/``garbage``/``slow``/``handle``; unscripted paths
    answer 404. ``requests`` lists what it received. ``stop()`` ends every thread and socket, even
    while a handler sleeps or a client keeps a connection open.
    """

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _make_request_handler(self))
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        # A short poll interval: stop() waits for one, and tests stop a server each.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="loopback", daemon=True
        )

    # -- scripting ------------------------------------------------------------------------------

    def handle(self, path: str, handler: Handler, method: str = "GET") -> None:
        """Answers ``method path`` (path as sent, without query) with ``handler(request)``."""
        with self._lock:
            self._handlers[(method.upper(), path)] = handler

    def answer(self, path: str, answer: Answer, method: str = "GET") -> None:
        """Answers ``method path`` with ``answer`` every time."""
        self.handle(path, lambda _: answer, method)

    def json(self, path: str, value: Any, status: int = 200, method: str = "GET", delay: float = 0.0) -> None:
        """Answers with ``value`` as JSON."""
        self.answer(path, Answer(status=status, body=json.dumps(value).encode(), delay=delay), method)

    def fail(self, path: str, status: int = 500, method: str = "GET") -> None:
        """Answers with an error status and a JSON error body."""
        self.json(path, {"status": status, "message": "scripted failure"}, status=status, method=method)

    def garbage(self, path: str, body: bytes = b"<html>not json</html>", method: str = "GET") -> None:
        """Answers 200 with a body that is not JSON."""
        self.answer(path, Answer(body=body, content_type="text/html"), method)

    def slow(self, path: str, seconds: float, method: str = "GET") -> None:
        """Makes the already scripted ``method path`` wait ``seconds`` before answering."""
        with self._lock:
            inner = self._handlers.get((method.upper(), path), _not_found)
        self.handle(path, lambda request: attrs.evolve(inner(request), delay=seconds), method)

    # -- inspection -----------------------------------------------------------------------------

    @property
    def requests(self) -> list[Received]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def requests_to(self, path: str, method: str = "GET") -> list[Received]:
        return [r for r in self.requests if r.path == path and r.method == method.upper()]

    def hits(self, path: str, method: str = "GET") -> int:
        return len(self.requests_to(path, method))

    def forget_requests(self) -> None:
        with self._lock:
            self._received.clear()

    # -- life -----------------------------------------------------------------------------------

    def start(self) -> LoopbackServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a delay or drip
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        with self._lock:
            for conn in self._connections:  # unblocks handlers waiting on a kept-alive connection
                with contextlib.suppress(OSError):  # already closed by the client
                    conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()  # joins the handler threads (block_on_close)

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- called by the request handler ----------------------------------------------------------

    def _serve(self, request: Received) -> Answer:
        with self._lock:
            self._received.append(request)
            handler = self._handlers.get((request.method, request.path), _not_found)
        return handler(request)

    def _track(self, conn: socket.socket, open_: bool) -> None:
        with self._lock:
            (self._connections.add if open_ else self._connections.discard)(conn)

    def _pause(self, seconds: float) -> bool:
        """Sleeps; False when the server is stopping (the handler then gives up)."""
        return seconds <= 0 or not self._stopping.wait(seconds)


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # stop() joins every handler thread: no thread outlives a test
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], OSError):  # clients hanging up are part of the tests
            super().handle_error(request, client_address)


def _not_found(request: Received) -> Answer:
    return Answer(status=404, body=json.dumps({"status": 404, "message": f"no {request.path}"}).encode())


def _make_request_handler(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class RequestHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, like real services
        timeout = 10  # a client that connects and says nothing cannot hold a thread forever

        def setup(self) -> None:
            super().setup()
            server._track(self.connection, True)

        def finish(self) -> None:
            server._track(self.connection, False)
            super().finish()

        def _any(self) -> None:
            path, _, query = self.path.partition("?")
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {name.lower(): value for name, value in self.headers.items()}
            answer = server._serve(Received(self.command, path, query, headers, body))
            if not server._pause(answer.delay):
                self.close_connection = True
                return
            try:
                self._send(answer)
            except OSError:  # the client gave up (its timeout) and closed the connection
                self.close_connection = True

        def _send(self, answer: Answer) -> None:
            if answer.head_drip:
                if not self._drip_head(answer):
                    return
            else:
                self.send_response(answer.status)
                self.send_header("Content-Type", answer.content_type)
                self.send_header("Content-Length", str(len(answer.body)))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.end_headers()
            step = max(1, answer.drip_bytes) if answer.drip else len(answer.body) or 1
            for start in range(0, len(answer.body), step):
                if start and not server._pause(answer.drip):
                    self.close_connection = True
                    return
                self.wfile.write(answer.body[start : start + step])
                self.wfile.flush()

        def _drip_head(self, answer: Answer) -> bool:
            """Writes the status line and headers one byte at a time; False when the server is stopping."""
            headers = {"Content-Type": answer.content_type, "Content-Length": str(len(answer.body)), **answer.headers}
            lines = [f"HTTP/1.1 {answer.status} Scripted", *(f"{k}: {v}" for k, v in headers.items()), "", ""]
            for byte in "\r\n".join(lines).encode("latin-1"):
                if not server._pause(answer.head_drip):
                    self.close_connection = True
                    return False
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            return True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output quiet

    return RequestHandler
