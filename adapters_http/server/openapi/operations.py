"""Each endpoint's metadata (API.md §3 to §5): who may call it, its request body (the attrs class the route
structures it with), its query parameters and its answers. A test checks that every endpoint of the URL map has
one."""

from __future__ import annotations

from typing import Any

import attrs

from adapters_http.server import bodies
from adapters_http.server.openapi.schemas import (
    BOOLEAN,
    COUNT,
    CRITERIA,
    CSV_EXPORT,
    FAILING,
    LIST_OF,
    NON_EMPTY,
    NUMBER,
    PAGING,
    STRING,
    TAG_NAME,
    TIME,
    Schema,
    item_read_alone,
    object_of,
    query,
    ref,
)
from entrycore import choices
from entrycore.choices import Bucket, FlipMode, TagBy


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


NDJSON = "application/x-ndjson"


def batch_results(key: str, key_schema: Schema) -> Schema:
    """A batch's answer (API.md §4): ``{"results": [{key, "ok", "error"}]}``, error the ``{code, message, payload}``
    of a refused item."""
    error = object_of(["code", "message", "payload"], code=STRING, message=STRING, payload={"type": "object"})
    item = object_of([key, "ok", "error"], ["error"], **{key: key_schema}, ok=BOOLEAN, error=error)
    return object_of(["results"], results={"type": "array", "items": item})


BATCH_TICKETS = batch_results("ticket", STRING)


def public_file(summary: str, errors: tuple[int, ...]) -> Operation:
    """A draw's public file (DRW-006): NDJSON as stored, 304 on a matching If-None-Match."""
    return Operation(summary, "public", answers={200: STRING, 304: STRING}, media=NDJSON, errors=errors)


def respond_operation(summary: str) -> Operation:
    """``…/accept`` and ``…/decline``: the fan's own offer, or an admin's batch of tickets (DRW-004)."""
    return Operation(
        summary,
        "fan",
        bodies.RespondBody,
        {200: {"oneOf": [ref("FanDraw"), BATCH_TICKETS]}},
        refine={"tickets": {"minItems": 1, "maxItems": 1_000, "items": {"type": "string"}}},
        notes="409 OFFER_NOT_OPEN: the offer is not open (declined, expired, void, none).",
    )


def answer(schema: Schema) -> dict[int, Schema]:
    return {200: schema}


