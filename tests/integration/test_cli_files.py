"""SCR-002's refusal of whole files (issue 21 item 8) through Click's runner on the real wiring (SQLite): a file that
cannot be a scoring upload, an invite list, codes or blocks is refused with one line and a non-zero exit before
anything is stored; bad rows of a good file are still reported per row. Invites only go to invite-only campaigns,
over HTTP too."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from adapters_cli.context import admin_caller
from adapters_cli.main import cli
from entrycore.eligibility import EligibilityCriteria
from entrycore.usecases.scoring import UPLOAD_BATCH
from tests.http_app import Api, make_api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import confirmed_fan, phone_of

UPLOAD_HEADER = "phone,score\n"


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    wired = make_api(tmp_path)
    yield wired
    wired.services.close()


def invoke(api: Api, *args: str, stdin: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), obj=api.services, input=stdin)


def refused(result: Result, *words: str) -> str:
    """The one line a refused file gives: non-zero exit, no traceback, naming the problem."""
    assert result.exit_code == 1, (result.output, result.exception)
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def nothing_stored(api: Api) -> None:
    """No scoring record and no audit record of the campaign ppc."""
    assert scored_users(api) == []
    assert api.services.audit.records("ppc", None, 10) == []


def scored_users(api: Api) -> list[str]:
    criteria = EligibilityCriteria(include_filtered=True, reassign=True)
    page, _ = api.services.scoring.page(admin_caller(), "ppc", criteria, 100, 0)
    return [r.user_id for r in page]


# Scoring uploads -----------------------------------------------------------------------------------------------


def test_SCR_002_a_csv_without_phone_and_score_columns_is_refused_before_anything_is_stored(
    api: Api, tmp_path: Path
) -> None:
    confirmed_fan(api, 1)
    table = tmp_path / "h.csv"
    table.write_text(f"telephone,points\n{phone_of(1)},5\n")
    line = refused(invoke(api, "scoring", "upload", str(table), "--campaign", "ppc"), "h.csv", "phone", "score")
    assert "telephone" in line  # what the header has instead
    nothing_stored(api)


def test_SCR_002_an_unknown_column_is_refused(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1)
    table = tmp_path / "scores.csv"
    table.write_text(f"phone,score,points\n{phone_of(1)},5,7\n")
    refused(invoke(api, "scoring", "upload", str(table), "--campaign", "ppc"), "points", "unknown column")
    nothing_stored(api)


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("scores.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", ("binary",)),
        ("scores.csv", b"phone,score\n+12125550001,5\nJos\xe9,1\n", ("line 3", "not UTF-8")),
        ("scores.xlsx", b"phone,score\n+12125550001,5\n", ("not CSV or JSONL",)),
        ("scores.json", b'{"records": [{"phone": "+12125550001", "score": 5}]}', ("not CSV or JSONL",)),
        ("scores.csv", b"", ("empty",)),
        ("scores.jsonl", b'[{"phone": "+12125550001", "score": 5}]\n', ("line 1", "not a JSON object")),
        ("scores.jsonl", b"phone,score\n+12125550001,5\n", ("line 1", "not a JSON object")),
        ("scores.jsonl", b'{"userId": "f1", "code": "AAA"}\n', ("line 1", "phone", "score")),
    ],
    ids=["binary", "latin-1", "xlsx", "json", "empty", "jsonl-array", "jsonl-of-csv", "jsonl-of-codes"],
)
def test_SCR_002_a_file_that_is_not_an_upload_is_refused(
    api: Api, tmp_path: Path, name: str, content: bytes, words: tuple[str, ...]
) -> None:
    confirmed_fan(api, 1)
    path = tmp_path / name
    path.write_bytes(content)
    refused(invoke(api, "scoring", "upload", str(path), "--campaign", "ppc"), name, *words)
    nothing_stored(api)


def test_SCR_002_a_bad_byte_far_into_a_file_is_refused_before_the_first_batch(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1)
    rows = "".join(f"+1312555{n:04d},1\n" for n in range(UPLOAD_BATCH + 1000))
    path = tmp_path / "late.csv"
    path.write_bytes(f"{UPLOAD_HEADER}{phone_of(1)},5\n{rows}".encode() + b"Jos\xe9,1\n")
    refused(invoke(api, "scoring", "upload", str(path), "--campaign", "ppc"), f"line {UPLOAD_BATCH + 1003}")
    nothing_stored(api)


def test_SCR_002_bad_rows_after_a_good_first_line_are_still_rejected_per_row(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1)
    path = tmp_path / "scores.jsonl"
    path.write_text(json.dumps({"phone": phone_of(1), "score": 5}) + "\n[1]\nnot json\n")
    result = invoke(api, "scoring", "upload", str(path), "--campaign", "ppc")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert (summary["received"], summary["inserted"], summary["invalid"]) == (3, 1, 2)


def test_SCR_002_a_pipe_that_stops_decoding_half_way_keeps_the_whole_batches_and_says_so(
    api: Api, tmp_path: Path
) -> None:
    """A pipe cannot be checked whole first: the batches stored before the bad byte stay (each is complete, an
    upload of the fixed file updates them), the audit trail records the upload as incomplete, one line says so."""
    confirmed_fan(api, 1)
    fifo = tmp_path / "scores.csv"
    os.mkfifo(fifo)
    rows = "".join(f"+1312555{n:04d},1\n" for n in range(UPLOAD_BATCH + 2000))
    content = f"{UPLOAD_HEADER}{phone_of(1)},5\n{rows}".encode() + b"Jos\xe9,1\n"

    def feed() -> None:
        with fifo.open("wb") as pipe:
            pipe.write(content)

    writer = threading.Thread(target=feed)
    writer.start()
    line = refused(invoke(api, "scoring", "upload", str(fifo), "--campaign", "ppc"), "not UTF-8", "stored")
    writer.join(5)
    assert f"line {UPLOAD_BATCH + 2003}" in line
    assert scored_users(api) == ["f1"]  # the first batch, whole
    (record,) = api.services.audit.records("ppc", None, 10)
    assert record.parameters == {"complete": False} and record.counts["matched"] == 1


def test_SCR_002_no_progress_line_is_printed_before_a_refusal(api: Api, tmp_path: Path) -> None:
    table = tmp_path / "h.csv"
    table.write_text("telephone,points\n")
    result = CliRunner().invoke(
        cli, ["scoring", "upload", str(table), "--campaign", "ppc"], obj=api.services, env={"ENTRY_PROGRESS": "1"}
    )
    assert "uploading" not in result.output
    good = tmp_path / "good.csv"
    good.write_text(UPLOAD_HEADER)
    result = CliRunner().invoke(
        cli, ["scoring", "upload", str(good), "--campaign", "nope"], obj=api.services, env={"ENTRY_PROGRESS": "1"}
    )
    assert result.exit_code == 1 and "CAMPAIGN_NOT_FOUND" in result.stderr and "uploading" not in result.output


# Invites ----------------------------------------------------------------------------------------------------


def test_SCR_002_invites_into_a_campaign_that_is_not_invite_only_are_refused(api: Api, tmp_path: Path) -> None:
    lines = tmp_path / "invites.txt"
    lines.write_text("VIP-001\n")
    line = refused(invoke(api, "invites", "import", str(lines), "--campaign", "c1"), "c1", "not invite-only")
    assert "BAD_REQUEST" in line
    assert api.services.audit.records("c1", None, 10) == []
    empty = tmp_path / "none.txt"
    empty.write_text("")
    refused(invoke(api, "invites", "import", str(empty), "--campaign", "c1"), "not invite-only")


def test_SCR_002_http_invites_into_a_campaign_that_is_not_invite_only_are_400(api: Api) -> None:
    answer = api.call("POST", "/c1/invites", user="boss", supreme=True, body={"invites": ["VIP-001"]})
    body = assert_error(answer, 400, "BAD_REQUEST")
    assert "not invite-only" in body["message"]
    assert body["payload"]["errors"][0]["path"] == "$.invites"
    assert api.services.audit.records("c1", None, 10) == []
    assert api.call("POST", "/invite/invites", user="boss", supreme=True, body={"invites": ["a"]}).status_code == 200


@pytest.mark.parametrize(
    ("content", "words"),
    [(b"\x00\x01\x02binary", ("binary",)), (b"VIP-001\nJos\xe9\n", ("line 2", "not UTF-8"))],
    ids=["binary", "latin-1"],
)
def test_SCR_002_an_invite_file_that_is_not_text_is_refused(
    api: Api, tmp_path: Path, content: bytes, words: tuple[str, ...]
) -> None:
    path = tmp_path / "invites.csv"
    path.write_bytes(content)
    refused(invoke(api, "invites", "import", str(path), "--campaign", "invite"), *words)
    assert api.services.audit.records("invite", None, 10) == []
    refused(invoke(api, "invites", "import", "-", "--campaign", "invite", stdin=content), *words)  # stdin too


def test_SCR_002_an_invite_file_of_another_kind_is_refused(api: Api, tmp_path: Path) -> None:
    path = tmp_path / "invites.jsonl"
    path.write_text('{"code": "VIP-001"}\n')
    refused(invoke(api, "invites", "import", str(path), "--campaign", "invite"), "not a CSV or text file")


# Codes and blocks --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "name", "content", "words"),
    [
        ("codes", "codes.csv", "user,code\nf1,AAA\n", ("userId", "start", "user")),
        ("codes", "codes.csv", "userId,code,start,colour\nf1,AAA,2020-01-01T00:00:00Z,red\n", ("colour",)),
        ("verdicts", "blocks.csv", "phone,score\n+12125550001,5\n", ("userId", "isBlocked")),
        ("verdicts", "blocks.jsonl", '{"userId": "f1", "isBlocked": true, "why": "bot"}\n', ("line 1", "why")),
        ("verdicts", "blocks.txt.gz", "userId,isBlocked\n", ("not CSV or JSONL",)),
    ],
    ids=["codes-header", "codes-unknown", "blocks-header", "blocks-unknown-key", "blocks-gz"],
)
def test_SCR_002_a_codes_or_blocks_file_that_is_not_one_is_refused(
    api: Api, tmp_path: Path, command: str, name: str, content: str, words: tuple[str, ...]
) -> None:
    confirmed_fan(api, 1)
    path = tmp_path / name
    path.write_text(content)
    verb = "assign" if command == "codes" else "apply"
    refused(invoke(api, command, verb, str(path), "--campaign", "ppc"), name, *words)
    assert api.services.audit.records("ppc", None, 10) == []


def test_SCR_002_a_bad_item_far_into_a_codes_file_is_refused_before_any_batch(api: Api, tmp_path: Path) -> None:
    confirmed_fan(api, 1)
    good = "".join(f"ghost-{n},C{n},,2020-01-01T00:00:00Z,,\n" for n in range(2500))
    path = tmp_path / "codes.csv"
    path.write_text(f"userId,code,codeConfigId,start,end,revealCode\nf1,AAA,,2020-01-01T00:00:00Z,,\n{good}f1,,,,,\n")
    refused(invoke(api, "codes", "assign", str(path), "--campaign", "ppc"), "line 2503")
    assert api.call("GET", "/ppc/entries", user="f1").get_json()["presaleCode"] is None
    assert api.services.audit.records("ppc", None, 10) == []
