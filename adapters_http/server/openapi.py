"""The OpenAPI 3.1 document of the routes the app serves (``GET /openapi.json``).

The paths come from the app's URL map, so a route is documented if and only if it exists; each endpoint's
metadata (``OPERATIONS``) names who may call it, its request body — the attrs class the route structures the
body with, turned into a schema here, so validation and document cannot disagree — its query parameters and
its answers. A test checks that every endpoint has its metadata.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from collections.abc import Iterable
from typing import Any, Union

import attrs

from adapters_http import scoring_csv
from adapters_http.server import bodies
from adapters_http.server.criteria import MAX_OFFSET
from entrycore import choices
from entrycore.choices import Bucket, FilterType, FlipMode, TagBy
from entrycore.eligibility import DEFAULT_LIMIT, MAX_LIMIT, MAX_RANKS, CriterionKind, criteria

Schema = dict[str, Any]
ERROR: Schema = {
    "type": "object",
    "required": ["status", "code", "message", "payload"],
    "properties": {
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "message": {"type": "string"},
        "payload": {"type": "object"},
    },
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(required: Iterable[str], nullable: Iterable[str] = (), **properties: Schema) -> Schema:
    """An object schema with exactly ``properties``; those named in ``nullable`` may also be null."""
    shown = {k: ({**v, "nullable": True} if k in nullable else v) for k, v in properties.items()}
    return {"type": "object", "required": list(required), "properties": shown, "additionalProperties": False}


STRING, INTEGER, NUMBER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "number"}, {"type": "boolean"}
TIME: Schema = {"type": "string", "format": "date-time"}
NON_EMPTY: Schema = {"type": "string", "minLength": 1, "pattern": "\\S"}  # not only spaces either
COUNT: Schema = {"type": "integer", "minimum": 0}
TAG_NAME: Schema = {**NON_EMPTY, "maxLength": 100}  # entrycore.scoring.MAX_TAG_NAME
FAILING: Schema = {"type": "object", "additionalProperties": STRING}  # the heartbeat's failing checks, each why
RANKS: Schema = {"type": "array", "items": COUNT, "minItems": MAX_RANKS, "maxItems": MAX_RANKS}
BY_MARKET: Schema = {"type": "array", "items": _object(["marketId", "counts"], marketId=STRING, counts=RANKS)}

# Answers of API.md §3 to §5, by name (components.schemas).
SCHEMAS: dict[str, Schema] = {
    "Error": ERROR,
    "Entry": {
        "type": "object",
        "description": "An entry: the fan view (API.md §3); the admin view adds referrer.userId, review, "
        "attributes, fraud, fanscore, origin and unrevealed codes.",
        "required": ["campaignId", "userId", "fields", "markets", "code", "phoneConfirmed", "codes"],
        "properties": {
            "campaignId": STRING,
            "userId": STRING,
            "fields": {"type": "object"},
            "markets": {"type": "array", "items": STRING, "maxItems": MAX_RANKS},
            "locale": {**STRING, "nullable": True},
            "code": STRING,
            "link": {**STRING, "nullable": True},
            "referrer": {"type": "object", "nullable": True},
            "phoneConfirmed": BOOLEAN,
            "needsPhoneConfirmation": BOOLEAN,
            "dateCreated": TIME,
            "dateUpdated": TIME,
            "datePhoneConfirmed": {**TIME, "nullable": True},
            "dateReceipt": {**TIME, "nullable": True},
            "presaleCode": {**STRING, "nullable": True},
            "codes": {"type": "array", "items": {"type": "object"}},
            "isNew": BOOLEAN,
            "review": {"type": "object", "nullable": True},
            "attributes": {"type": "object"},
            "fraud": {"type": "object", "nullable": True},
            "fanscore": {**NUMBER, "nullable": True},
            "origin": {"type": "object", "nullable": True},
        },
    },
    "ScoringRecord": _object(
        [
            *("userId", "campaignId", "name", "email", "phone", "score", "randomScore", "verdict", "locale"),
            *("marketIds", "codes", "tags"),
        ],
        ["email", "locale"],
        userId=STRING,
        campaignId=STRING,
        name=_object(["first", "last"], ["first", "last"], first=STRING, last=STRING),
        email=STRING,
        phone=STRING,
        score=NUMBER,
        randomScore={"type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": True},
        verdict=BOOLEAN,
        locale=STRING,
        marketIds={"type": "array", "items": STRING},
        codes={
            "type": "array",
            "items": _object(["code", "codeConfigId"], ["codeConfigId"], code=STRING, codeConfigId=STRING),
        },
        tags={"type": "object", "additionalProperties": BOOLEAN},
    ),
    "UploadSummary": _object(
        ["received", "matched", "inserted", "updated", "unmatched", "invalid", "rejected", "rejectedTruncated"],
        received=COUNT,
        matched=COUNT,
        inserted=COUNT,
        updated=COUNT,
        unmatched=COUNT,
        invalid=COUNT,
        rejected={
            "type": "array",
            "maxItems": 100,
            "items": _object(
                ["index", "reason"],
                index=COUNT,
                reason={
                    "type": "string",
                    "enum": ["INVALID_PHONE", "INVALID_SCORE", "INVALID_TAGS", "NO_CONFIRMED_ENTRY"],
                },
            ),
        },
        rejectedTruncated={**BOOLEAN, "description": "true when more rows were rejected than the list shows"},
    ),
    "EligibilityCounts": _object(
        ["total", "verified", "selected", "available", "byMarket"],
        total=COUNT,
        verified=COUNT,
        selected=COUNT,
        available=COUNT,
        byMarket=BY_MARKET,
    ),
    "RegistrationCounts": _object(["total", "confirmed", "byMarket"], total=COUNT, confirmed=COUNT, byMarket=BY_MARKET),
}

_LIST_OF = {
    "scoring": _object(
        ["list", "counts"],
        list={"type": "array", "items": _ref("ScoringRecord")},
        counts=_object(["total"], total=COUNT),
    ),
    "entries": _object(["entries", "total"], entries={"type": "array", "items": _ref("Entry")}, total=COUNT),
}


def _query(name: str, schema: Schema, description: str = "") -> Schema:
    parameter: Schema = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        parameter["description"] = description
    return parameter


_CRITERION_SCHEMAS: dict[CriterionKind, Schema] = {
    "markets": {"type": "string", "pattern": "^[^,]+(,[^,]+)*$"},
    "number": NUMBER,
    "flag": BOOLEAN,
    "tag": TAG_NAME,
}
CRITERIA = tuple(_query(c.query, _CRITERION_SCHEMAS[c.kind], c.summary) for c in criteria())
PAGING = (
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    _query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
)


CSV_EXPORT: Schema = {
    "type": "string",
    "description": f"A header row ({','.join(scoring_csv.COLUMNS)}), then one row per record, `\\n` line ends",
}


@attrs.frozen
class Operation:
    summary: str
    who: str  # "public" | "fan" | "supreme"
    body: Any = None  # the attrs class the route structures its body with, or list[cls] for an array body
    answers: dict[int, Schema] = attrs.Factory(dict)
    query: tuple[Schema, ...] = ()
    max_items: int | None = None  # of an array body
    refine: dict[str, Schema] = attrs.Factory(dict)  # body property -> what its type alone cannot say (enums, bounds)
    media: str = "application/json"  # of its success answers
    alternatives: dict[str, Schema] = attrs.Factory(dict)  # other media of its 200 answer, chosen by Accept
    headers: dict[str, Schema] = attrs.Factory(dict)  # headers of its 200 answer (header objects)
    notes: str = ""  # what the summary cannot say: the operation's description
    errors: tuple[int, ...] = ()  # error answers of its own, beyond those of its kind (_ERRORS)


def _answer(schema: Schema) -> dict[int, Schema]:
    return {200: schema}


def schema_of(kind: Any) -> Schema:
    """The JSON schema of a body type as ``bodies.CONVERTER`` structures it: attrs classes are objects with
    exactly their fields (no unknown key), ``X | None`` is nullable."""
    origin = typing.get_origin(kind)
    if origin in (Union, types.UnionType):
        present = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        return {**schema_of(present[0]), "nullable": True}
    if origin is list:
        return {"type": "array", "items": schema_of(typing.get_args(kind)[0])}
    if origin is dict or kind is dict:
        return {"type": "object"}
    if attrs.has(kind):
        hints = typing.get_type_hints(kind, vars(sys.modules[kind.__module__]))
        fields = attrs.fields(kind)
        schema: Schema = {"type": "object"}
        required = [f.name for f in fields if f.default is attrs.NOTHING]
        if required:  # OpenAPI 3.0: a required list is never empty
            schema["required"] = required
        return {
            **schema,
            "properties": {f.name: schema_of(hints[f.name]) for f in fields},
            "additionalProperties": False,
        }
    return {str: STRING, int: INTEGER, float: NUMBER, bool: BOOLEAN}.get(kind, {})


def _item_read_alone(kind: Any) -> Schema:
    """The item of a batch read one by one (USR-004): any object is taken at the request level, and one that does
    not read as ``kind`` is that item's own error in the answer; the description says what reads."""
    strict = schema_of(kind)
    fields = ", ".join(
        f"{name} ({'string or null' if isinstance(p.get('type'), list) or p.get('nullable') else p.get('type')})"
        for name, p in strict["properties"].items()
    )
    return {  # no type: whatever an item is, the request goes on
        "description": f"An object with {fields}; required: {', '.join(strict.get('required', []))}; no other key. "
        "An item that does not read so is answered with its own BAD_REQUEST; the others are applied.",
    }


