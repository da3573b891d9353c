"""What the app factory, the routes and the request helpers share: the wired services, the HTTP
configuration, and the one JSON writer. Imports no route, so the factory sits on top and the routes below it."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
from flask import Response, current_app

from adapters_http.server.auth import TokenVerifier
from entrycore.ports import CampaignSource, Clock, Outbox
from entrycore.usecases.batch import Replication
from entrycore.usecases.invites import Invites
from entrycore.usecases.phones import PhoneConfirmations
from entrycore.usecases.privacy import Privacy
from entrycore.usecases.refresh import ScoreRefresher
from entrycore.usecases.registrations import Registrations
from entrycore.usecases.scoring import Scoring
from entrycore.usecases.selection import Selection
from entrycore.usecases.transfers import Transfers

CORRELATION_KEY = "entry_service.correlation_id"  # where the WSGI middleware keeps a request's correlation id


@attrs.frozen
class AppServices:
    """What the HTTP layer drives: use cases, the token verifier and the datastore's health checks (``ping``:
    it answers; ``write_failure``: why it cannot take writes now, or None)."""

    registrations: Registrations
    campaigns: CampaignSource  # for the views (the campaign's name, share domain) and the admin page
    phones: PhoneConfirmations
    invites: Invites
    refresher: ScoreRefresher
    scoring: Scoring
    selection: Selection
    privacy: Privacy
    transfers: Transfers
    replication: Replication
    outbox: Outbox
    verifier: TokenVerifier
    clock: Clock
    ping: Callable[[], None]
    write_failure: Callable[[], str | None] = lambda: None  # why writes cannot happen while reads do (OPS-007)


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
