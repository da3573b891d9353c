"""The schemas of the OpenAPI document: the answers of API.md §3 to §5 by name, the query parameters, and the
schema of a request body type as ``bodies.CONVERTER`` structures it (so validation and document cannot disagree)."""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterable
from typing import Any, Union

import attrs

from adapters_http import scoring_csv
from adapters_http.server.criteria import MAX_OFFSET
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


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def object_of(required: Iterable[str], nullable: Iterable[str] = (), **properties: Schema) -> Schema:
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
BY_MARKET: Schema = {"type": "array", "items": object_of(["marketId", "counts"], marketId=STRING, counts=RANKS)}

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
            "draws": {"type": "array", "items": {"$ref": "#/components/schemas/FanDraw"}},
        },
    },
    "FanDraw": object_of(
        ["drawId", "ticket", "status", "marketId", "rank", "offerExpiresAt", "waitlistPosition"],
        ["marketId", "rank", "offerExpiresAt", "waitlistPosition"],
        drawId=STRING,
        ticket={"type": "string", "pattern": "^[0-9a-f]{32}$"},
        status={
            "type": "string",
            "enum": ["committed", "offered", "accepted", "declined", "expired", "waitlisted", "void"],
        },
        marketId=STRING,
        rank={"type": "integer", "minimum": 0, "maximum": MAX_RANKS - 1},
        offerExpiresAt=TIME,
        waitlistPosition={"type": "integer", "minimum": 1},
    ),
    "Draw": object_of(
        [
            *("drawId", "campaignId", "name", "status", "criteria", "rules", "commitment", "committedAt"),
            *("markets", "reveal", "cancelled"),
        ],
        ["reveal", "cancelled"],
        drawId={"type": "string", "minLength": 26, "maxLength": 26},
        campaignId=STRING,
        name=STRING,
        status={"type": "string", "enum": ["committed", "revealed", "cancelled"]},
        criteria={"type": "object", "description": "The criteria of the commit, JSON-typed, as the query names them"},
        rules={
            "type": "object",
            "description": "SPEC DRW-001: its canonical JSON (RFC 8785) hashes to the commitment",
            "required": [
                *("beaconRound", "campaignId", "capacities", "drawId", "entrantsCount", "entrantsHash"),
                *("mechanism", "offerHours", "seedHash"),
            ],
        },
        commitment={"type": "string", "pattern": "^[0-9a-f]{64}$"},
        committedAt=TIME,
        markets={
            "type": "array",
            "items": object_of(
                ["marketId", "capacity", "offered", "accepted", "free"],
                marketId=STRING,
                capacity=COUNT,
                offered=COUNT,
                accepted=COUNT,
                free=COUNT,
            ),
        },
        reveal=object_of(
            ["revealedAt", "seed", "beacon", "drawSeed"],
            ["seed", "beacon"],
            revealedAt=TIME,
            seed=STRING,
            beacon=object_of(["round", "signature", "randomness"], round=COUNT, signature=STRING, randomness=STRING),
            drawSeed=STRING,
        ),
        cancelled=object_of(["at", "reason"], at=TIME, reason=STRING),
    ),
    "ScoringRecord": object_of(
        [
            *("userId", "campaignId", "name", "email", "phone", "score", "randomScore", "verdict", "locale"),
            *("marketIds", "codes", "tags"),
        ],
        ["email", "locale"],
        userId=STRING,
        campaignId=STRING,
        name=object_of(["first", "last"], ["first", "last"], first=STRING, last=STRING),
        email=STRING,
        phone=STRING,
        score=NUMBER,
        randomScore={"type": "number", "minimum": 0, "maximum": 1, "exclusiveMaximum": True},
        verdict=BOOLEAN,
        locale=STRING,
        marketIds={"type": "array", "items": STRING},
        codes={
            "type": "array",
            "items": object_of(["code", "codeConfigId"], ["codeConfigId"], code=STRING, codeConfigId=STRING),
        },
        tags={"type": "object", "additionalProperties": BOOLEAN},
    ),
    "UploadSummary": object_of(
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
            "items": object_of(
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
    "EligibilityCounts": object_of(
        ["total", "verified", "selected", "available", "byMarket"],
        total=COUNT,
        verified=COUNT,
        selected=COUNT,
        available=COUNT,
        byMarket=BY_MARKET,
    ),
    "RegistrationCounts": object_of(
        ["total", "confirmed", "byMarket"], total=COUNT, confirmed=COUNT, byMarket=BY_MARKET
    ),
}

LIST_OF = {
    "scoring": object_of(
        ["list", "counts"],
        list={"type": "array", "items": ref("ScoringRecord")},
        counts=object_of(["total"], total=COUNT),
    ),
    "entries": object_of(["entries", "total"], entries={"type": "array", "items": ref("Entry")}, total=COUNT),
}


def query(name: str, schema: Schema, description: str = "") -> Schema:
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
CRITERIA = tuple(query(c.query, _CRITERION_SCHEMAS[c.kind], c.summary) for c in criteria())
PAGING = (
    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}),
    query("offset", {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0}),
)


CSV_EXPORT: Schema = {
    "type": "string",
    "description": f"A header row ({','.join(scoring_csv.COLUMNS)}), then one row per record, `\\n` line ends",
}


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


def item_read_alone(kind: Any) -> Schema:
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
