"""``GET /{campaignId}/entries/scoring`` with ``Accept: text/csv`` (API.md §4, SPEC SCR-003, SCR-005) on the real
wired app (SQLite): every matching record in list order, streamed as the CLI export's CSV (spreadsheet-safe),
as an attachment; criteria, errors and authorisation as the JSON list's; the same bytes as
``entry-service selection export``."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from adapters_cli.main import cli
from adapters_http import scoring_csv
from adapters_http.server.routes_scoring import wants_csv
from entrycore.errors import DependencyUnavailable
from tests.builders import VALID_FIELDS
from tests.http_app import Api
from tests.integration.test_http_entries import assert_error
from tests.integration.test_http_scoring import admin, confirmed_fan, phone_of

CSV_ACCEPT = {"Accept": "text/csv"}
# Fan k: (primary market, optional markets, score); f3/f4 tie on score (user id decides), f7's verdict is false.
FANS = {
    1: ("nyc", [], 50),
    2: ("bos", ["nyc"], 70.5),
    3: ("nyc", ["phl"], 80),
    4: ("phl", ["bos", "nyc"], 80),
    5: ("chi", [], 10.25),
    6: ("bos", [], 95),
    7: ("nyc", [], 99),
}
CRITERIA = [
    "",
    "includeFiltered=true&reassign=true",
    "marketIds=bos,phl",
    "marketIds=nyc&singleMarketSelection=true",
    "minScore=50&maxScore=80",
    "randomSelection=true&includeFiltered=true",
    "marketIds=bos,nyc&orderByPreference=true",
    "tag=vip",
    "excludeTag=vip&reassign=true",
    "selectedOnly=true",
]


@pytest.fixture
def listed(api: Api) -> Api:
    """Seven confirmed, scored fans in campaign ``ppc``; f2 tagged vip; f3's first name and f4's last name are
    formulas; f6 holds a code."""
    for k, (market, optional, _) in FANS.items():
        confirmed_fan(api, k, market, optional)
    for user, field, value in (("f3", "first_name", "=HYPERLINK(1)"), ("f4", "last_name", "-2+3")):
        fields = {**VALID_FIELDS, "phone": phone_of(int(user[1:])), field: value}
        fields.update(market=FANS[int(user[1:])][0], optional_markets=FANS[int(user[1:])][1])
        assert api.register(fields, campaign="ppc", user=user).status_code == 200
    records: list[dict[str, Any]] = [{"phone": phone_of(k), "score": s} for k, (_, _, s) in FANS.items()]
    records[1]["tags"] = {"vip": True}
    records[6]["verdict"] = False
    answer = admin(api, "POST", "/ppc/entries/scoring", {"records": records})
    assert answer.get_json()["inserted"] == len(FANS)
    codes = [{"userId": "f6", "code": "AAA", "date": {"start": "2020-01-01T00:00:00Z"}}]
    assert admin(api, "POST", "/ppc/entries/codes", codes).get_json()["assigned"] == 1
    return api


def export(api: Api, query: str = "", **headers: str) -> Any:
    sent = {**CSV_ACCEPT, **headers}
    return api.call("GET", f"/ppc/entries/scoring?{query}", user="admin-1", supreme=True, headers=sent)


def json_list(api: Api, query: str, limit: int = 2) -> list[dict[str, Any]]:
    """Every record of the JSON list under ``query``, page by page."""
    records: list[dict[str, Any]] = []
    while True:
        page = admin(api, "GET", f"/ppc/entries/scoring?{query}&limit={limit}&offset={len(records)}")
        assert page.status_code == 200, page.get_json()
        body = page.get_json()
        records += body["list"]
        if not body["list"]:
            assert len(records) == body["counts"]["total"]
            return records


def rows_of(answer: Any) -> list[dict[str, str]]:
    text = answer.get_data(as_text=True)
    assert text.splitlines()[0] == ",".join(scoring_csv.COLUMNS)
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_export_headers_and_header_row(listed: Api) -> None:
    answer = export(listed)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert answer.headers["Content-Disposition"] == 'attachment; filename="ppc-entries.csv"'
    assert "Accept" in answer.headers.get("Vary", "") and answer.headers["X-Correlation-Id"]
    assert answer.get_data(as_text=True).split("\n", 1)[0] == ",".join(scoring_csv.COLUMNS)
    assert answer.get_data().endswith(b"\n") and b"\r" not in answer.get_data()


@pytest.mark.parametrize("query", CRITERIA)
def test_SCR_005_csv_rows_are_the_json_list_over_all_pages(listed: Api, query: str) -> None:
    expected = json_list(listed, query)
    rows = rows_of(export(listed, query))
    assert [r["userId"] for r in rows] == [r["userId"] for r in expected]
    assert [r["rank"] for r in rows] == [str(n) for n in range(1, len(rows) + 1)]
    for row, record in zip(rows, expected, strict=True):
        assert (row["email"], row["phone"], row["locale"]) == (record["email"], record["phone"], record["locale"])
        assert float(row["score"]) == record["score"] and float(row["randomScore"]) == record["randomScore"]
        assert row["verdict"] == ("true" if record["verdict"] else "false")
        assert row["marketIds"] == "|".join(record["marketIds"])
        assert row["codes"] == "|".join(c["code"] for c in record["codes"])
        assert json.loads(row["tags"]) == record["tags"]


def test_SCR_003_csv_criteria_are_applied(listed: Api) -> None:
    def ids(query: str) -> list[str]:
        return [r["userId"] for r in rows_of(export(listed, query))]

    assert ids("") == ["f3", "f4", "f2", "f1", "f5"]  # f6 has a code, f7's verdict is false
    assert ids("reassign=true&includeFiltered=true") == ["f7", "f6", "f3", "f4", "f2", "f1", "f5"]
    assert ids("marketIds=bos") == ["f4", "f2"]
    assert ids("marketIds=nyc&singleMarketSelection=true") == ["f3", "f1"]
    assert ids("minScore=70.5&maxScore=80") == ["f3", "f4", "f2"]
    assert ids("tag=vip") == ["f2"]
    assert ids("selectedOnly=true") == ["f6"]
    assert ids("marketIds=lax") == []  # the header row alone
    assert export(listed, "marketIds=lax").get_data(as_text=True) == ",".join(scoring_csv.COLUMNS) + "\n"


def test_csv_cells_are_spreadsheet_safe(listed: Api) -> None:
    rows = {r["userId"]: r for r in rows_of(export(listed, "includeFiltered=true&reassign=true"))}
    assert rows["f3"]["firstName"] == "'=HYPERLINK(1)"  # OWASP: neutralised, never evaluated
    assert rows["f4"]["lastName"] == "'-2+3"
    assert rows["f1"]["firstName"] == "Ana" and rows["f1"]["lastName"] == ""
    assert rows["f6"]["codes"] == "AAA" and rows["f2"]["marketIds"] == "bos|nyc"
    assert all(
        not r[c].startswith(scoring_csv.FORMULA_STARTS) for r in rows.values() for c in ("firstName", "lastName")
    )


@pytest.mark.parametrize(
    ("accept", "csv_answer"),
    [
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("text/csv", True),
        ("TEXT/CSV", True),
        ("text/csv; charset=utf-8", True),
        ("text/csv, */*;q=0.1", True),
        ("text/csv, */*", True),
        ("application/json;q=0.5, text/csv", True),
        ("text/csv;q=0.5, application/json", False),
        ("application/json, text/csv", False),  # a tie: JSON is the default
        ("text/*", False),  # only an explicit text/csv selects it
        ("text/csv;q=0", False),
        ("text/html", False),
    ],
)
def test_accept_negotiation(listed: Api, accept: str | None, csv_answer: bool) -> None:
    headers = {} if accept is None else {"Accept": accept}
    answer = listed.call("GET", "/ppc/entries/scoring", user="admin-1", supreme=True, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/csv" if csv_answer else "application/json")
    assert "Accept" in answer.headers.get("Vary", "")
    if not csv_answer:
        assert answer.get_json()["counts"] == {"total": 5}
        assert "Content-Disposition" not in answer.headers
    assert wants_csv(accept or "") is csv_answer


@pytest.mark.parametrize(
    ("query", "paths"),
    [
        ("minScore=abc", ["query.minScore"]),
        ("reassign=yes&marketIds=,", ["query.marketIds", "query.reassign"]),
        ("limit=10", ["query.limit"]),
        ("offset=0", ["query.offset"]),
        ("limit=1&offset=2&maxScore=x", ["query.maxScore", "query.limit", "query.offset"]),
        ("limit=99999", ["query.limit"]),
    ],
)
def test_bad_criteria_and_paging_are_the_envelope(listed: Api, query: str, paths: list[str]) -> None:
    answer = export(listed, query)
    assert answer.headers["Content-Type"].startswith("application/json")
    body = assert_error(answer, 400, "BAD_REQUEST")
    assert [e["path"] for e in body["payload"]["errors"]] == paths
    assert "Content-Disposition" not in answer.headers


def test_csv_export_authorisation_and_campaign(listed: Api) -> None:
    assert_error(listed.call("GET", "/ppc/entries/scoring", user=None, headers=CSV_ACCEPT), 401, "UNAUTHORIZED")
    assert_error(listed.call("GET", "/ppc/entries/scoring", user="f1", headers=CSV_ACCEPT), 403, "FORBIDDEN")
    # the role comes before the query (API.md §2): a fan's bad query is still 403
    fan = listed.call("GET", "/ppc/entries/scoring?limit=5", user="f1", headers=CSV_ACCEPT)
    assert_error(fan, 403, "FORBIDDEN")
    unknown = listed.call("GET", "/nope/entries/scoring", user="admin-1", supreme=True, headers=CSV_ACCEPT)
    assert_error(unknown, 404, "CAMPAIGN_NOT_FOUND")


def test_csv_export_is_streamed_from_the_store(listed: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store's records are read as the answer is written, CHUNK_ROWS lines at a time, never all first."""
    store_type = type(listed.services.scoring.store)
    read: list[str] = []
    real = store_type.eligible

    def counted(self: Any, *args: Any) -> Iterator[Any]:
        for record in real(self, *args):
            read.append(record.user_id)
            yield record

    monkeypatch.setattr(store_type, "eligible", counted)
    monkeypatch.setattr(scoring_csv, "CHUNK_ROWS", 2)
    answer = listed.client.get(
        "/ppc/entries/scoring?reassign=true&includeFiltered=true",
        headers={**CSV_ACCEPT, "Authorization": admin_token()},
        buffered=False,
    )
    assert answer.status_code == 200
    body: Iterator[bytes] = iter(answer.response)  # type: ignore[arg-type]  # the app's own chunks
    first = next(body)
    assert first.count(b"\n") == 2 and len(read) == 1  # the header and the first record: 1 of 7 read
    second = next(body)
    assert second.count(b"\n") == 2 and len(read) == 3
    rest = b"".join(body)
    answer.close()
    assert len(read) == len(FANS) and (first + second + rest).count(b"\n") == len(FANS) + 1


