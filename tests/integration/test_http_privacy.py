"""USR-002 through HTTP and the CLI on the real wiring (SQLite): opt-outs, their events and their errors."""

from __future__ import annotations

import json
import time

import jwt
from click.testing import CliRunner

from adapters_cli.main import cli
from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of
from tests.integration.test_http_selection import events


def test_USR_002_opt_out_over_http_and_cli(api: Api) -> None:
    fields = {**VALID_FIELDS, "allow_marketing": True}
    assert api.register(fields, campaign="c1", user="u2").status_code == 201
    assert api.register({**fields, "phone": "+12125550177"}, campaign="ppc", user="u2").status_code == 201
    before = api.call("GET", "/c1/entries", user="u2").get_json()
    answer = admin(api, "POST", "/users/u2/optout", {"type": "DO_NOT_SELL"})
    assert answer.status_code == 200 and answer.get_json() == {"modified": 2}
    after = api.call("GET", "/c1/entries", user="u2").get_json()
    assert after["fields"] == {**before["fields"], "allow_marketing": False}
    assert {k: v for k, v in after.items() if k not in ("fields", "dateUpdated")} == {
        k: v for k, v in before.items() if k not in ("fields", "dateUpdated")
    }
    updates = [e for e in events(api) if e["type"] == "entry.updated" and e["entry"]["userId"] == "u2"]
    assert sorted(e["campaign"]["id"] for e in updates) == ["c1", "ppc"]
    assert all(e["entry"]["fields"]["allow_marketing"] is False for e in updates)
    assert admin(api, "POST", "/users/u2/optout", {"type": "DO_NOT_SELL"}).get_json() == {"modified": 0}
    assert admin(api, "POST", "/users/nobody/optout", {"type": "UNSUBSCRIBE"}).get_json() == {"modified": 0}
    assert_error(admin(api, "POST", "/users/u2/optout", {"type": "SELL"}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", "/users/u2/optout", {"kind": "DO_NOT_SELL"}), 400, "BAD_REQUEST")
    assert_error(api.call("POST", "/users/u2/optout", user="u2", body={"type": "DO_NOT_SELL"}), 403, "FORBIDDEN")
    cli_run = CliRunner().invoke(cli, ["users", "optout", "u2", "--type", "UNSUBSCRIBE"], obj=api.services)
    assert cli_run.exit_code == 0 and "2 entries of u2 changed (UNSUBSCRIBE)" in cli_run.output
    final = api.call("GET", "/ppc/entries", user="u2").get_json()["fields"]
    assert (final["allow_notification"], final["allow_livenation"], final["allow_marketing"]) == (False, False, False)
    actions = [r.action for r in api.services.audit.records(None, None, 10)]
    assert actions.count("users.optout") == 4


def test_users_export_prints_every_entry_and_scoring_record(api: Api) -> None:
    confirmed_fan(api, 1, "nyc")
    assert api.register({**VALID_FIELDS, "phone": phone_of(9)}, campaign="c1", user="f1").status_code == 201
    admin(api, "POST", "/ppc/entries/scoring", {"records": [{"phone": phone_of(1), "score": 42}]})
    result = CliRunner().invoke(cli, ["users", "export", "f1"], obj=api.services)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["userId"] == "f1"
    assert sorted(e["campaignId"] for e in data["entries"]) == ["c1", "ppc"]
    assert [(r["campaignId"], r["score"]) for r in data["scoring"]] == [("ppc", 42)]
    empty = json.loads(CliRunner().invoke(cli, ["users", "export", "nobody"], obj=api.services).stdout)
    assert empty == {"userId": "nobody", "entries": [], "scoring": []}
    assert api.services.audit.records(None, None, 1)[0].action == "users.export"


def test_USR_003_delete_user_over_http(api: Api) -> None:
    confirmed_fan(api, 1, "nyc")  # f1 in ppc, phone confirmed
    assert api.register({**VALID_FIELDS, "phone": phone_of(9)}, campaign="c1", user="f1").status_code == 201
    confirmed_fan(api, 2, "bos")
    admin(api, "POST", "/ppc/entries/scoring", {"records": [{"phone": phone_of(1), "score": 42}]})
    events(api)
    assert_error(api.call("DELETE", "/users/f1", user="f1"), 403, "FORBIDDEN")
    answer = admin(api, "DELETE", "/users/f1")
    assert answer.status_code == 200
    assert answer.get_json() == {"deleted": {"entries": 2, "scoring": 1}, "userId": "f1"}
    for campaign in ("ppc", "c1"):
        assert_error(api.call("GET", f"/{campaign}/entries", user="f1"), 404, "ENTRY_NOT_FOUND")
    assert api.call("GET", "/users/f1/entries", user="f1").get_json() == {"entries": []}
    assert admin(api, "GET", "/ppc/entries/scoring").get_json()["counts"]["total"] == 0  # f2 was not scored
    deleted = [e for e in events(api) if e["type"] == "entry.deleted"]
    assert sorted((e["entry"]["campaignId"], e["partitionKey"]) for e in deleted) == [
        ("c1", f"c1:{phone_of(9)}"),
        ("ppc", f"ppc:{phone_of(1)}"),
    ]
    assert all(set(e["entry"]) == {"campaignId", "userId"} for e in deleted)
    # another fan can now confirm f1's former phone
    fields = {**VALID_FIELDS, "phone": phone_of(1), "market": "nyc"}
    assert api.register(fields, campaign="ppc", user="f7").status_code == 201
    now = int(time.time())
    token = jwt.encode({"phone": phone_of(1), "campaignId": "ppc", "iat": now, "exp": now + 600}, PHONE_SECRET)
    confirmed = api.call("POST", "/ppc/entries/confirm", user="f7", body={"phoneJwt": token})
    assert confirmed.status_code == 200 and confirmed.get_json()["phoneConfirmed"] is True
    assert admin(api, "DELETE", "/users/f1").get_json() == {"deleted": {"entries": 0, "scoring": 0}, "userId": "f1"}
    cli_run = CliRunner().invoke(cli, ["users", "delete", "f2", "--yes"], obj=api.services)
    assert cli_run.exit_code == 0, cli_run.output
    assert json.loads(cli_run.stdout) == {"deleted": {"entries": 1, "scoring": 0}, "userId": "f2"}
    asked = CliRunner().invoke(cli, ["users", "delete", "f7"], obj=api.services, input="n\n")
    assert asked.exit_code != 0 and api.call("GET", "/ppc/entries", user="f7").status_code == 200
    actions = [r.action for r in api.services.audit.records(None, None, 10)]
    assert actions.count("users.delete") == 3
