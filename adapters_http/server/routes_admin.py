"""Admin routes (API.md §4), supreme callers only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from adapters_http.server.app import services
from adapters_http.server.bodies import InvitesBody
from adapters_http.server.requests import body_as, caller, raw_body
from entrycore.errors import BadRequest, PayloadTooLarge

admin = Blueprint("admin", __name__)
MAX_INVITES = 10_000


@admin.get("/campaigns")
def campaigns() -> Any:
    who = caller()
    who.require_supreme()
    found = services().registrations.campaigns.list(who.authorization)
    return jsonify({"campaigns": [{"id": c.id, "name": c.name, "status": c.status} for c in found]})


@admin.post("/<campaignId>/invites")
def add_invites(campaignId: str) -> Any:
    who = caller()
    raw = raw_body(admin=True)
    who.require_supreme()
    body = body_as(InvitesBody, raw)
    if not body.invites:
        raise BadRequest.at([("$.invites", "must not be empty")])
    if len(body.invites) > MAX_INVITES:
        raise PayloadTooLarge(f"At most {MAX_INVITES} invites per request.")
    return jsonify({"added": services().invites.add(who, campaignId, body.invites)})
