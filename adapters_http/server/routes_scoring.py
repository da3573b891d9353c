"""Scoring and selection routes (API.md §4, SPEC SCR-001…006), supreme callers only."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, request

from adapters_http import scoring_csv
from adapters_http.server.bodies import MAX_RECORDS, MAX_TAG_VALUES, FlipBody, ScoringBody, TagsBody
from adapters_http.server.context import json_response, services
from adapters_http.server.criteria import criteria_from, query_of
from adapters_http.server.requests import admin_batch, admin_body, admin_caller
from entrycore import choices
from entrycore.caller import Caller
from entrycore.choices import FlipMode, TagBy
from entrycore.eligibility import EligibilityCriteria
from entrycore.errors import BadRequest
from entrycore.usecases.scoring import tag_problems
from entrywire.answers import answers

log = logging.getLogger(__name__)
scoring = Blueprint("scoring", __name__)

CSV = "text/csv"
JSON = "application/json"
_NOT_WITH_CSV = "not with Accept: text/csv: the CSV export is every matching record, unpaged"
_FILENAME_SAFE = re.compile(r"[^A-Za-z0-9._-]")


@scoring.post("/<campaign:campaignId>/entries/scoring")
def upload_scores(campaignId: str) -> Any:
    who, _, records = admin_batch(ScoringBody, "records", MAX_RECORDS)
    return json_response(answers.unstructure(services().scoring.upload(who, campaignId, records)))


@scoring.get("/<campaign:campaignId>/entries/scoring")
def scoring_list(campaignId: str) -> Any:
    who = admin_caller()
    if wants_csv(request.headers.get("Accept", "")):
        return _scoring_csv(who, campaignId)
    criteria, page = query_of(request.args)
    records, total = services().scoring.page(who, campaignId, criteria, page.limit, page.offset)
    response = json_response({"list": [answers.unstructure(r) for r in records], "counts": {"total": total}})
    response.vary.add("Accept")
    return response


def wants_csv(accept: str) -> bool:
    """Whether an ``Accept`` header selects the CSV export: ``text/csv`` named explicitly (parameters aside) with
    a quality above JSON's — JSON is the default, so an absent header, ``*/*``, ``text/*`` or a tie with
    ``application/json`` answer JSON. JSON's quality is that of the most specific range matching it
    (``application/json``, else ``application/*``, else ``*/*``, RFC 9110 §12.5.1), and an explicit
    ``text/csv`` outranks a wildcard of the same quality: ``text/csv, */*;q=0.1`` and ``text/csv, */*`` are CSV."""
    csv_q: float | None = None
    json_q: dict[str, float] = {}
    for item in accept.split(","):
        kind, *parameters = (part.strip() for part in item.split(";"))
        kind = kind.lower()
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0  # an unreadable weight selects nothing
        if kind == CSV:
            csv_q = max(quality, csv_q or 0.0)
        elif kind in (JSON, "application/*", "*/*"):
            json_q[kind] = max(quality, json_q.get(kind, 0.0))
    if not csv_q:
        return False
    if JSON in json_q:
        return csv_q > json_q[JSON]
    wildcard = json_q.get("application/*", json_q.get("*/*", 0.0))
    return csv_q >= wildcard


def export_criteria(query: Mapping[str, str]) -> EligibilityCriteria:
    """The CSV export's criteria, read as the JSON list reads them; ``limit``/``offset`` have no place in it (API.md
    §4). One BAD_REQUEST names every problem of both."""
    problems: list[tuple[str, str]] = []
    criteria: EligibilityCriteria | None = None
    try:
        criteria = criteria_from(query)
    except BadRequest as exc:
        problems += [(p["path"], p["message"]) for p in exc.payload["errors"]]
    problems += [(f"query.{name}", _NOT_WITH_CSV) for name in ("limit", "offset") if name in query]
    if criteria is None or problems:
        raise BadRequest.at(problems)
    return criteria


def attachment(campaign_id: str) -> str:
    """``Content-Disposition`` of the export: ``<campaignId>-entries.csv``; a campaign id with characters a quoted
    filename cannot carry safely gets them as ``_`` there and in full in ``filename*`` (RFC 6266)."""
    name = f"{campaign_id}-entries.csv"
    plain = _FILENAME_SAFE.sub("_", name)
    if plain == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


def _scoring_csv(who: Caller, campaign_id: str) -> Response:
    """Every matching record in list order (SCR-005) as the CLI export's CSV, streamed: the store's records are
    read as the answer is written, ``scoring_csv.CHUNK_ROWS`` lines at a time. The criteria, the campaign and the
    store's first read are checked before the status is sent, so each of their failures is the error envelope; a
    failure after that can only cut the answer short (logged), as it would cut a CLI export."""
    criteria = export_criteria(request.args)
    body = scoring_csv.chunks(services().scoring.export(who, campaign_id, criteria))
    first = next(body)  # the header and the first rows: a store that cannot read fails here, before the status
    response = Response(_streamed(campaign_id, first, body), status=200, content_type=scoring_csv.CONTENT_TYPE)
    response.headers["Content-Disposition"] = attachment(campaign_id)
    response.headers["Cache-Control"] = "no-store"  # personal data (names, emails, phones)
    response.vary.add("Accept")
    return response


def _streamed(campaign_id: str, first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    try:
        yield from rest
    except Exception:
        log.exception("CSV export of campaign %s failed after its first rows: the answer is cut short", campaign_id)
        raise  # a client gone away closes this generator, and ``yield from`` closes the store's reads with it


@scoring.get("/<campaign:campaignId>/entries/eligibility")
def eligibility(campaignId: str) -> Any:
    who = admin_caller()
    criteria = criteria_from(request.args)
    return json_response(answers.unstructure(services().scoring.counts(who, campaignId, criteria)))


@scoring.post("/<campaign:campaignId>/scoring/tags")
def tags(campaignId: str) -> Any:
    who, body, values = admin_batch(TagsBody, "values", MAX_TAG_VALUES)
    by = choices.read(TagBy, body.by, "$.by", tag_problems(body.tagName))  # a bad word with the name's problem
    return json_response({"tagged": services().scoring.tag(who, campaignId, body.tagName, by, values)})


@scoring.post("/<campaign:campaignId>/scoring/flipVerdicts")
def flip_verdicts(campaignId: str) -> Any:
    who, body = admin_body(FlipBody)
    mode = choices.read(FlipMode, body.mode, "$.mode", tag_problems(body.tagName, signals=True))
    return json_response({"modified": services().scoring.flip_verdicts(who, campaignId, body.tagName, mode)})
