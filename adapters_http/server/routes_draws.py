"""Draw routes (API.md §4 "Draws", SPEC §12). Commit, reveal, cancel and admin batches need a supreme token; the
reads are public (no token, ``Access-Control-Allow-Origin: *``, from the store alone) and run on the admin lane
(rsgi.py), never on the fans' threads; a fan accepts or declines their own offer with their own token."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, request

from adapters_http.metrics import count_draw
from adapters_http.server.bodies import CancelBody, DrawBody, RespondBody, RevealBody
from adapters_http.server.context import json_response, services
from adapters_http.server.criteria import criteria_of_json
from adapters_http.server.errors import item_error
from adapters_http.server.requests import admin_body, body_as, caller, raw_body
from entrycore.draws.model import DrawFile, StoredFile
from entrycore.draws.public import draw_document
from entrycore.errors import BadRequest
from entrycore.usecases.draws import DrawRequest

draws = Blueprint("draws", __name__)
NDJSON = "application/x-ndjson"


@draws.post("/<campaign:campaignId>/draws")
def commit_draw(campaignId: str) -> Any:
    who, body = admin_body(DrawBody)
    criteria = criteria_of_json(body.criteria)
    request_ = DrawRequest(body.name, criteria, body.capacities, body.mechanism, body.offerHours, body.beaconRound)
    draw = services().draws.commit(who, campaignId, request_)
    count_draw("committed")
    return json_response(draw_document(draw), 201)


@draws.get("/<campaign:campaignId>/draws")
def list_draws(campaignId: str) -> Any:
    return json_response({"draws": [draw_document(d) for d in services().draws.listed(campaignId)]})


@draws.get("/<campaign:campaignId>/draws/<drawId>")
def show_draw(campaignId: str, drawId: str) -> Any:
    return json_response(draw_document(services().draws.show(campaignId, drawId)))


@draws.get("/<campaign:campaignId>/draws/<drawId>/entrants")
def entrants_file(campaignId: str, drawId: str) -> Any:
    return _file(services().draws.file(campaignId, drawId, DrawFile.ENTRANTS))


@draws.get("/<campaign:campaignId>/draws/<drawId>/results")
def results_file(campaignId: str, drawId: str) -> Any:
    return _file(services().draws.file(campaignId, drawId, DrawFile.RESULTS))


@draws.get("/<campaign:campaignId>/draws/<drawId>/rolls")
def rolls_log(campaignId: str, drawId: str) -> Any:
    return _file(services().draws.file(campaignId, drawId, DrawFile.ROLLS))


@draws.post("/<campaign:campaignId>/draws/<drawId>/reveal")
def reveal_draw(campaignId: str, drawId: str) -> Any:
    who, body = admin_body(RevealBody)
    beacon = None if body.beacon is None else (body.beacon.round, body.beacon.signature)
    draw = services().draws.reveal(who, campaignId, drawId, beacon)
    count_draw("revealed")
    return json_response(draw_document(draw))


@draws.post("/<campaign:campaignId>/draws/<drawId>/cancel")
def cancel_draw(campaignId: str, drawId: str) -> Any:
    who, body = admin_body(CancelBody)
    draw = services().draws.cancel(who, campaignId, drawId, body.reason)
    count_draw("cancelled")
    return json_response(draw_document(draw))


@draws.post("/<campaign:campaignId>/draws/<drawId>/accept")
def accept_offer(campaignId: str, drawId: str) -> Any:
    return _respond(campaignId, drawId, accept=True)


@draws.post("/<campaign:campaignId>/draws/<drawId>/decline")
def decline_offer(campaignId: str, drawId: str) -> Any:
    return _respond(campaignId, drawId, accept=False)


def _respond(campaign_id: str, draw_id: str, *, accept: bool) -> Any:
    """The fan's own offer (body ``{}``), or an admin's batch of tickets (``{"tickets": […]}``, 1..1,000)."""
    who = caller()
    body = body_as(RespondBody, raw_body(admin=who.is_supreme))
    if not who.is_supreme:
        if body.tickets is not None:
            raise BadRequest.at([("$.tickets", "a fan answers their own offer: send {}")])
        standing = services().draws.respond(who, campaign_id, draw_id, accept)
        count_draw("accepted" if accept else "declined")
        return json_response(standing.item())
    if not body.tickets:
        raise BadRequest.at([("$.tickets", "an administrator names 1 to 1,000 tickets")])
    outcomes = services().draws.respond_batch(who, campaign_id, draw_id, body.tickets, accept)
    results = [{"ticket": o.ticket, "ok": o.error is None, "error": item_error(o.error)} for o in outcomes]
    count_draw("accepted" if accept else "declined", sum(1 for o in outcomes if o.error is None))
    return json_response({"results": results})


def _file(stored: StoredFile) -> Response:
    """A public file as stored: its ETag (a conditional GET answers 304), gzip when the client takes it and the
    store kept it compressed, streamed part by part."""
    headers = {"ETag": stored.etag, "Cache-Control": "public, no-cache", "Vary": "Accept-Encoding"}
    if request.if_none_match.contains(stored.etag.strip('"')):  # werkzeug holds the tags unquoted
        return Response(status=304, headers=headers)
    packed = stored.gzip_chunks is not None and request.accept_encodings.quality("gzip") > 0
    chunks: Any = stored.gzip_chunks if packed else stored.chunks
    if packed:
        headers["Content-Encoding"] = "gzip"
    headers["Content-Length"] = str(stored.gzip_size if packed else stored.size)
    if request.method == "HEAD":
        return Response(status=200, headers=headers, mimetype=NDJSON)
    return Response(_stream(chunks), status=200, headers=headers, mimetype=NDJSON)


def _stream(chunks: Any) -> Iterator[bytes]:
    yield from chunks
