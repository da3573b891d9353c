"""The Flask app factory: wires blueprints, the error envelope, correlation ids and CORS."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from typing import Any

import attrs
from flask import Flask, Response, current_app
from werkzeug.exceptions import HTTPException

from adapters_http.server.auth import TokenVerifier
from adapters_http.server.errors import envelope, status_of
from entrycore.errors import EntryError
from entrycore.ports import Clock, Outbox
from entrycore.usecases.invites import Invites
from entrycore.usecases.phones import PhoneConfirmations
from entrycore.usecases.refresh import ScoreRefresher
from entrycore.usecases.registrations import Registrations

log = logging.getLogger("entry_service.http")
_CORRELATION = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
CORRELATION_KEY = "entry_service.correlation_id"
_HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "PAYLOAD_TOO_LARGE", 400: "BAD_REQUEST"}


@attrs.frozen
class AppServices:
    """What the HTTP layer drives: use cases, the token verifier and a datastore health check."""

    registrations: Registrations
    phones: PhoneConfirmations
    invites: Invites
    refresher: ScoreRefresher
    outbox: Outbox
    verifier: TokenVerifier
    clock: Clock
    ping: Callable[[], None]


@attrs.frozen
class HttpConfig:
    version: str = "0.0.0"
    fan_body_limit: int = 64 * 1024
    admin_body_limit: int = 16 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()


def create_app(services: AppServices, config: HttpConfig) -> Flask:
    """A Flask app serving API.md; reads no environment (the composition root configures it)."""
    from adapters_http.server.routes_admin import admin  # noqa: PLC0415 - blueprints import app helpers
    from adapters_http.server.routes_fan import fan  # noqa: PLC0415
    from adapters_http.server.routes_ops import ops  # noqa: PLC0415

    app = Flask(__name__, static_folder=None)
    # A JSON API answers, it does not redirect: with merge_slashes Werkzeug would answer ``/c1//entries``
    # with a 308 of its own; without it such a path is a 404 in the envelope.
    app.url_map.merge_slashes = False
    app.config["MAX_CONTENT_LENGTH"] = config.admin_body_limit
    app.extensions["entry_services"] = services
    app.extensions["entry_config"] = config
    app.register_blueprint(ops)
    app.register_blueprint(admin)
    app.register_blueprint(fan)

    app.wsgi_app = _Headers(app.wsgi_app, config.cors_origins)  # type: ignore[method-assign]

    @app.errorhandler(EntryError)
    def entry_error(error: EntryError) -> Response:
        status = status_of(error)
        if status >= 500:
            log.warning("request failed: %s %s", error.code, error.message)
        return json_response(envelope(status, error.code, error.message, error.payload), status)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        code = _HTTP_CODES.get(status, "INTERNAL" if status >= 500 else "BAD_REQUEST")
        response = json_response(envelope(status, code, error.description or code), status)
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return json_response(envelope(500, "INTERNAL", "Internal error."), 500)

    return app


class _Headers:
    """WSGI middleware: the correlation id (the caller's ``X-Correlation-Id`` when well formed, else a new
    one) in the environ for the logs and in every response; CORS headers for the configured origins.

    Plain WSGI rather than Flask hooks: these run on every request, and the hooks' request/``g`` proxies
    and header objects cost a GET about a tenth of its time."""

    def __init__(self, wsgi_app: Callable[..., Any], cors_origins: tuple[str, ...]) -> None:
        self._app = wsgi_app
        self._cors = frozenset(cors_origins)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        given = environ.get("HTTP_X_CORRELATION_ID", "")
        correlation = given if given and _CORRELATION.match(given) else os.urandom(16).hex()
        environ[CORRELATION_KEY] = correlation
        extra = [("X-Correlation-Id", correlation)]
        origin = environ.get("HTTP_ORIGIN")
        if origin and origin in self._cors:
            extra += [
                ("Access-Control-Allow-Origin", origin),
                ("Vary", "Origin"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Correlation-Id"),
                ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
                ("Access-Control-Expose-Headers", "X-Correlation-Id"),
            ]

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + extra, exc_info)

        return self._app(environ, respond)


def json_response(body: Any, status: int = 200) -> Response:
    """Every answer's JSON: what ``jsonify`` writes (compact, ASCII, keys in order), without the JSON
    provider's indirections (a tenth of a GET's time)."""
    return Response(json.dumps(body, separators=(",", ":")) + "\n", status=status, mimetype="application/json")


def services() -> AppServices:
    return current_app.extensions["entry_services"]  # type: ignore[no-any-return]


def config() -> HttpConfig:
    return current_app.extensions["entry_config"]  # type: ignore[no-any-return]
