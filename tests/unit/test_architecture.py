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
    "cattrs",
    "entry_service",
}
ALLOWED_THIRD_PARTY = {"attrs", "phonenumbers", "email_validator", "jwt"}


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
    assert {"model.py", "fields.py", "phones.py", "registrations.py"} <= {p.name for p in CORE_FILES}


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
