"""Admin routes (API.md §4), supreme callers only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from adapters_http.server.bodies import MAX_INVITES, MAX_REFRESH, InvitesBody, OptOutBody, RefreshBody
from adapters_http.server.context import json_response, services
from adapters_http.server.requests import admin_batch, admin_body, caller
from entrycore.outbox import RetryRequest
from entrycore.timefmt import iso

admin = Blueprint("admin", __name__)


@admin.get("/campaigns")
def campaigns() -> Any:
    who = caller()
    who.require_supreme()
    found = services().campaigns.list(who.authorization)
    return json_response({"campaigns": [{"id": c.id, "name": c.name, "status": c.status} for c in found]})


@admin.post("/<campaignId>/invites")
def add_invites(campaignId: str) -> Any:
    who, _, invites = admin_batch(InvitesBody, "invites", MAX_INVITES)
    return json_response({"added": services().invites.add(who, campaignId, invites)})


@admin.post("/v2/refreshScores")
def refresh_scores() -> Any:
    who, _, entries = admin_batch(RefreshBody, "entries", MAX_REFRESH)
    requests = [RetryRequest(e.campaignId, e.userId) for e in entries]
    return json_response({"queued": services().refresher.queue_refresh(who, requests)})


@admin.get("/outbox")
def outbox() -> Any:
    who = caller()
    who.require_supreme()
    status = services().outbox.outbox_status()
    return json_response(
        {
            "backlog": status["backlog"],
            "lastDeliveredAt": iso(status["lastDeliveredAt"]),
            "oldestPendingAt": iso(status["oldestPendingAt"]),
            "deadLetters": status["deadLetters"],
            "oldestDeadLetterAt": iso(status["oldestDeadLetterAt"]),
        }
    )


@admin.post("/users/<userId>/optout")
def opt_out(userId: str) -> Any:
    who, body = admin_body(OptOutBody)
    return json_response({"modified": services().privacy.opt_out(who, userId, body.type)})
