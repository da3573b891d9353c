"""The OpenAPI 3.1 document of the routes the app serves (``GET /openapi.json``).

The paths come from the app's URL map, so a route is documented if and only if it exists; each endpoint's
metadata (``operations.OPERATIONS``) names who may call it, its request body — the attrs class the route
structures the body with, turned into a schema (``schemas.schema_of``), so validation and document cannot
disagree — its query parameters and its answers. A test checks that every endpoint has its metadata.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from adapters_http.server.openapi.operations import OPERATIONS, Operation
from adapters_http.server.openapi.schemas import CRITERIA, SCHEMAS, Schema, ref, schema_of

__all__ = ["CRITERIA", "OPERATIONS", "Operation", "document", "schema_of"]

_PARAMETER = re.compile(r"<(?:(?P<converter>[^:<>]+):)?(?P<name>\w+)>")
# The error answers each kind of route may give, all in the envelope (API.md §2): 409 PHONE_ALREADY_CONFIRMED and
# 429 TOO_MANY_ATTEMPTS are the fan's; 413 a body past its limit; 503 a datastore or dependency unavailable; on
# every route, 414 URI_TOO_LONG and 431 HEADERS_TOO_LARGE (a URL or header block over its limit, checked first).
_ERRORS = {
    "public": (405, 414, 431),
    "fan": (400, 401, 403, 404, 405, 409, 413, 414, 429, 431, 503),
    "supreme": (400, 401, 403, 404, 405, 413, 414, 431, 503),
}


def _path(rule: str) -> tuple[str, list[Schema]]:
    parameters = []
    for match in _PARAMETER.finditer(rule):
        schema: Schema = {"type": "string"}
        converter = match["converter"] or ""
        if converter.startswith("any("):  # the words the rule takes, e.g. any(a, b)
            schema["enum"] = [word.strip() for word in converter[4:-1].split(",")]
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return _PARAMETER.sub(lambda m: "{" + m["name"] + "}", rule), parameters


def _refine(schema: Schema, path: str, extra: Schema) -> None:
    """Adds ``extra`` to the schema at ``path``: property names, and ``[]`` for an array's items
    (``"[].date.start"``)."""
    *parents, last = path.split(".")
    for step in parents:
        schema = schema["items"] if step == "[]" else schema["properties"][step]
    if last == "[]":
        schema["items"] = {**schema["items"], **extra}
    else:
        schema["properties"][last] = {**schema["properties"][last], **extra}


def _json(schema: Schema) -> Schema:
    return {"application/json": {"schema": schema}}


def _operation(endpoint: str, method: str, path_parameters: list[Schema]) -> Schema:
    spec = OPERATIONS[endpoint]
    responses: dict[str, Any] = {
        str(status): {
            "description": "Success" if status < 400 else "Unavailable",
            "content": {spec.media if status < 400 else "application/json": {"schema": schema}},
        }
        for status, schema in spec.answers.items()
    }
    if "200" in responses:
        responses["200"]["content"].update({media: {"schema": schema} for media, schema in spec.alternatives.items()})
        if spec.headers:
            responses["200"]["headers"] = spec.headers
    for status in (*_ERRORS.get(spec.who, ()), *spec.errors):
        responses[str(status)] = {"description": "Error envelope (API.md §2)", "content": _json(ref("Error"))}
    operation: Schema = {
        "summary": spec.summary,
        "operationId": endpoint.replace(".", "_"),
        "parameters": [*path_parameters, *spec.query],
        "responses": responses,
    }
    if spec.body is not None:
        body = schema_of(spec.body)
        if spec.max_items is not None:
            body.update(minItems=1, maxItems=spec.max_items)
        for path, extra in spec.refine.items():
            _refine(body, path, extra)
        operation["requestBody"] = {"required": True, "content": _json(body)}
    if spec.who == "public":
        operation["security"] = []
    if spec.notes:
        operation["description"] = spec.notes
    if spec.who == "supreme":
        supreme = "Needs a bearer token with isSupreme (SPEC AUTH-002)."
        operation["description"] = f"{supreme} {spec.notes}" if spec.notes else supreme
        operation["x-supreme"] = True
    return operation


def document(version: str, routes: Iterable[tuple[str, str, Iterable[str]]]) -> Schema:
    """The document of ``routes``: ``(rule, endpoint, methods)`` of the app's URL map."""
    paths: dict[str, dict[str, Any]] = {}
    for rule, endpoint, methods in sorted(routes):
        path, parameters = _path(rule)
        for method in sorted(set(methods) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(endpoint, method, parameters)
    built: Schema = _openapi_31(
        {
            "openapi": "3.1.0",
            "info": {"title": "entry-service", "version": version},
            "paths": paths,
            "components": {
                "schemas": SCHEMAS,
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            },
            "security": [{"bearer": []}],
        }
    )
    return built


def _openapi_31(value: Any) -> Any:
    """The document in OpenAPI 3.1's JSON Schema (2020-12): the schemas above are written with 3.0's
    ``nullable`` and boolean ``exclusiveMaximum``, which 3.1 spells ``type: [t, "null"]`` and a number."""
    if isinstance(value, list):
        return [_openapi_31(item) for item in value]
    if not isinstance(value, dict):
        return value
    out = {key: _openapi_31(item) for key, item in value.items() if key != "nullable"}
    if value.get("nullable") is True:
        if "type" in out:
            out["type"] = [out["type"], "null"]
        else:
            out = {"anyOf": [out, {"type": "null"}]}
    if out.get("exclusiveMaximum") is True:
        out["exclusiveMaximum"] = out.pop("maximum")
    return out