OPERATIONS: dict[str, Operation] = {
    "ops.heartbeat": Operation(
        "Liveness and datastore health",
        "public",
        answers={
            200: object_of(
                ["status", "version", "timestamp"],
                status={"type": "string", "enum": ["ok", "degraded"]},
                version=STRING,
                timestamp=TIME,
                failing=FAILING,  # degraded: the datastore reads but cannot take writes (disk full or read-only)
            ),
            503: {"type": "object", "required": ["status", "failing"], "properties": {"failing": FAILING}},
        },
    ),
    "ops.openapi": Operation("This document", "public", answers=answer({"type": "object"})),
    "ops.metrics": Operation(
        "Prometheus metrics of every worker: requests by route template, method and status; registrations; "
        "dependency calls; outbox backlog, dead letters and delivery latency",
        "public",
        answers=answer({"type": "string"}),
        media="text/plain",
    ),
    "fan.get_entry": Operation("The caller's entry (fan view)", "fan", answers=answer(ref("Entry"))),
    "fan.post_entry": Operation(
        "Create or update the caller's entry",
        "fan",
        bodies.EntryBody,
        answers={200: ref("Entry"), 201: ref("Entry")},
    ),
    "fan.registration_eligibility": Operation(
        "May the caller register?",
        "fan",
        answers=answer(object_of(["eligible", "reason"], ["reason"], eligible=BOOLEAN, reason=STRING)),
        query=(query("inviteCode", STRING),),
    ),
    "fan.confirm_phone": Operation(
        "Confirm the entry's phone with a phone token", "fan", bodies.ConfirmBody, answer(ref("Entry"))
    ),
    "fan.entries_of_user": Operation(
        "A fan's entries across campaigns, newest first (self or supreme)",
        "fan",
        answers=answer(object_of(["entries"], entries={"type": "array", "items": ref("Entry")})),
    ),
    "admin.campaigns": Operation(
        "Campaigns of the campaign source",
        "supreme",
        answers=answer(
            object_of(
                ["campaigns"],
                campaigns={
                    "type": "array",
                    "items": object_of(["id", "name", "status"], id=STRING, name=STRING, status=STRING),
                },
            )
        ),
    ),
    "admin.add_invites": Operation(
        "Add invites to an invite-only campaign (any other: 400 BAD_REQUEST, SCR-002)",
        "supreme",
        bodies.InvitesBody,
        answer(object_of(["added"], added=COUNT)),
        refine={"invites": {"minItems": 1, "maxItems": bodies.MAX_INVITES}},
    ),
    "admin.refresh_scores": Operation(
        "Queue enrichment refreshes",
        "supreme",
        bodies.RefreshBody,
        answer(object_of(["queued"], queued=COUNT)),
        refine={"entries": {"minItems": 1, "maxItems": bodies.MAX_REFRESH}},
    ),
    "admin.outbox": Operation(
        "Outbox backlog and dead letters",
        "supreme",
        answers=answer(
            object_of(
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
        answer(object_of(["modified"], modified=COUNT)),
        refine={"type": {"enum": ["DO_NOT_SELL", "UNSUBSCRIBE"]}},
    ),
    "admin.delete_user": Operation(
        "Erase a fan: entries, scoring records, confirmed phones (USR-003); entry.deleted events",
        "supreme",
        answers=answer(
            object_of(
                ["deleted", "userId"],
                deleted=object_of(["entries", "scoring"], entries=COUNT, scoring=COUNT),
                userId=STRING,
            )
        ),
    ),
    "admin.batch_entries": Operation(
        "Save and delete entries in a batch (USR-004): at most 1,000 items in all, each applied on its own",
        "supreme",
        bodies.BatchBody,
        answer(batch_results("index", COUNT)),
        refine={
            "entries": {"maxItems": bodies.MAX_BATCH, "items": item_read_alone(bodies.BatchEntry)},
            "deletions": {"maxItems": bodies.MAX_BATCH, "items": item_read_alone(bodies.EntryKey)},
        },
    ),
    "selection.transfer": Operation(
        "Move every entry and scoring record from one market to another (MKT-003); idempotent; one at a time per"
        " campaign (409 TRANSFER_IN_PROGRESS)",
        "supreme",
        bodies.TransferBody,
        answer(object_of(["modified", "scoring"], modified=COUNT, scoring=COUNT)),
        errors=(409,),  # TRANSFER_IN_PROGRESS: another transfer of the campaign runs
    ),
    "scoring.upload_scores": Operation(
        "Upload scoring records (SCR-001, SCR-002): at most 10,000; bad rows are reported, never fail the batch",
        "supreme",
        bodies.ScoringBody,
        answer(ref("UploadSummary")),
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
        answers=answer(LIST_OF["scoring"]),
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
        "Eligibility counts (SCR-004)", "supreme", answers=answer(ref("EligibilityCounts")), query=CRITERIA
    ),
    "scoring.tags": Operation(
        "Tag scoring records by phone or user id (SCR-006)",
        "supreme",
        bodies.TagsBody,
        answer(object_of(["tagged"], tagged=COUNT)),
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
        answer(object_of(["modified"], modified=COUNT)),
        refine={"tagName": TAG_NAME, "mode": {"enum": choices.words(FlipMode)}},
    ),
    "selection.assign_codes": Operation(
        "Assign codes (SCR-007); the same code again is a no-op",
        "supreme",
        list[bodies.CodeItem],
        answer(
            object_of(
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
        answer(
            object_of(
                ["input", "saved", "unmatched"], input=COUNT, saved=COUNT, unmatched={"type": "array", "items": STRING}
            )
        ),
        max_items=bodies.MAX_ITEMS,
        refine={"[].userId": NON_EMPTY, "[].date": {**TIME, "nullable": True}},
    ),
    "selection.registration_counts": Operation(
        "Registration counts per market and rank (SCR-010)", "supreme", answers=answer(ref("RegistrationCounts"))
    ),
    "selection.registrations_timeline": Operation(
        "Entries created and phones confirmed per hour or day (UTC)",
        "supreme",
        answers=answer(
            object_of(
                ["bucket", "points"],
                bucket={"type": "string", "enum": choices.words(Bucket)},
                points={
                    "type": "array",
                    "items": object_of(["at", "created", "confirmed"], at=TIME, created=COUNT, confirmed=COUNT),
                },
            )
        ),
        query=(query("bucket", {"type": "string", "enum": choices.words(Bucket), "default": Bucket.HOUR.value}),),
    ),
    "selection.entry_list": Operation(
        "Entries by filter, by creation time (SCR-009)",
        "supreme",
        answers=answer(LIST_OF["entries"]),
        query=(query("market", STRING, "Only this primary market."), query("codeConfigId", STRING), *PAGING),
    ),
    "draws.commit_draw": Operation(
        "Commit a draw (DRW-001): snapshot the eligible fans with random tickets; publish entrants, rules, commitment",
        "supreme",
        bodies.DrawBody,
        {201: ref("Draw")},
        refine={
            "criteria": {"description": "The criteria of the query (SCR-003), JSON-typed: marketIds a list"},
            "capacities": {"additionalProperties": COUNT},
            "mechanism": {"enum": ["serial-dictatorship", "rank-rounds"], "default": "serial-dictatorship"},
            "offerHours": {"type": "integer", "minimum": 1, "maximum": 720, "default": 48},
            "beaconRound": {"type": "integer", "minimum": 1, "description": "At least 10 minutes ahead"},
        },
        errors=(409,),  # TRANSFER_IN_PROGRESS
        notes="400 INVALID_DRAW: no entrant, an unknown market, a bad capacity, mechanism or offer hours, a beacon "
        "round less than 10 minutes ahead; nothing is stored.",
    ),
    "draws.list_draws": Operation(
        "A campaign's draws, newest first (public; [] for a campaign without draws, known or not)",
        "public",
        answers=answer(object_of(["draws"], draws={"type": "array", "items": ref("Draw")})),
    ),
    "draws.show_draw": Operation("A draw's document (public)", "public", answers=answer(ref("Draw")), errors=(404,)),
    "draws.entrants_file": public_file("The entrants file, byte for byte (public; ETag, gzip)", errors=(404,)),
    "draws.results_file": public_file(
        "The results file (public; ETag, gzip); 409 DRAW_NOT_REVEALED before the reveal", errors=(404, 409)
    ),
    "draws.rolls_log": public_file("The rolls log, empty before any roll (public)", errors=(404,)),
    "draws.reveal_draw": Operation(
        "Reveal a draw (DRW-002) with its beacon round's signature, or the one fetched from ENTRY_DRAND_URL",
        "supreme",
        bodies.RevealBody,
        answer(ref("Draw")),
        errors=(409,),
        notes="400 INVALID_BEACON: the signature does not verify for the draw's round; 409 BEACON_NOT_READY: none "
        "given and none can be fetched yet; 409 DRAW_CLOSED: already revealed or cancelled.",
    ),
    "draws.cancel_draw": Operation(
        "Cancel a committed draw with a reason (until a minute before its beacon round)",
        "supreme",
        bodies.CancelBody,
        answer(ref("Draw")),
        errors=(409,),
    ),
    "draws.accept_offer": respond_operation(
        "Accept an offer: the fan's own (body {}), or an admin's tickets (1..1,000), in any campaign status"
    ),
    "draws.decline_offer": respond_operation(
        "Decline an offer (its unit rolls to the waitlist) or leave the waitlist: the fan's own, or an admin's tickets"
    ),
}
