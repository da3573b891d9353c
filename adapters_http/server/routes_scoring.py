"""Scoring and selection routes (API.md §4, SPEC SCR-001…006), supreme callers only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from adapters_http.server.bodies import MAX_RECORDS, MAX_TAG_VALUES, FlipBody, ScoringBody, TagsBody
from adapters_http.server.context import json_response, services
from adapters_http.server.criteria import criteria_from, query_of
from adapters_http.server.requests import admin_batch, admin_body, caller

scoring = Blueprint("scoring", __name__)


@scoring.post("/<campaign:campaignId>/entries/scoring")
def upload_scores(campaignId: str) -> Any:
    who, _, records = admin_batch(ScoringBody, "records", MAX_RECORDS)
    return json_response(services().scoring.upload(who, campaignId, records).to_document())


@scoring.get("/<campaign:campaignId>/entries/scoring")
def scoring_list(campaignId: str) -> Any:
    who = caller()
    who.require_supreme()
    criteria, page = query_of(request.args)
    records, total = services().scoring.page(who, campaignId, criteria, page.limit, page.offset)
    return json_response({"list": [r.to_document() for r in records], "counts": {"total": total}})


@scoring.get("/<campaign:campaignId>/entries/eligibility")
def eligibility(campaignId: str) -> Any:
    who = caller()
    who.require_supreme()
    criteria = criteria_from(request.args)
    return json_response(services().scoring.counts(who, campaignId, criteria).to_document())


@scoring.post("/<campaign:campaignId>/scoring/tags")
def tags(campaignId: str) -> Any:
    who, body, values = admin_batch(TagsBody, "values", MAX_TAG_VALUES)
    return json_response({"tagged": services().scoring.tag(who, campaignId, body.tagName, body.by, values)})


@scoring.post("/<campaign:campaignId>/scoring/flipVerdicts")
def flip_verdicts(campaignId: str) -> Any:
    who, body = admin_body(FlipBody)
    return json_response({"modified": services().scoring.flip_verdicts(who, campaignId, body.tagName, body.mode)})
