"""The admin page (API.md §5 ``GET /admin/``): static files served without a token (SPEC AUTH-001), which call only
routes the service documents, and nothing outside their folder."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from typing import Any

import pytest

from adapters_http.server.routes_page import FOLDER
from tests.http_app import Api


def fetch(api: Api, method: str, path: str, body: Any = None) -> Any:
    """The answer, read and closed (a file's answer holds the file open until then)."""
    answer = api.call(method, path, user=None, body=body)
    answer.get_data()
    answer.close()
    return answer


def test_the_page_is_served_without_a_token(api: Api) -> None:
    answer = fetch(api, "GET", "/admin/")
    assert answer.status_code == 200
    assert answer.mimetype == "text/html"
    html = answer.get_data(as_text=True)
    assert '<input id="token" type="password"' in html and 'src="admin.js"' in html
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Correlation-Id"]


def test_bare_admin_redirects_into_the_page(api: Api) -> None:
    answer = fetch(api, "GET", "/admin")
    assert answer.status_code == 308 and answer.headers["Location"] == "/admin/"


@pytest.mark.parametrize(("name", "mimetype"), [("admin.js", "text/javascript"), ("admin.css", "text/css")])
def test_the_page_s_own_files(api: Api, name: str, mimetype: str) -> None:
    answer = fetch(api, "GET", f"/admin/{name}")
    assert answer.status_code == 200 and answer.mimetype == mimetype
    assert answer.get_data() == (FOLDER / name).read_bytes()


@pytest.mark.parametrize(
    "path",
    ["/admin/missing.js", "/admin/../routes_page.py", "/admin/%2e%2e/routes_page.py", "/admin//etc/passwd"],
)
def test_nothing_else_is_served(api: Api, path: str) -> None:
    answer = fetch(api, "GET", path)
    assert answer.status_code == 404
    assert answer.get_json()["code"] == "NOT_FOUND"


def test_the_page_is_read_only(api: Api) -> None:
    answer = fetch(api, "POST", "/admin/", body={})
    assert answer.status_code == 405 and answer.get_json()["code"] == "METHOD_NOT_ALLOWED"


def test_the_page_is_not_an_operation_of_the_document(api: Api) -> None:
    paths = api.call("GET", "/openapi.json", user=None).get_json()["paths"]
    assert not [path for path in paths if path.startswith("/admin")]


def test_every_route_the_page_calls_is_a_documented_operation(api: Api) -> None:
    """The script's ROUTES table against the OpenAPI document: a renamed or removed route fails here."""
    script = (FOLDER / "admin.js").read_text()
    table = script.split("const ROUTES = {", 1)[1].split("};", 1)[0]
    called = re.findall(r'\w+: \["(GET|POST|DELETE)", "([^"]+)"\]', table)
    assert len(called) == table.count("[")  # every entry parsed
    assert len(called) >= 8
    paths: dict[str, Any] = api.call("GET", "/openapi.json", user=None).get_json()["paths"]
    for method, path in called:
        assert method.lower() in paths.get(path, {}), (method, path)
        assert paths[path][method.lower()].get("x-supreme") or path.startswith("/users/"), (method, path)
    # and the script builds its URLs from that table only
    assert script.count("fetch(") == 1


def test_the_script_parses() -> None:
    """A syntax error would leave the page dead in every browser; Node's parser checks it where Node is installed."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    checked = subprocess.run(
        [node, "--check", str(FOLDER / "admin.js")], check=False, capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stderr


_PROBE = """
const vm = require("vm");
const fs = require("fs");
const context = {
  URL, URLSearchParams, console,
  window: { location: { origin: "https://admin.example" } },
  document: { addEventListener() {} },
  sessionStorage: { getItem() { return "t"; } },
};
vm.createContext(context);
vm.runInContext(fs.readFileSync(process.argv[2], "utf8") + "\\nglobalThis.request = request;", context);
const out = {};
const cases = {
  fine: ["counts", { campaignId: "tour 2027/é" }, { bucket: "hour" }],
  empty: ["counts", { campaignId: "" }],
  blank: ["counts", { campaignId: "  " }],
  dot: ["fan", { userId: "." }],
  dots: ["fan", { userId: ".." }],
  missing: ["entries", { campaignId: "c1" }],
};
for (const [name, args] of Object.entries(cases)) {
  try {
    const [method, url] = context.request(...args);
    out[name] = method + " " + url.href;
  } catch (failure) {
    out[name] = "refused: " + failure.message;
  }
}
console.log(JSON.stringify(out));
"""


def test_the_script_sends_the_token_to_its_own_origin_only(tmp_path: Any) -> None:
    """``request`` of admin.js under Node: ids are one encoded path segment each, and an empty, ``.`` or ``..`` id
    is refused before any request (an empty campaign id made ``//entries/…``, a URL of another host)."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    probe = tmp_path / "probe.js"
    probe.write_text(_PROBE)
    ran = subprocess.run(
        [node, str(probe), str(FOLDER / "admin.js")], check=False, capture_output=True, text=True, timeout=60
    )
    assert ran.returncode == 0, ran.stderr
    out = json.loads(ran.stdout)
    assert out["fine"] == "GET https://admin.example/tour%202027%2F%C3%A9/entries/counts?bucket=hour"
    for name in ("empty", "blank", "dot", "dots", "missing"):
        assert out[name].startswith("refused: Give a "), (name, out[name])
