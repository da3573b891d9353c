"""MKT-003 through HTTP and the CLI on the real wiring (SQLite): entries and scoring records move, each moved
entry publishes entry.transferred, a second transfer changes nothing, bad requests change nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner

from adapters_cli.main import cli
from entrycore.caller import Caller
from entrycore.errors import TransferInProgress
from entrycore.usecases.leases import transfer_lock
from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of
from tests.integration.test_http_selection import events


def markets_of(api: Api, user: str) -> list[str]:
    answer = api.call("GET", "/ppc/entries", user=user)
    assert answer.status_code == 200
    return list(answer.get_json()["markets"])


def test_MKT_003_transfer_over_http(api: Api) -> None:
    confirmed_fan(api, 1, "nyc", ["bos"])  # primary = from
    confirmed_fan(api, 2, "bos", ["nyc", "chi"])  # optional = from, to absent
    confirmed_fan(api, 3, "chi", ["nyc", "phl"])  # optional = from, to present
    confirmed_fan(api, 4, "bos")  # from absent
    records = [{"phone": phone_of(k), "score": 10 * k} for k in range(1, 5)]
    assert admin(api, "POST", "/ppc/entries/scoring", {"records": records}).status_code == 200
    before = {f"f{k}": api.call("GET", "/ppc/entries", user=f"f{k}").get_json() for k in range(1, 5)}
    events(api)  # the registrations' events, delivered
    answer = admin(api, "POST", "/ppc/entries/transfer", {"fromMarketId": "nyc", "toMarketId": "phl"})
    assert answer.status_code == 200
    assert answer.get_json() == {"modified": 3, "scoring": 3}
    assert markets_of(api, "f1") == ["phl", "bos"]
    assert markets_of(api, "f2") == ["bos", "phl", "chi"]
    assert markets_of(api, "f3") == ["chi", "phl"]
    assert markets_of(api, "f4") == ["bos"]
    after = api.call("GET", "/ppc/entries", user="f1").get_json()
    assert after["fields"]["market"] == "phl" and after["fields"]["optional_markets"] == ["bos"]
    assert after["dateUpdated"] > before["f1"]["dateUpdated"]
    assert api.call("GET", "/ppc/entries", user="f4").get_json() == before["f4"]
    listed = admin(api, "GET", "/ppc/entries/scoring?marketIds=phl&limit=10").get_json()
    assert sorted((r["userId"], tuple(r["marketIds"])) for r in listed["list"]) == [
        ("f1", ("phl", "bos")),
        ("f2", ("bos", "phl", "chi")),
        ("f3", ("chi", "phl")),
    ]
    moved = [e for e in events(api) if e["type"] == "entry.transferred"]
    assert sorted(e["entry"]["userId"] for e in moved) == ["f1", "f2", "f3"]
    assert all(e["partitionKey"] == f"ppc:{phone_of(int(e['entry']['userId'][1:]))}" for e in moved)
    assert [m["marketId"] for m in next(e for e in moved if e["entry"]["userId"] == "f2")["entry"]["markets"]] == [
        "bos",
        "phl",
        "chi",
    ]

    again = admin(api, "POST", "/ppc/entries/transfer", {"fromMarketId": "nyc", "toMarketId": "phl"})
    assert again.get_json() == {"modified": 0, "scoring": 0}
    assert [e for e in events(api) if e["type"] == "entry.transferred"] == moved  # nothing new
    audit = [r for r in api.services.audit.records("ppc", None, 10) if r.action == "entries.transfer"]
    assert [(dict(r.parameters), dict(r.counts)) for r in audit] == [
        ({"fromMarketId": "nyc", "toMarketId": "phl"}, {"modified": 0, "scoring": 0}),
        ({"fromMarketId": "nyc", "toMarketId": "phl"}, {"modified": 3, "scoring": 3}),
    ]


def test_bad_transfers_change_nothing(api: Api) -> None:
    confirmed_fan(api, 1, "nyc")
    before = api.call("GET", "/ppc/entries", user="f1").get_json()
    path = "/ppc/entries/transfer"
    assert_error(admin(api, "POST", path, {"fromMarketId": "nyc", "toMarketId": "nyc"}), 400, "INVALID_TRANSFER")
    assert_error(admin(api, "POST", path, {"fromMarketId": "nyc", "toMarketId": "atl"}), 400, "INVALID_TRANSFER")
    assert_error(admin(api, "POST", path, {"fromMarketId": "zzz", "toMarketId": "bos"}), 400, "INVALID_TRANSFER")
    assert_error(admin(api, "POST", path, {"fromMarketId": "nyc"}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", path, {"fromMarketId": "nyc", "toMarketId": 3}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", path, {"fromMarketId": "nyc", "toMarketId": "bos", "x": 1}), 400, "BAD_REQUEST")
    assert_error(admin(api, "POST", path, ["nyc", "bos"]), 400, "BAD_REQUEST")
    assert_error(
        admin(api, "POST", "/nope/entries/transfer", {"fromMarketId": "nyc", "toMarketId": "bos"}),
        404,
        "CAMPAIGN_NOT_FOUND",
    )
    fan = api.call("POST", path, user="f1", body={"fromMarketId": "nyc", "toMarketId": "bos"})
    assert_error(fan, 403, "FORBIDDEN")
    assert api.call("GET", "/ppc/entries", user="f1").get_json() == before


def test_transfer_from_the_command_line(api: Api) -> None:
    confirmed_fan(api, 1, "nyc", ["bos"])
    result = CliRunner().invoke(
        cli, ["transfer", "--campaign", "ppc", "--from", "bos", "--to", "nyc"], obj=api.services
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"modified": 1, "scoring": 0}
    assert markets_of(api, "f1") == ["nyc"]
    bad = CliRunner().invoke(cli, ["transfer", "--campaign", "ppc", "--from", "nyc", "--to", "nyc"], obj=api.services)
    assert bad.exit_code != 0 and "INVALID_TRANSFER" in bad.output


def test_MKT_003_a_transfer_while_another_runs_is_409_over_http_the_cli_and_the_library(api: Api) -> None:
    """Another process holds the campaign's transfer lock (in the datastore): every entry point refuses, moves
    nothing, and runs once the lock is released."""
    confirmed_fan(api, 1, "nyc", ["bos"])
    store, now = api.services.stores.locks, api.services.clock.now()
    assert store.take_lock(transfer_lock("ppc"), "another process", now, now + timedelta(minutes=5))
    body = {"fromMarketId": "nyc", "toMarketId": "phl"}
    refused = admin(api, "POST", "/ppc/entries/transfer", body)
    assert_error(refused, 409, "TRANSFER_IN_PROGRESS")
    cli_args = ["transfer", "--campaign", "ppc", "--from", "nyc", "--to", "phl"]
    by_cli = CliRunner().invoke(cli, cli_args, obj=api.services)
    assert by_cli.exit_code != 0 and "TRANSFER_IN_PROGRESS" in by_cli.output
    with pytest.raises(TransferInProgress):
        api.services.transfers.transfer(Caller("admin", is_supreme=True), "ppc", "nyc", "phl")
    assert markets_of(api, "f1") == ["nyc", "bos"]
    assert admin(api, "POST", "/ppc/entries/transfer", {"fromMarketId": "bos", "toMarketId": "chi"}).status_code == 409
    store.release_lock(transfer_lock("ppc"), "another process")
    assert admin(api, "POST", "/ppc/entries/transfer", body).get_json() == {"modified": 1, "scoring": 0}
    assert markets_of(api, "f1") == ["phl", "bos"]
