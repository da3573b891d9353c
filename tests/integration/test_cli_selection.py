"""The selection commands through Click's runner on the real wiring (SQLite): scoring upload of CSV and JSONL,
eligibility, selection export (CSV safe for spreadsheets), audit list."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from adapters_cli.main import cli
from tests.builders import VALID_FIELDS
from tests.http_app import Api, make_api
from tests.integration.test_http_scoring import confirmed_fan, phone_of


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    wired = make_api(tmp_path)
    yield wired
    wired.services.close()


def run(api: Api, *args: str) -> tuple[str, str]:
    result = CliRunner().invoke(cli, list(args), obj=api.services)
    assert result.exit_code == 0, (result.output, result.stderr)
    return result.stdout, result.stderr


def test_upload_csv_and_jsonl_then_counts_export_and_audit(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1, "nyc", ["bos"])
    confirmed_fan(api, 2, "bos")
    # A fan whose name a spreadsheet would run as a formula.
    fields = {
        **VALID_FIELDS,
        "phone": phone_of(3),
        "first_name": "=HYPERLINK(1)",
        "market": "phl",
        "optional_markets": [],
    }
    assert api.register(fields, campaign="ppc", user="f3").status_code == 201
    from tests.integration.test_http_phones import phone_token  # noqa: PLC0415

    confirmed = api.call("POST", "/ppc/entries/confirm", user="f3", body={"phoneJwt": phone_token(phone_of(3))})
    assert confirmed.status_code == 200

    table = tmp_path / "scores.csv"
    table.write_text(
        "phone,score,verdict,randomScore,tags\n"
        f'{phone_of(1)},80,true,0.5,"{{""vip"": true}}"\n'
        f"{phone_of(2)},not-a-number,,,\n"
        "+12125559999,10,,,\n"
    )
    out, _ = run(api, "scoring", "upload", str(table), "--campaign", "ppc")
    summary = json.loads(out)
    assert (summary["received"], summary["inserted"], summary["invalid"], summary["unmatched"]) == (3, 1, 1, 1)
    lines = tmp_path / "scores.jsonl"
    lines.write_text(
        json.dumps({"phone": phone_of(2), "score": 70})
        + "\nnot json\n"
        + json.dumps({"phone": phone_of(3), "score": 90})
    )
    summary = json.loads(run(api, "scoring", "upload", str(lines), "--campaign", "ppc")[0])
    assert (summary["received"], summary["inserted"], summary["invalid"]) == (3, 2, 1)
    assert summary["rejected"] == [{"index": 1, "reason": "INVALID_PHONE"}]

    table_out, _ = run(api, "eligibility", "--campaign", "ppc")
    assert "total 3  verified 3  selected 0  available 3" in table_out
    assert [line.split()[:3] for line in table_out.splitlines()[2:4]] == [["nyc", "1", "0"], ["bos", "1", "1"]]
    assert "total 1" in run(api, "eligibility", "--campaign", "ppc", "--markets", "nyc,chi")[0]

    exported, note = run(api, "selection", "export", "--campaign", "ppc")
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [r["userId"] for r in rows] == ["f3", "f1", "f2"] and "3 fans exported from ppc" in note
    assert rows[0]["firstName"] == "'=HYPERLINK(1)"  # OWASP: neutralised, never evaluated
    assert rows[1]["marketIds"] == "nyc|bos" and json.loads(rows[1]["tags"]) == {"vip": True}
    exported, _ = run(api, "selection", "export", "--campaign", "ppc", "--tag", "vip")
    assert [r["userId"] for r in csv.DictReader(io.StringIO(exported))] == ["f1"]

    audit, _ = run(api, "audit", "list", "--campaign", "ppc")
    assert audit.splitlines()[0] == "AT\tACTOR\tACTION\tCAMPAIGN\tPARAMETERS\tCOUNTS"
    assert [line.split("\t")[2] for line in audit.splitlines()[1:]] == ["scoring.upload", "scoring.upload"]
    assert all(line.split("\t")[1].startswith("cli:") for line in audit.splitlines()[1:])
    assert run(api, "audit", "list", "--since", "2999-01-01T00:00:00Z")[0].count("\n") == 1


def test_errors_are_one_line(api: Api, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("phone,score\n")
    result = CliRunner().invoke(cli, ["scoring", "upload", str(empty), "--campaign", "nope"], obj=api.services)
    assert result.exit_code != 0 and "CAMPAIGN_NOT_FOUND" in result.output
    result = CliRunner().invoke(cli, ["audit", "list", "--since", "yesterday"], obj=api.services)
    assert result.exit_code == 2 and "--since" in result.output


def test_codes_assign_and_verdicts_apply(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1, "nyc")
    confirmed_fan(api, 2, "bos")
    table = tmp_path / "codes.csv"
    table.write_text(
        "userId,code,codeConfigId,start,end,revealCode\n"
        "f1,AAA,presale,2020-01-01T00:00:00Z,,\n"
        "f1,AAA,presale,2020-01-01T00:00:00Z,,\n"
        "ghost,BBB,,2020-01-01T00:00:00+02:00,,\n"
    )
    out, _ = run(api, "codes", "assign", str(table), "--campaign", "ppc")
    assert json.loads(out) == {"input": 3, "assigned": 1, "scoring": 0, "unmatched": ["ghost"]}
    assert api.call("GET", "/ppc/entries", user="f1").get_json()["presaleCode"] == "AAA"
    lines = tmp_path / "verdicts.jsonl"
    lines.write_text(json.dumps({"userId": "f2", "isBlocked": True}) + "\n")
    out, _ = run(api, "verdicts", "apply", str(lines), "--campaign", "ppc")
    assert json.loads(out) == {"input": 1, "saved": 1, "unmatched": []}
    blocked = api.call("GET", "/ppc/entries/blocked", user="admin-1", supreme=True).get_json()
    assert [e["userId"] for e in blocked["entries"]] == ["f2"]
    bad = tmp_path / "bad.csv"
    bad.write_text("userId,isBlocked\nf1,maybe\n")
    result = CliRunner().invoke(cli, ["verdicts", "apply", str(bad), "--campaign", "ppc"], obj=api.services)
    assert result.exit_code != 0 and "item 1" in result.output


def test_tag_criteria_options_are_bounded_as_the_http_criteria(tmp_path: Path) -> None:
    """--tag / --exclude-tag take tag names as the HTTP criteria do (issue 21, item 6): at most 100 characters."""
    for option in ("--tag", "--exclude-tag"):
        result = CliRunner().invoke(
            cli, ["eligibility", "--campaign", "c1", option, "x" * 101], env={"ENTRY_DATA_DIR": str(tmp_path)}
        )
        assert result.exit_code == 2 and "at most 100 characters" in result.output, result.output
