"""Operations routes (API.md §5): heartbeat, metrics and the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app

from adapters_http.metrics import CONTENT_TYPE, exposition
from adapters_http.server.context import config, json_response, services
from adapters_http.server.openapi import document
from adapters_http.server.routes_page import is_page
from entrycore.errors import DependencyUnavailable
from entrycore.timefmt import iso

ops = Blueprint("ops", __name__)


@ops.get("/heartbeat")
def heartbeat() -> Any:
    """API.md §5: 200 ok; 200 degraded naming ``datastoreWrites`` while the datastore reads but cannot take writes
    (disk full or read-only, SPEC OPS-007); 503 degraded naming ``datastore`` when it cannot be read. Cheap: a
    ping and a look at the data folder, no write."""
    svc = services()
    answer = {"status": "ok", "version": config().version, "timestamp": iso(svc.clock.now())}
    try:
        svc.ping()
    except DependencyUnavailable as failed:
        return json_response({**answer, "status": "degraded", "failing": {"datastore": failed.message}}, 503)
    writes = svc.write_failure()
    if writes is not None:
        return json_response({**answer, "status": "degraded", "failing": {"datastoreWrites": writes}})
    return json_response(answer)


@ops.get("/metrics")
def metrics() -> Any:
    """Prometheus text (API.md §5): every worker's requests, registrations, dependency calls and deliveries, and
    the outbox gauges."""
    return Response(exposition(services().overview.outbox_gauges), mimetype=None, content_type=CONTENT_TYPE)


@ops.get("/openapi.json")
def openapi() -> Any:
    routes = [
        (rule.rule, rule.endpoint, rule.methods or ())
        for rule in current_app.url_map.iter_rules()
        if not is_page(rule.endpoint)  # the admin page's static files are not operations (API.md)
    ]
    return json_response(document(config().version, routes))
