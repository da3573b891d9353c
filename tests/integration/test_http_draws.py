"""The draw routes over HTTP (API.md §4 "Draws", §2 check order): every refusal in the envelope, changing nothing;
public reads without a token; fans acting only on their own ticket; blocking and erasure voiding offers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, Api, make_api
from tests.integration.test_http_entries import assert_error

DRAWS = "/ppc/draws"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    made = make_api(tmp_path)
    yield made
    made.services.close()


def scored_fans(api: Api, count: int = 4) -> None:
    for k in range(count):
        phone = f"+1212777{k:04d}"
        fields = {**VALID_FIELDS, "phone": phone, "market": "nyc", "optional_markets": ["bos"]}
        assert api.call("POST", "/ppc/entries", user=f"h{k}", body={"fields": fields}).status_code == 201
        token = jwt.encode({"phone": phone, "campaignId": "ppc", "exp": int(time.time()) + 600}, PHONE_SECRET)
        assert api.call("POST", "/ppc/entries/confirm", user=f"h{k}", body={"phoneJwt": token}).status_code == 200
    records = [{"phone": f"+1212777{k:04d}", "score": 10 + k} for k in range(count)]
    assert (
        api.call("POST", "/ppc/entries/scoring", user="boss", supreme=True, body={"records": records}).status_code
        == 200
    )


def commit(api: Api, **body: Any) -> Any:
    sent = {"name": "Presale", "criteria": {}, "capacities": {"nyc": 1, "bos": 1}, **body}
    return api.call("POST", DRAWS, user="boss", supreme=True, body=sent)


def nothing_drawn(api: Api) -> None:
    assert api.call("GET", DRAWS, user=None).get_json() == {"draws": []}


@pytest.mark.parametrize(
    "body, status, code",
    [
        ({"capacities": {"mars": 1}}, 400, "INVALID_DRAW"),
        ({"capacities": {"nyc": -1}}, 400, "INVALID_DRAW"),
        ({"capacities": {"nyc": "5"}}, 400, "INVALID_DRAW"),
        ({"mechanism": "lottery"}, 400, "INVALID_DRAW"),
        ({"offerHours": 0}, 400, "INVALID_DRAW"),
        ({"beaconRound": 1}, 400, "INVALID_DRAW"),
        ({"criteria": {"minscore": 5}}, 400, "BAD_REQUEST"),
        ({"criteria": {"marketIds": "nyc", "minScore": "5"}}, 400, "BAD_REQUEST"),
        ({"criteria": []}, 400, "BAD_REQUEST"),
        ({"surprise": True}, 400, "BAD_REQUEST"),
    ],
)
def test_DRW_001_a_bad_commit_is_refused_in_the_envelope_and_stores_nothing(
    api: Api, body: dict[str, Any], status: int, code: str
) -> None:
    scored_fans(api, 2)
    assert_error(commit(api, **body), status, code)
    nothing_drawn(api)


def test_DRW_001_no_entrant_a_fan_or_no_token_is_refused(api: Api) -> None:
    assert_error(commit(api), 400, "INVALID_DRAW")
    assert_error(
        api.call("POST", DRAWS, user="h0", body={"name": "x", "criteria": {}, "capacities": {"nyc": 1}}),
        403,
        "FORBIDDEN",
    )
    assert_error(api.call("POST", DRAWS, user=None, body={}), 401, "UNAUTHORIZED")
    nothing_drawn(api)


def test_DRW_006_public_reads_need_no_token_and_unknown_draws_are_not_found(api: Api) -> None:
    assert api.call("GET", "/nosuch/draws", user=None).get_json() == {"draws": []}
    for path in (
        "/ppc/draws/01NOPE",
        "/ppc/draws/01NOPE/entrants",
        "/ppc/draws/01NOPE/results",
        "/ppc/draws/01NOPE/rolls",
    ):
        answer = assert_error(api.call("GET", path, user=None), 404, "DRAW_NOT_FOUND")
        assert answer is not None
    scored_fans(api)
    draw = commit(api).get_json()
    base = f"{DRAWS}/{draw['drawId']}"
    assert_error(api.call("GET", f"{base}/results", user=None), 409, "DRAW_NOT_REVEALED")
    assert api.call("GET", f"{base}/rolls", user=None).get_data() == b""
    listed = api.call("GET", DRAWS, user=None)
    assert (
        listed.headers["Access-Control-Allow-Origin"] == "*"
        and listed.get_json()["draws"][0]["drawId"] == draw["drawId"]
    )
    text = json.dumps(listed.get_json()) + api.call("GET", f"{base}/entrants", user=None).get_data(as_text=True)
    assert not any(f'"h{k}"' in text for k in range(4)) and "+1212777" not in text and "@" not in text


def test_DRW_004_fans_answer_their_own_offer_admins_name_tickets(api: Api) -> None:
    scored_fans(api)
    draw = commit(api).get_json()
    base = f"{DRAWS}/{draw['drawId']}"
    assert_error(api.call("POST", f"{base}/accept", user="h0", body={}), 409, "OFFER_NOT_OPEN")  # not revealed
    revealed = api.call("POST", f"{base}/reveal", user="boss", supreme=True, body={})
    assert revealed.status_code == 200 and revealed.get_json()["reveal"]["seed"] is not None
    assert_error(api.call("POST", f"{base}/reveal", user="boss", supreme=True, body={}), 409, "DRAW_CLOSED")
    assert_error(
        api.call("POST", f"{base}/cancel", user="boss", supreme=True, body={"reason": "x"}), 409, "DRAW_CLOSED"
    )
    items = {f"h{k}": api.call("GET", "/ppc/entries", user=f"h{k}").get_json()["draws"][0] for k in range(4)}
    offered = [u for u, i in items.items() if i["status"] == "offered"]
    waiting = [u for u, i in items.items() if i["status"] == "waitlisted"]
    assert len(offered) == 2 and len(waiting) == 2
    assert_error(api.call("POST", f"{base}/accept", user=offered[0], body={"tickets": ["x"]}), 400, "BAD_REQUEST")
    accepted = api.call("POST", f"{base}/accept", user=offered[0], body={})
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "accepted"
    assert_error(api.call("POST", f"{base}/accept", user=waiting[0], body={}), 409, "OFFER_NOT_OPEN")
    assert_error(api.call("POST", f"{base}/accept", user="boss", supreme=True, body={}), 400, "BAD_REQUEST")
    tickets = [items[offered[1]]["ticket"], "0" * 32, "not-a-ticket"]
    batch = api.call("POST", f"{base}/decline", user="boss", supreme=True, body={"tickets": tickets}).get_json()
    assert [r["ok"] for r in batch["results"]] == [True, False, False]
    assert batch["results"][1]["error"]["code"] == "OFFER_NOT_OPEN"
    too_many = {"tickets": ["0" * 32] * 1_001}
    assert_error(
        api.call("POST", f"{base}/decline", user="boss", supreme=True, body=too_many), 413, "PAYLOAD_TOO_LARGE"
    )
    rolled = [api.call("GET", "/ppc/entries", user=u).get_json()["draws"][0]["status"] for u in waiting]
    assert rolled.count("offered") == 1  # the declined unit went to the first waitlisted fan ranking it


def test_DRW_005_blocking_or_erasing_a_fan_voids_their_offer_and_rolls_it(api: Api) -> None:
    scored_fans(api)
    draw = commit(api).get_json()
    base = f"{DRAWS}/{draw['drawId']}"
    api.call("POST", f"{base}/reveal", user="boss", supreme=True, body={})
    items = {f"h{k}": api.call("GET", "/ppc/entries", user=f"h{k}").get_json()["draws"][0] for k in range(4)}
    first, second = [u for u, i in items.items() if i["status"] == "offered"]
    blocked = api.call(
        "POST", "/ppc/entries/verdicts", user="boss", supreme=True, body=[{"userId": first, "isBlocked": True}]
    )
    assert blocked.status_code == 200
    assert api.call("GET", "/ppc/entries", user=first).get_json()["draws"][0]["status"] == "void"
    assert api.call("DELETE", f"/users/{second}", user="boss", supreme=True).status_code == 200
    rolls = [json.loads(x) for x in api.call("GET", f"{base}/rolls", user=None).get_data().splitlines()]
    assert [(r["reason"], r["by"]) for r in rolls] == [("void", "admin"), ("void", "admin")]
    assert all(r["offeredTo"] is not None for r in rolls)  # both waitlisted fans rank nyc and bos
    ticket_of_erased = items[second]["ticket"]
    assert ticket_of_erased.encode() in api.call("GET", f"{base}/entrants", user=None).get_data()  # files keep it
