"""The admin page (API.md §5): static files at ``/admin/``, served without a token (SPEC AUTH-001). The page asks
for a supreme token and calls the JSON routes with it; these files are not operations of the OpenAPI document."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, redirect, send_from_directory

PAGE = "page"  # the blueprint's name: its endpoints are static files, not API operations
FOLDER = Path(__file__).with_name("admin_page")

page = Blueprint(PAGE, __name__)

# The page runs only its own script and style, talks only to this origin, and is never framed.
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:;"
        " form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def is_page(endpoint: str) -> bool:
    """Whether a URL-map endpoint is one of the admin page's static files."""
    return endpoint.split(".", 1)[0] == PAGE


@page.get("/admin")
def bare() -> Any:
    """``/admin`` → ``/admin/``, so that the page's relative URLs resolve inside it."""
    return redirect("/admin/", code=308)


@page.get("/admin/", defaults={"name": "index.html"})
@page.get("/admin/<path:name>")
def static_file(name: str) -> Any:
    """A file of the page (``send_from_directory`` refuses paths leaving the folder: 404)."""
    response = send_from_directory(FOLDER, name, max_age=0)
    response.headers.update(_HEADERS)
    return response
