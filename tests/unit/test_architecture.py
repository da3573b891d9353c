"""entrycore is pure: it imports only the standard library, attrs, phonenumbers, email-validator and pyjwt
(DESIGN.md, Layout and Rules of the house)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import entrycore

CORE = Path(entrycore.__file__).resolve().parent
CORE_FILES = sorted(CORE.rglob("*.py"))

FORBIDDEN = {
    "flask",
    "pymongo",
    "mongomock",
    "sqlite3",
    "boto3",
    "botocore",
    "httpx",
    "click",
    "gunicorn",
    "granian",
    "cattrs",
    "entry_service",
}
ALLOWED_THIRD_PARTY = {"attrs", "phonenumbers", "email_validator", "jwt", "py_ecc"}


def imported_top_levels(path: Path) -> set[str]:
    """The top-level package of every absolute import in the file (relative imports stay in entrycore)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "__import__" and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                names.add(first.value.split(".")[0])
    return names


def test_ARCH_entrycore_files_are_found() -> None:
    assert CORE.name == "entrycore"
    assert {"entry.py", "campaign.py", "fields.py", "phones.py", "registrations.py"} <= {p.name for p in CORE_FILES}


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_ARCH_entrycore_imports_no_io_library_or_adapter(path: Path) -> None:
    imported = imported_top_levels(path)
    bad = {name for name in imported if name in FORBIDDEN or name.startswith("adapters_")}
    assert not bad, f"{path.relative_to(CORE.parent)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_ARCH_entrycore_third_party_imports_are_on_the_allow_list(path: Path) -> None:
    imported = imported_top_levels(path)
    third_party = {
        name for name in imported if name not in sys.stdlib_module_names and name not in {"entrycore", "__future__"}
    }
    assert third_party <= ALLOWED_THIRD_PARTY, f"{path.relative_to(CORE.parent)} imports {sorted(third_party)}"


def test_ARCH_the_checker_sees_every_import_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os.path\nimport flask as f\nfrom pymongo.errors import PyMongoError\nfrom . import sibling\n"
        "from adapters_sqlite.store import SqliteEntryStore\n"
        "def late():\n    import httpx\n    return __import__('boto3')\n"
    )
    assert imported_top_levels(sample) == {"os", "flask", "pymongo", "adapters_sqlite", "httpx", "boto3"}


# The core decides what (the rules, the deadlines); how threads, processes and waiting run is an adapter's or
# the composition root's, passed in behind a port (Runner, a sleep function). A line that must still use one
# of these says why with a "# infra:" comment.
INFRASTRUCTURE = {"os", "threading", "concurrent", "multiprocessing", "asyncio", "subprocess", "socket", "signal"}
WHY = "# infra:"


def infrastructure_uses(path: Path) -> list[str]:
    """``line: what`` for each use of threads, processes, the OS or sleeping that no ``# infra:`` explains."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(text, filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] in INFRASTRUCTURE]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            top = node.module.split(".")[0]
            if top in INFRASTRUCTURE:
                found.append((node.lineno, node.module))
            elif top == "time" and any(a.name == "sleep" for a in node.names):
                found.append((node.lineno, "time.sleep"))
        elif isinstance(node, ast.Attribute) and node.attr == "sleep" and getattr(node.value, "id", None) == "time":
            found.append((node.lineno, "time.sleep"))
    return [f"{line}: {what}" for line, what in sorted(found) if WHY not in lines[line - 1]]


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: str(p.relative_to(CORE)))
def test_ARCH_entrycore_runs_no_threads_processes_or_sleeps_of_its_own(path: Path) -> None:
    assert infrastructure_uses(path) == [], f"{path.relative_to(CORE.parent)}: say why with '{WHY}' or inject it"


def test_ARCH_the_infrastructure_checker_sees_every_form(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nimport threading\nfrom concurrent.futures import Future\nimport time\n"
        "from time import sleep\ntime.sleep(1)\nimport asyncio  # infra: an event loop is the point here\n"
        "time.monotonic()\n"
    )
    assert infrastructure_uses(sample) == [
        "1: os",
        "2: threading",
        "3: concurrent.futures",
        "5: time.sleep",
        "6: time.sleep",
    ]


BENCHMARK_FILES = sorted((CORE.parent / "benchmarks").glob("*.py"))


@pytest.mark.parametrize("path", BENCHMARK_FILES, ids=lambda p: p.name)
def test_ARCH_benchmarks_import_the_product_never_the_tests(path: Path) -> None:
    """A benchmark measures what ships: the tests' fakes and helpers are not part of it."""
    assert "tests" not in imported_top_levels(path), f"benchmarks/{path.name} imports from tests/"


def test_ARCH_the_benchmarks_are_found() -> None:
    assert {"relay_throughput.py", "http_entries.py"} <= {p.name for p in BENCHMARK_FILES}


WIRE = CORE.parent / "entrywire"
WIRE_FILES = sorted(WIRE.rglob("*.py"))


@pytest.mark.parametrize("path", WIRE_FILES, ids=lambda p: p.name)
def test_ARCH_entrywire_holds_shapes_only(path: Path) -> None:
    """The wire shapes read the domain and use cattrs; no adapter, no I/O library (DESIGN.md, issue 23)."""
    imported = imported_top_levels(path) - {"__future__", "entrycore", "entrywire"}
    third_party = {name for name in imported if name not in sys.stdlib_module_names}
    assert third_party <= {"attrs", "cattrs"}, f"entrywire/{path.name} imports {sorted(third_party)}"
    assert not imported & {"sqlite3", "socket", "os", "threading"}, f"entrywire/{path.name} does I/O"


def test_ARCH_entrywire_files_are_found() -> None:
    assert {"documents.py", "answers.py", "services.py"} <= {p.name for p in WIRE_FILES}
