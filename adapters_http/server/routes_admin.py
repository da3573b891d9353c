"""Admin routes (API.md §4), supreme callers only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from adapters_http.server.bodies import (
    MAX_BATCH,
    MAX_INVITES,
    MAX_REFRESH,
    BatchBody,
    BatchEntry,
    EntryKey,
    InvitesBody,
    OptOutBody,
    RefreshBody,
    structure_item,
)
from adapters_http.server.context import json_response, services
from adapters_http.server.errors import item_error
from adapters_http.server.requests import admin_batch, admin_body, caller
from entrycore.errors import BadRequest, EntryError, PayloadTooLarge
from entrycore.outbox import RetryRequest
from entrycore.timefmt import iso
from entrycore.usecases.batch import ReplicaDeletion, ReplicaSave
from entrycore.usecases.registrations import Submission

admin = Blueprint("admin", __name__)


@admin.get("/campaigns")
def campaigns() -> Any:
    found = services().overview.campaign_list(caller())
    return json_response({"campaigns": [{"id": c.id, "name": c.name, "status": c.status} for c in found]})


@admin.post("/<campaign:campaignId>/invites")
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
    status = services().overview.outbox_status(caller())
    return json_response(
        {
            "backlog": status.backlog,
            "lastDeliveredAt": iso(status.last_delivered_at),
            "oldestPendingAt": iso(status.oldest_pending_at),
            "deadLetters": status.dead_letters,
            "oldestDeadLetterAt": iso(status.oldest_dead_letter_at),
        }
    )


@admin.post("/users/<userId>/optout")
def opt_out(userId: str) -> Any:
    who, body = admin_body(OptOutBody)
    return json_response({"modified": services().privacy.opt_out(who, userId, body.type)})


@admin.delete("/users/<userId>")
def delete_user(userId: str) -> Any:
    return json_response({"deleted": services().privacy.delete_user(caller(), userId), "userId": userId})


@admin.post("/v2/entries")
def batch_entries() -> Any:
    """USR-004: every item read and applied on its own; 200 with a result per item, saves first."""
    who, body = admin_body(BatchBody)
    total = len(body.entries) + len(body.deletions)
    if total == 0:
        raise BadRequest.at([("$", "entries and deletions must not both be empty")])
    if total > MAX_BATCH:
        raise PayloadTooLarge(f"At most {MAX_BATCH} entries and deletions per request, in all.")
    saves = [_save(item, f"$.entries[{i}]") for i, item in enumerate(body.entries)]
    deletions = [_deletion(item, f"$.deletions[{i}]") for i, item in enumerate(body.deletions)]
    results = services().replication.apply(who, saves, deletions)
    return json_response({"results": [{"index": r.index, "ok": r.ok, "error": item_error(r.error)} for r in results]})


def _save(value: Any, path: str) -> ReplicaSave | EntryError:
    item = structure_item(value, BatchEntry, path)
    if isinstance(item, BadRequest):
        return item
    empty = _empty_ids(path, campaignId=item.campaignId, userId=item.userId)
    if empty is not None:
        return empty
    submission = Submission(fields=item.fields, locale=item.locale, referral_code=item.referralCode)
    return ReplicaSave(item.campaignId, item.userId, submission)


def _deletion(value: Any, path: str) -> ReplicaDeletion | EntryError:
    item = structure_item(value, EntryKey, path)
    if isinstance(item, BadRequest):
        return item
    return _empty_ids(path, campaignId=item.campaignId, userId=item.userId) or ReplicaDeletion(
        item.campaignId, item.userId
    )


def _empty_ids(path: str, **ids: str) -> BadRequest | None:
    problems = [(f"{path}.{name}", "must not be empty") for name, value in ids.items() if not value.strip()]
    return BadRequest.at(problems) if problems else None
