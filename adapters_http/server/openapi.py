"""The OpenAPI 3 document of every route of API.md (``GET /openapi.json``)."""

from __future__ import annotations

from typing import Any

# (path template, method, summary, who may call: "public" | "fan" | "supreme")
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("/{campaignId}/entries", "get", "The caller's entry (fan view)", "fan"),
    ("/{campaignId}/entries", "post", "Create or update the caller's entry", "fan"),
    ("/{campaignId}/entries/registrationEligibility", "get", "May the caller register?", "fan"),
    ("/{campaignId}/entries/confirm", "post", "Confirm the entry's phone with a phone token", "fan"),
    ("/users/{userId}/entries", "get", "A fan's entries across campaigns (self or supreme)", "fan"),
    ("/campaigns", "get", "Campaigns of the campaign source", "supreme"),
    ("/{campaignId}/entries/counts", "get", "Registration counts per market and rank", "supreme"),
    ("/{campaignId}/entries/timeline", "get", "Registrations over time", "supreme"),
    (
        "/{campaignId}/entries/{filterType}",
        "get",
        "Entries by filter (winners, codeless, blocked, verified)",
        "supreme",
    ),
    ("/{campaignId}/entries/transfer", "post", "Move entries from one market to another", "supreme"),
    ("/{campaignId}/entries/scoring", "post", "Upload scoring records", "supreme"),
    ("/{campaignId}/entries/scoring", "get", "Eligible fan list", "supreme"),
    ("/{campaignId}/entries/eligibility", "get", "Eligibility counts", "supreme"),
    ("/{campaignId}/scoring/tags", "post", "Tag scoring records", "supreme"),
    ("/{campaignId}/scoring/flipVerdicts", "post", "Set verdicts by tag", "supreme"),
    ("/{campaignId}/entries/codes", "post", "Assign codes", "supreme"),
    ("/{campaignId}/entries/verdicts", "post", "Block or unblock entries", "supreme"),
    ("/{campaignId}/invites", "post", "Add invites", "supreme"),
    ("/outbox", "get", "Outbox backlog", "supreme"),
    ("/users/{userId}/optout", "post", "Opt a fan out", "supreme"),
    ("/users/{userId}", "delete", "Delete a fan's entries and scoring records", "supreme"),
    ("/v2/entries", "post", "Batch save or delete entries", "supreme"),
    ("/v2/refreshScores", "post", "Queue score refreshes", "supreme"),
    ("/heartbeat", "get", "Liveness and datastore health", "public"),
    ("/metrics", "get", "Prometheus metrics", "public"),
    ("/openapi.json", "get", "This document", "public"),
)

_ERROR = {
    "type": "object",
    "required": ["status", "code", "message", "payload"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "payload": {"type": "object"},
    },
}


def _operation(path: str, method: str, summary: str, who: str) -> dict[str, Any]:
    params = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in ("campaignId", "userId", "filterType")
        if "{" + name + "}" in path
    ]
    error = {
        "description": "Error envelope",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    operation: dict[str, Any] = {
        "summary": summary,
        "operationId": f"{method}_{path.strip('/').replace('/', '_').replace('{', '').replace('}', '') or 'root'}",
        "parameters": params,
        "responses": {
            "200": {"description": "Success", "content": {"application/json": {"schema": {"type": "object"}}}}
        },
    }
    if method == "post" and path == "/{campaignId}/entries":
        operation["responses"]["201"] = {
            "description": "Created",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    if method == "post":
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": {}}}}
    if who == "public":
        operation["security"] = []
    else:
        operation["responses"].update({"400": error, "401": error, "403": error, "404": error})
    if who == "supreme":
        operation["description"] = "Needs a bearer token with isSupreme."
    return operation


def document(version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for path, method, summary, who in ROUTES:
        paths.setdefault(path, {})[method] = _operation(path, method, summary, who)
    return {
        "openapi": "3.0.3",
        "info": {"title": "entry-service", "version": version},
        "paths": paths,
        "components": {
            "schemas": {"Error": _ERROR},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }
