"""Fan routes (API.md §3): the caller's own entry, eligibility, and their entries across campaigns."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from adapters_http.metrics import count_registration
from adapters_http.server.bodies import ConfirmBody, EntryBody
from adapters_http.server.context import json_response, services
from adapters_http.server.requests import body_as, caller, raw_body
from adapters_http.server.views import admin_view, fan_view
from entrycore.usecases.registrations import Submission

fan = Blueprint("fan", __name__)


@fan.get("/<campaign:campaignId>/entries")
def get_entry(campaignId: str) -> Any:
    who = caller()
    return json_response(fan_view(services().registrations.get_entry(who, campaignId)))


@fan.post("/<campaign:campaignId>/entries")
def post_entry(campaignId: str) -> Any:
    who = caller()
    body = body_as(EntryBody, raw_body())
    submission = Submission(body.fields, body.locale, body.referralCode, body.inviteCode)
    registered = services().registrations.register(who, campaignId, submission)
    count_registration("created" if registered.is_new else "updated")
    return json_response({**fan_view(registered), "isNew": registered.is_new}, 201 if registered.is_new else 200)


@fan.get("/<campaign:campaignId>/entries/registrationEligibility")
def registration_eligibility(campaignId: str) -> Any:
    who = caller()
    invite_code = request.args.get("inviteCode")
    eligible, reason = services().registrations.registration_eligibility(who, campaignId, invite_code)
    return json_response({"eligible": eligible, "reason": reason})


@fan.post("/<campaign:campaignId>/entries/confirm")
def confirm_phone(campaignId: str) -> Any:
    who = caller()
    body = body_as(ConfirmBody, raw_body())
    confirmed = services().phones.confirm_phone(who, campaignId, body.phoneJwt)
    count_registration("confirmed")
    return json_response(fan_view(confirmed))


@fan.get("/users/<userId>/entries")
def entries_of_user(userId: str) -> Any:
    who = caller()
    entries = services().registrations.entries_of_user(who, userId)
    view = admin_view if who.is_supreme else fan_view  # USR-001: a supreme caller sees the admin view
    return json_response({"entries": [view(e) for e in entries]})
