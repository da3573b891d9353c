"""Selection routes (API.md §4, SPEC SCR-007…010): codes, blocking, entry lists, counts, timeline. Supreme only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, request

from adapters_http.server.bodies import MAX_ITEMS, CodeItem, TransferBody, VerdictItem, parse_json, structure_items
from adapters_http.server.context import json_response, services
from adapters_http.server.criteria import page_from
from adapters_http.server.requests import admin_body, admin_caller, admin_request, caller
from adapters_http.server.views import admin_view
from entrycore import choices
from entrycore.choices import Bucket, FilterType
from entrycore.errors import BadRequest
from entrycore.selection import BlockItem, CodeAssignment, EntryFilter, TimelinePoint
from entrycore.timefmt import parse_iso
from entrywire.answers import answers

selection = Blueprint("selection", __name__)


def _items(cls: type[Any]) -> tuple[Any, list[Any]]:
    who, raw = admin_request()
    return who, structure_items(parse_json(raw), cls, MAX_ITEMS)


def _when(text: str | None, path: str, problems: list[tuple[str, str]]) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_iso(text)
    except ValueError:
        problems.append((path, "must be an ISO-8601 time with Z or an offset"))
        return None


@selection.post("/<campaign:campaignId>/entries/codes")
def assign_codes(campaignId: str) -> Any:
    who, items = _items(CodeItem)
    problems: list[tuple[str, str]] = []
    assignments = []
    for index, item in enumerate(items):
        start = _when(item.date.start, f"$[{index}].date.start", problems)
        end = _when(item.date.end, f"$[{index}].date.end", problems)
        reveal = _when(item.date.revealCode, f"$[{index}].date.revealCode", problems)
        for name, value in (("userId", item.userId), ("code", item.code)):
            if not value.strip():
                problems.append((f"$[{index}].{name}", "must not be empty"))
        if start is not None:
            assignments.append(CodeAssignment(item.userId, item.code, item.codeConfigId, start, end, reveal))
    if problems:
        raise BadRequest.at(problems)
    return json_response(answers.unstructure(services().selection.assign_codes(who, campaignId, assignments)))


@selection.post("/<campaign:campaignId>/entries/verdicts")
def set_verdicts(campaignId: str) -> Any:
    who, items = _items(VerdictItem)
    problems: list[tuple[str, str]] = []
    blocks = []
    for index, item in enumerate(items):
        date = _when(item.date, f"$[{index}].date", problems)
        if not item.userId.strip():
            problems.append((f"$[{index}].userId", "must not be empty"))
        blocks.append(BlockItem(item.userId, item.isBlocked, date))
    if problems:
        raise BadRequest.at(problems)
    return json_response(answers.unstructure(services().selection.set_blocks(who, campaignId, blocks)))


@selection.get("/<campaign:campaignId>/entries/counts")
def registration_counts(campaignId: str) -> Any:
    return json_response(answers.unstructure(services().selection.counts(caller(), campaignId)))


@selection.get("/<campaign:campaignId>/entries/timeline")
def registrations_timeline(campaignId: str) -> Any:
    who = admin_caller()
    bucket = choices.read(Bucket, request.args.get("bucket", Bucket.HOUR), "query.bucket")
    points = services().selection.timeline(who, campaignId, bucket)
    return json_response({"bucket": bucket.value, "points": answers.unstructure(points, list[TimelinePoint])})


# An unknown filterType is no route (404, API.md §2): the route's words are FilterType's
@selection.get(f"/<campaign:campaignId>/entries/<any({', '.join(choices.words(FilterType))}):filterType>")
def entry_list(campaignId: str, filterType: str) -> Any:
    who = admin_caller()
    page = page_from(request.args)
    market, code_config = request.args.get("market") or None, request.args.get("codeConfigId") or None
    chosen = EntryFilter(FilterType(filterType), market, code_config)
    found = services().selection.entry_list(who, campaignId, chosen, page.limit, page.offset)
    return json_response({"entries": [admin_view(e) for e in found.entries], "total": found.total})


@selection.post("/<campaign:campaignId>/entries/transfer")
def transfer(campaignId: str) -> Any:
    """MKT-003: ``{"modified": entries moved, "scoring": scoring records moved}``."""
    who, body = admin_body(TransferBody)
    report = services().transfers.transfer(who, campaignId, body.fromMarketId, body.toMarketId)
    return json_response({"modified": report.entries, "scoring": report.scoring})
