"""USR-002 through HTTP and the CLI on the real wiring (SQLite): opt-outs, their events and their errors."""

from __future__ import annotations

import json

from click.testing import CliRunner

from adapters_cli.main import cli
from tests.builders import VALID_FIELDS
from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin
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
    from tests.integration.test_http_scoring import confirmed_fan, phone_of  # noqa: PLC0415

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