def test_a_store_failing_at_its_first_read_is_the_envelope(listed: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(self: Any, *args: Any) -> Iterator[Any]:
        raise DependencyUnavailable("the datastore is down")
        yield  # a generator, as the store's: it fails when first read

    monkeypatch.setattr(type(listed.services.scoring.store), "eligible", failing)
    answer = export(listed)
    assert_error(answer, 503, "DEPENDENCY_UNAVAILABLE")
    assert answer.headers["Content-Type"].startswith("application/json")


def admin_token() -> str:
    from tests.http_app import make_token  # noqa: PLC0415

    return f"Bearer {make_token('admin-1', supreme=True)}"


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("", []),
        ("includeFiltered=true&reassign=true", ["--include-filtered", "--reassign"]),
        ("marketIds=bos,nyc&orderByPreference=true", ["--markets", "bos,nyc", "--order-by-preference"]),
        ("randomSelection=true&excludeTag=vip", ["--random-selection", "--exclude-tag", "vip"]),
    ],
)
def test_cli_export_and_http_csv_are_the_same_bytes(
    listed: Api, tmp_path: Path, query: str, options: list[str]
) -> None:
    out = tmp_path / "export.csv"
    result = CliRunner().invoke(
        cli, ["selection", "export", "--campaign", "ppc", "-o", str(out), *options], obj=listed.services
    )
    assert result.exit_code == 0, result.output
    answer = export(listed, query)
    assert answer.status_code == 200
    assert answer.get_data() == out.read_bytes()
    assert out.read_bytes().count(b"\n") > 1  # rows, not just the header


def test_openapi_documents_the_csv_answer(api: Api) -> None:
    document = api.call("GET", "/openapi.json", user=None).get_json()
    operation = document["paths"]["/{campaignId}/entries/scoring"]["get"]
    success = operation["responses"]["200"]
    assert set(success["content"]) == {"application/json", "text/csv"}
    assert success["content"]["text/csv"]["schema"]["type"] == "string"
    assert "Content-Disposition" in success["headers"] and "text/csv" in operation["description"]
    assert operation["responses"]["400"]["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
    }
