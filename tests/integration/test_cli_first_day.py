"""A first day with the CLI (issue 21 items 11 and 12), through Click's runner on the real wiring: a command that
creates secrets says where and how to point it at the service's data folder; a missing campaigns file names the
variable and the README's export line; progress has units and comes only after the checks; summaries once;
an upload's answer says when its list of rejected rows is cut."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters_cli.main import cli
from tests.builders import VALID_FIELDS
from tests.http_app import PHONE_SECRET, SECRET, Api, make_api, write_sources
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of

NO_CONFIGURATION = dict.fromkeys(
    ("ENTRY_DATA_DIR", "ENTRY_AUTH_SECRET", "ENTRY_PHONE_TOKEN_SECRET", "ENTRY_AUTH_PUBLIC_KEY", "ENTRY_STORE")
)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    wired = make_api(tmp_path)
    yield wired
    wired.services.close()


# Item 11 -------------------------------------------------------------------------------------------------------


def test_a_command_that_creates_secrets_says_so_naming_the_folder_and_ENTRY_DATA_DIR(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # another folder than the service's
    runner = CliRunner()
    first = runner.invoke(cli, ["token", "--user", "fan-1"], env=NO_CONFIGURATION)
    assert first.exit_code == 0, first.output
    assert first.stdout.count(".") == 2  # the token alone on stdout
    (line,) = [json.loads(x) for x in first.stderr.splitlines() if x.strip()]  # a JSON log line (OPS-001)
    assert line["level"] == "WARNING"
    assert str(tmp_path.resolve() / ".entry-service") in line["message"] and "ENTRY_DATA_DIR" in line["message"]
    assert "export ENTRY_DATA_DIR=" in line["message"]
    second = runner.invoke(cli, ["token", "--user", "fan-1"], env=NO_CONFIGURATION)
    assert second.exit_code == 0 and second.stderr == ""  # the same secret, nothing to say


def test_a_missing_campaigns_file_names_the_variable_and_the_readme_export_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    env = {**NO_CONFIGURATION, "ENTRY_AUTH_SECRET": SECRET, "ENTRY_PHONE_TOKEN_SECRET": PHONE_SECRET}
    result = runner.invoke(cli, ["relay", "--once"], env={**env, "ENTRY_CAMPAIGNS": None})
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "ENTRY_CAMPAIGNS" in line and "campaigns.json: cannot read it" in line
    assert "export ENTRY_CAMPAIGNS=file:examples/campaigns.json" in line
    sources = write_sources(tmp_path / "sources")
    users = {**env, "ENTRY_CAMPAIGNS": sources["ENTRY_CAMPAIGNS"], "ENTRY_USERS": "file:no-users.json"}
    result = runner.invoke(cli, ["relay", "--once"], env=users)
    assert result.exit_code == 1 and "export ENTRY_USERS=file:examples/users.json" in result.stderr


# Item 12 -------------------------------------------------------------------------------------------------------


def test_worker_once_prints_its_summary_once(api: Api) -> None:
    assert api.register(VALID_FIELDS).status_code == 201
    body = {"entries": [{"campaignId": "c1", "userId": "u1"}]}
    assert api.call("POST", "/v2/refreshScores", user="boss", supreme=True, body=body).status_code == 200
    worked = CliRunner().invoke(cli, ["worker", "--once"], obj=api.services)
    assert worked.exit_code == 0, worked.output
    assert worked.stdout == "1 refreshed, 0 still failing (they stay queued)\n"
    assert worked.output.count("refreshed") == 1


def test_more_than_100_rejected_rows_say_the_list_is_cut_over_the_cli_and_http(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1)
    table = tmp_path / "scores.csv"
    table.write_text("phone,score\n" + f"{phone_of(1)},5\n" + "not-a-phone,1\n" * 150)
    result = CliRunner().invoke(cli, ["scoring", "upload", str(table), "--campaign", "ppc"], obj=api.services)
    summary = json.loads(result.stdout)
    assert (summary["invalid"], len(summary["rejected"]), summary["rejectedTruncated"]) == (150, 100, True)
    records = [{"phone": phone_of(1), "score": 5}] + [{"phone": "x", "score": 1}] * 150
    answer = admin(api, "POST", "/ppc/entries/scoring", {"records": records}).get_json()
    assert (answer["invalid"], len(answer["rejected"]), answer["rejectedTruncated"]) == (150, 100, True)
    few = admin(api, "POST", "/ppc/entries/scoring", {"records": records[:3]}).get_json()
    assert few["rejectedTruncated"] is False


def test_upload_progress_counts_rows_and_bytes_with_units_and_a_rate(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1)
    table = tmp_path / "scores.csv"
    table.write_text("phone,score\n" + f"{phone_of(1)},5\n")
    result = CliRunner().invoke(
        cli, ["scoring", "upload", str(table), "--campaign", "ppc"], obj=api.services, env={"ENTRY_PROGRESS": "1"}
    )
    assert result.exit_code == 0, result.output
    (line,) = result.stderr.splitlines()
    assert re.fullmatch(r"uploading: 1 rows read, 1 matched \(\d+ B of \d+ B \(100%\) at [\d.]+ [KMG]?i?B/s\)", line)


def test_transfer_prints_nothing_before_its_checks_fail(api: Api) -> None:
    result = CliRunner().invoke(
        cli,
        ["transfer", "--campaign", "c1", "--from", "nyc", "--to", "nowhere"],
        obj=api.services,
        env={"ENTRY_PROGRESS": "1"},
    )
    assert result.exit_code == 1 and "INVALID_TRANSFER" in result.stderr
    assert "moving" not in result.output and len(result.stderr.splitlines()) == 1


def test_transfer_progress_counts_entries(api: Api) -> None:
    fields = {**VALID_FIELDS, "market": "phl", "optional_markets": []}
    assert api.register(fields).status_code == 201
    result = CliRunner().invoke(
        cli,
        ["transfer", "--campaign", "c1", "--from", "phl", "--to", "bos"],
        obj=api.services,
        env={"ENTRY_PROGRESS": "1"},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"modified": 1, "scoring": 0}
    assert re.fullmatch(r"moving entries: 1 of 1 entries \(100%\) at [\d,]+ entries/s\n", result.stderr)
