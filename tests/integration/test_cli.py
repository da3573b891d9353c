"""The CLI through Click's runner on the real wiring (SQLite, file sources): invites import, db init, tokens."""

from __future__ import annotations

import os
import time
from pathlib import Path

import jwt
from click.testing import CliRunner

from adapters_cli.main import cli
from adapters_cli.serve import ServeOptions, worker_loader
from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, SECRET, Api, make_api, write_sources


def test_invites_import_reads_lines_and_csv_and_counts_new_ones(tmp_path: Path) -> None:
    api: Api = make_api(tmp_path)
    try:
        lines = tmp_path / "invites.txt"
        lines.write_text("VIP-001\n\n# a comment\nVIP-002\nVIP-001\n")
        table = tmp_path / "invites.csv"
        table.write_text("code,name\nVIP-003,Ana\nVIP-002,Bo\n")
        runner = CliRunner()
        first = runner.invoke(cli, ["invites", "import", str(lines), "--campaign", "invite"], obj=api.services)
        assert first.exit_code == 0, first.output
        assert "3 invites read, 2 added to invite" in first.output
        second = runner.invoke(cli, ["invites", "import", str(table), "--campaign", "invite"], obj=api.services)
        assert "2 invites read, 1 added to invite" in second.output
        assert api.register(VALID_FIELDS, campaign="invite", inviteCode="VIP-003").status_code == 201
        unknown = runner.invoke(cli, ["invites", "import", str(lines), "--campaign", "nope"], obj=api.services)
        assert unknown.exit_code != 0 and "CAMPAIGN_NOT_FOUND" in unknown.output
    finally:
        api.services.close()


def test_db_init_token_and_phone_token(tmp_path: Path) -> None:
    env = write_sources(tmp_path)
    runner = CliRunner()
    init = runner.invoke(cli, ["db", "init"], env=env)
    assert init.exit_code == 0 and "datastore ready" in init.output
    assert (tmp_path / "data" / "entries.db").exists()
    token = runner.invoke(cli, ["token", "--user", "fan-9", "--supreme", "--ttl", "60"], env=env).output.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert claims["sub"] == "fan-9" and claims["isSupreme"] is True and claims["exp"] <= time.time() + 61
    phone = runner.invoke(cli, ["phone-token", "--campaign", "ppc", "--phone", "+12125550123", "--user", "u2"], env=env)
    phone_claims = jwt.decode(phone.output.strip(), PHONE_SECRET, algorithms=["HS256"])
    assert (phone_claims["campaignId"], phone_claims["phone"], phone_claims["sub"]) == ("ppc", "+12125550123", "u2")
    bad = runner.invoke(cli, ["db", "init"], env={**env, "ENTRY_STORE": "redis://x"})
    assert bad.exit_code != 0 and "ENTRY_STORE" in bad.output


def test_relay_and_worker_once(tmp_path: Path) -> None:
    api = make_api(tmp_path)
    try:
        api.register(VALID_FIELDS)  # its event and its receipt wait in the outbox
        runner = CliRunner()
        relayed = runner.invoke(cli, ["relay", "--once"], obj=api.services)
        assert relayed.exit_code == 0 and "2 delivered, 0 still pending" in relayed.output
        assert (tmp_path / "data" / "events.jsonl").read_text().count("entry.created") == 1
        worked = runner.invoke(cli, ["worker", "--once"], obj=api.services)
        assert worked.exit_code == 0 and "0 refreshed" in worked.output
    finally:
        api.services.close()


def test_a_secret_pyjwt_refuses_as_an_hmac_key_is_a_configuration_error(tmp_path: Path) -> None:
    env = {
        **write_sources(tmp_path),
        "ENTRY_AUTH_SECRET": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7 a public key, not a secret",
    }
    refused = CliRunner().invoke(cli, ["relay", "--once"], env=env)
    assert refused.exit_code != 0 and "ENTRY_AUTH_SECRET" in refused.output
    assert "Traceback" not in refused.output


def _factory(**options: object) -> dict[str, object]:
    return options


def test_each_serve_worker_gets_the_options_as_arguments_not_through_the_environment() -> None:
    before = dict(os.environ)
    loader = worker_loader(ServeOptions(threads=3, body_timeout=2.5, admin_threads=1), f"{__name__}:_factory")
    assert loader() == {"threads": 3, "body_timeout": 2.5, "admin_threads": 1}  # what granian calls in a worker
    assert dict(os.environ) == before
