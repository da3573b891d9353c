"""What the app factory, the routes and the request helpers share: the wired services, the HTTP
configuration, and the one JSON writer. Imports no route, so the factory sits on top and the routes below it."""

from __future__ import annotations

import json
from typing import Any, Protocol

import attrs
from flask import Response, current_app

from adapters_http.server.auth import TokenVerifier
from entrycore.ports import Clock
from entrycore.usecases.batch import Replication
from entrycore.usecases.draws import Draws
from entrycore.usecases.invites import Invites
from entrycore.usecases.overview import Overview
from entrycore.usecases.phones import PhoneConfirmations
from entrycore.usecases.privacy import Privacy
from entrycore.usecases.refresh import ScoreRefresher
from entrycore.usecases.registrations import Registrations
from entrycore.usecases.scoring import Scoring
from entrycore.usecases.selection import Selection
from entrycore.usecases.transfers import Transfers

CORRELATION_KEY = "entry_service.correlation_id"  # where the WSGI middleware keeps a request's correlation id


class AppServices(Protocol):
    """What the HTTP layer drives — the part of the composition root's services (``entry_service.bootstrap.
    Services``) that the routes use: use cases (never a port: the use cases own the rules), the token verifier, the
    clock of the heartbeat and the datastore's health checks (``ping``: it answers; ``write_failure``: why it cannot
    take writes now, or None, SPEC OPS-007)."""

    @property
    def registrations(self) -> Registrations: ...
    @property
    def phones(self) -> PhoneConfirmations: ...
    @property
    def invites(self) -> Invites: ...
    @property
    def refresher(self) -> ScoreRefresher: ...
    @property
    def scoring(self) -> Scoring: ...
    @property
    def selection(self) -> Selection: ...
    @property
    def privacy(self) -> Privacy: ...
    @property
    def transfers(self) -> Transfers: ...
    @property
    def replication(self) -> Replication: ...
    @property
    def overview(self) -> Overview: ...
    @property
    def draws(self) -> Draws: ...
    @property
    def verifier(self) -> TokenVerifier: ...
    @property
    def clock(self) -> Clock: ...
    def ping(self) -> None: ...
    def write_failure(self) -> str | None: ...


@attrs.frozen
class HttpConfig:
    version: str = "0.0.0"
    fan_body_limit: int = 64 * 1024
    admin_body_limit: int = 16 * 1024 * 1024
    cors_origins: tuple[str, ...] = ()


def json_response(body: Any, status: int = 200) -> Response:
    """Every answer's JSON: what ``jsonify`` writes (compact, ASCII, keys in order), without the JSON
    provider's indirections (a tenth of a GET's time)."""
    return Response(json.dumps(body, separators=(",", ":")) + "\n", status=status, mimetype="application/json")


def services() -> AppServices:
    return current_app.extensions["entry_services"]  # type: ignore[no-any-return]


def config() -> HttpConfig:
    return current_app.extensions["entry_config"]  # type: ignore[no-any-return]