OPERATIONS: dict[str, Operation] = {
    "ops.heartbeat": Operation(
        "Liveness and datastore health",
        "public",
        answers={
            200: _object(
                ["status", "version", "timestamp"],
                status={"type": "string", "enum": ["ok", "degraded"]},
                version=STRING,
                timestamp=TIME,
                failing=FAILING,  # degraded: the datastore reads but cannot take writes (disk full or read-only)
            ),
            503: {"type": "object", "required": ["status", "failing"], "properties": {"failing": FAILING}},
        },
    ),
    "ops.openapi": Operation("This document", "public", answers=_answer({"type": "object"})),
    "ops.metrics": Operation(
        "Prometheus metrics of every worker: requests by route template, method and status; registrations; "
        "dependency calls; outbox backlog, dead letters and delivery latency",
        "public",
        answers=_answer({"type": "string"}),
        media="text/plain",
    ),
    "fan.get_entry": Operation("The caller's entry (fan view)", "fan", answers=_answer(_ref("Entry"))),
    "fan.post_entry": Operation(
        "Create or update the caller's entry",
        "fan",
        bodies.EntryBody,
        answers={200: _ref("Entry"), 201: _ref("Entry")},
    ),
    "fan.registration_eligibility": Operation(
        "May the caller register?",
        "fan",
        answers=_answer(_object(["eligible", "reason"], ["reason"], eligible=BOOLEAN, reason=STRING)),
        query=(_query("inviteCode", STRING),),
    ),
    "fan.confirm_phone": Operation(
        "Confirm the entry's phone with a phone token", "fan", bodies.ConfirmBody, _answer(_ref("Entry"))
    ),
    "fan.entries_of_user": Operation(
        "A fan's entries across campaigns, newest first (self or supreme)",
        "fan",
        answers=_answer(_object(["entries"], entries={"type": "array", "items": _ref("Entry")})),
    ),
    "admin.campaigns": Operation(
        "Campaigns of the campaign source",
        "supreme",
        answers=_answer(
            _object(
                ["campaigns"],
                campaigns={
                    "type": "array",
                    "items": _object(["id", "name", "status"], id=STRING, name=STRING, status=STRING),
                },
            )
        ),
    ),
    "admin.add_invites": Operation(
        "Add invites to an invite-only campaign (any other: 400 BAD_REQUEST, SCR-002)",
        "supreme",
        bodies.InvitesBody,
        _answer(_object(["added"], added=COUNT)),
        refine={"invites": {"minItems": 1, "maxItems": bodies.MAX_INVITES}},
    ),
    "admin.refresh_scores": Operation(
        "Queue enrichment refreshes",
        "supreme",
        bodies.RefreshBody,
        _answer(_object(["queued"], queued=COUNT)),
        refine={"entries": {"minItems": 1, "maxItems": bodies.MAX_REFRESH}},
    ),
    "admin.outbox": Operation(
        "Outbox backlog and dead letters",
        "supreme",
        answers=_answer(
            _object(
                ["backlog", "lastDeliveredAt", "oldestPendingAt", "deadLetters", "oldestDeadLetterAt"],
                ["lastDeliveredAt", "oldestPendingAt", "oldestDeadLetterAt"],
                backlog=COUNT,
                lastDeliveredAt=TIME,
                oldestPendingAt=TIME,
                deadLetters=COUNT,
                oldestDeadLetterAt=TIME,
            )
        ),
    ),
    "admin.opt_out": Operation(
        "Opt a fan out on all their entries (USR-002)",
        "supreme",
        bodies.OptOutBody,
        _answer(_object(["modified"], modified=COUNT)),
        refine={"type": {"enum": ["DO_NOT_SELL", "UNSUBSCRIBE"]}},
    ),
    "admin.delete_user": Operation(
        "Erase a fan: entries, scoring records, confirmed phones (USR-003); entry.deleted events",
        "supreme",
        answers=_answer(
            _object(
                ["deleted", "userId"],
                deleted=_object(["entries", "scoring"], entries=COUNT, scoring=COUNT),
                userId=STRING,
            )
        ),
    ),
    "admin.batch_entries": Operation(
        "Save and delete entries in a batch (USR-004): at most 1,000 items in all, each applied on its own",
        "supreme",
        bodies.BatchBody,
        _answer(
            _object(
                ["results"],
                results={
                    "type": "array",
                    "items": _object(
                        ["index", "ok", "error"],
                        ["error"],
                        index=COUNT,
                        ok=BOOLEAN,
                        error=_object(
                            ["code", "message", "payload"], code=STRING, message=STRING, payload={"type": "object"}
                        ),
                    ),
                },
            )
        ),
        refine={
            "entries": {"maxItems": bodies.MAX_BATCH, "items": _item_read_alone(bodies.BatchEntry)},
            "deletions": {"maxItems": bodies.MAX_BATCH, "items": _item_read_alone(bodies.EntryKey)},
        },
    ),
    "selection.transfer": Operation(
        "Move every entry and scoring record from one market to another (MKT-003); idempotent; one at a time per"
        " campaign (409 TRANSFER_IN_PROGRESS)",
        "supreme",
        bodies.TransferBody,
        _answer(_object(["modified", "scoring"], modified=COUNT, scoring=COUNT)),
        errors=(409,),  # TRANSFER_IN_PROGRESS: another transfer of the campaign runs
    ),
    "scoring.upload_scores": Operation(
        "Upload scoring records (SCR-001, SCR-002): at most 10,000; bad rows are reported, never fail the batch",
        "supreme",
        bodies.ScoringBody,
        _answer(_ref("UploadSummary")),
        refine={
            "records": {
                "minItems": 1,
                "maxItems": bodies.MAX_RECORDS,
                "items": {
                    "type": "object",
                    "description": "A row that does not read is rejected with its index (SCR-002), not the request",
                    "required": ["phone", "score"],
                    "properties": {
                        "phone": STRING,
                        "score": NUMBER,
                        "verdict": BOOLEAN,
                        "randomScore": {"type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": True},
                        "tags": {"type": "object", "additionalProperties": BOOLEAN},
                    },
                },
            }
        },
    ),
    "scoring.scoring_list": Operation(
        "The eligible fan list (SCR-003, SCR-005); with Accept: text/csv, all of it as CSV",
        "supreme",
        answers=_answer(_LIST_OF["scoring"]),
        query=CRITERIA + PAGING,
        alternatives={"text/csv": CSV_EXPORT},
        headers={
            "Content-Disposition": {
                "description": 'text/csv only: `attachment; filename="<campaignId>-entries.csv"`',
                "schema": STRING,
            },
            "Vary": {"description": "Accept: the answer's media depends on it", "schema": STRING},
        },
        notes="JSON by default. `Accept: text/csv` named explicitly (with a quality above JSON's, e.g. "
        "`text/csv` or `text/csv, */*;q=0.1`) answers every record matching the criteria, in list order, "
        "streamed as `text/csv; charset=utf-8` — the columns and bytes of `entry-service selection export` "
        "(spreadsheet-safe: fan-typed text starting with = + - @ tab or CR gets a leading '). "
        "With text/csv, `limit` and `offset` are 400 BAD_REQUEST.",
    ),
    "scoring.eligibility": Operation(
        "Eligibility counts (SCR-004)", "supreme", answers=_answer(_ref("EligibilityCounts")), query=CRITERIA
    ),
    "scoring.tags": Operation(
        "Tag scoring records by phone or user id (SCR-006)",
        "supreme",
        bodies.TagsBody,
        _answer(_object(["tagged"], tagged=COUNT)),
        refine={
            "tagName": TAG_NAME,
            "by": {"enum": choices.words(TagBy)},
            "values": {"minItems": 1, "maxItems": bodies.MAX_TAG_VALUES},
        },
    ),
    "scoring.flip_verdicts": Operation(
        "Set verdicts false by tag (SCR-006)",
        "supreme",
        bodies.FlipBody,
        _answer(_object(["modified"], modified=COUNT)),
        refine={"tagName": TAG_NAME, "mode": {"enum": choices.words(FlipMode)}},
    ),
    "selection.assign_codes": Operation(
        "Assign codes (SCR-007); the same code again is a no-op",
        "supreme",
        list[bodies.CodeItem],
        _answer(
            _object(
                ["input", "assigned", "scoring", "unmatched"],
                input=COUNT,
                assigned=COUNT,
                scoring=COUNT,
                unmatched={"type": "array", "items": STRING},
            )
        ),
        max_items=bodies.MAX_ITEMS,
        refine={
            "[].userId": NON_EMPTY,
            "[].code": NON_EMPTY,
            "[].date.start": TIME,
            "[].date.end": {**TIME, "nullable": True},
            "[].date.revealCode": {**TIME, "nullable": True},
        },
    ),
    "selection.set_verdicts": Operation(
        "Block or unblock entries (SCR-008)",
        "supreme",
        list[bodies.VerdictItem],
        _answer(
            _object(
                ["input", "saved", "unmatched"], input=COUNT, saved=COUNT, unmatched={"type": "array", "items": STRING}
            )
        ),
        max_items=bodies.MAX_ITEMS,
        refine={"[].userId": NON_EMPTY, "[].date": {**TIME, "nullable": True}},
    ),
    "selection.registration_counts": Operation(
        "Registration counts per market and rank (SCR-010)", "supreme", answers=_answer(_ref("RegistrationCounts"))
    ),
    "selection.registrations_timeline": Operation(
        "Entries created and phones confirmed per hour or day (UTC)",
        "supreme",
        answers=_answer(
            _object(
                ["bucket", "points"],
                bucket={"type": "string", "enum": choices.words(Bucket)},
                points={
                    "type": "array",
                    "items": _object(["at", "created", "confirmed"], at=TIME, created=COUNT, confirmed=COUNT),
                },
            )
        ),
        query=(_query("bucket", {"type": "string", "enum": choices.words(Bucket), "default": Bucket.HOUR.value}),),
    ),
    "selection.entry_list": Operation(
        "Entries by filter, by creation time (SCR-009)",
        "supreme",
        answers=_answer(_LIST_OF["entries"]),
        query=(_query("market", STRING, "Only this primary market."), _query("codeConfigId", STRING), *PAGING),
    ),
}


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
        if (match["converter"] or "").startswith("any("):
            schema["enum"] = choices.words(FilterType)
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
        responses[str(status)] = {"description": "Error envelope (API.md §2)", "content": _json(_ref("Error"))}
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
