"""The Flask app factory: wires blueprints, the error envelope, correlation ids and CORS."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, ValidationError

from adapters_http.metrics import observe_request
from adapters_http.server.context import CORRELATION_KEY, AppServices, HttpConfig, json_response
from adapters_http.server.errors import code_of_status, envelope, status_of
from adapters_http.server.routes_admin import admin
from adapters_http.server.routes_draws import draws
from adapters_http.server.routes_fan import fan
from adapters_http.server.routes_ops import ops
from adapters_http.server.routes_page import page
from adapters_http.server.routes_scoring import scoring
from adapters_http.server.routes_selection import selection
from entrycore.errors import EntryError

log = logging.getLogger("entry_service.http")
_CORRELATION = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# Campaign ids that are route prefixes (API.md §4): never read as a campaign, so that ``GET /v2/entries`` is the
# known route ``POST /v2/entries`` asked with another method (405), not campaign "v2"'s entry.
RESERVED_CAMPAIGN_IDS = frozenset(
    {"v2", "users", "campaigns", "outbox", "admin", "heartbeat", "metrics", "openapi.json"}
)


class CampaignId(BaseConverter):
    """``<campaign:campaignId>``: one path segment that is not a reserved campaign id. (Refused in ``to_python``:
    a regex with a look-ahead would take Werkzeug's matcher off its fast path, tripling the routing time of every
    request; the ``Allow`` of OPTIONS is computed by ``_App`` to match.)"""

    def to_python(self, value: str) -> str:
        if value in RESERVED_CAMPAIGN_IDS:
            raise ValidationError()
        return value


_RULE_PARAMETER = re.compile(r"<(?:[^:<>]+:)?(\w+)>")
_TEMPLATES: dict[str, str] = {}


_ROUTE_KEY = "entry_service.route"


class _App(Flask):
    """Flask, noting the matched route's rule in the WSGI environ for the metrics (no hook: a GET pays one proxy
    lookup and one dictionary write)."""

    def make_default_options_response(self) -> Response:
        """OPTIONS: ``Allow`` lists the methods the path really takes — each asked of the URL map, so a reserved
        campaign id never lends a campaign route's methods to a fixed route (``/v2/entries`` is POST only)."""
        adapter = request_ctx.url_adapter
        allowed = []
        if adapter is not None:
            for method in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                try:
                    adapter.match(method=method)
                except HTTPException:
                    continue
                allowed.append(method)
        if "GET" in allowed:
            allowed.append("HEAD")
        response = self.response_class()
        response.allow.update([*allowed, "OPTIONS"])
        return response

    def dispatch_request(self) -> Any:
        request = request_ctx.request  # one proxy lookup: this runs on every request
        if request.url_rule is not None:
            request.environ[_ROUTE_KEY] = request.url_rule.rule
        return super().dispatch_request()


def _route(environ: dict[str, Any]) -> str:
    """The route template of the request (``/{campaignId}/entries``), ``unmatched`` when no route took it: a
    bounded label, never the path itself."""
    rule = environ.get(_ROUTE_KEY)
    if rule is None:
        return "unmatched"
    template = _TEMPLATES.get(rule)
    if template is None:
        template = _TEMPLATES[rule] = _RULE_PARAMETER.sub(r"{\1}", rule)
    return template


def create_app(services: AppServices, config: HttpConfig) -> Flask:
    """A Flask app serving API.md; reads no environment (the composition root configures it)."""
    app = _App(__name__, static_folder=None)
    # A JSON API answers, it does not redirect: with merge_slashes Werkzeug would answer ``/c1//entries``
    # with a 308 of its own; without it such a path is a 404 in the envelope.
    app.url_map.merge_slashes = False
    app.url_map.converters["campaign"] = CampaignId  # before the blueprints: their rules use it
    app.config["MAX_CONTENT_LENGTH"] = config.admin_body_limit
    app.extensions["entry_services"] = services
    app.extensions["entry_config"] = config
    app.register_blueprint(ops)
    app.register_blueprint(admin)
    app.register_blueprint(scoring)
    app.register_blueprint(selection)
    app.register_blueprint(draws)
    app.register_blueprint(fan)
    app.register_blueprint(page)

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
        code = code_of_status(status)
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


def _public_read(environ: dict[str, Any]) -> bool:
    return environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS") and "/draws" in environ.get("PATH_INFO", "")


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
        if _public_read(environ):  # SPEC DRW-006: a draw's public routes, to every origin, errors included
            extra.append(("Access-Control-Allow-Origin", "*"))
        elif origin and origin in self._cors:
            extra += [
                ("Access-Control-Allow-Origin", origin),
                ("Vary", "Origin"),
                ("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Correlation-Id"),
                ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
                ("Access-Control-Expose-Headers", "X-Correlation-Id"),
            ]

        answered: list[str] = []

        def respond(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            answered.append(status)
            return start_response(status, headers + extra, exc_info)

        started = time.perf_counter()
        try:
            return self._app(environ, respond)
        finally:
            status = answered[-1].split(" ", 1)[0] if answered else "500"
            observe_request(_route(environ), environ.get("REQUEST_METHOD", ""), status, time.perf_counter() - started)
