"""OPS-006 on a database written by an earlier release: ``tests/fixtures/store-v11.sqlite`` was written by release
c065de1 (schema 11, before issue 22's layout; ``tests/fixtures/make_store_v11.py`` made it) and
``store-v11.expected.json`` holds what it answered then through its ports. ``entry-service db init`` and ``serve``
bring it to the current layout losing nothing (entries, scoring records and tags, outbox and dead letters, audit,
confirmed phones, attempt counters, invites), idempotently; a database of a newer release is refused with one line
and left unchanged."""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path

import httpx
import jwt
import pytest

from adapters_sqlite.schema import SCHEMA_VERSION
from tests.e2e.serve import ServeProcess, run_cli
from tests.fixtures.make_store_v11 import answers
from tests.http_app import SECRET, write_sources

FIXTURES = Path(__file__).parent.parent / "fixtures"


def version(path: Path) -> int:
    with sqlite3.connect(path) as raw:
        found = int(raw.execute("PRAGMA user_version").fetchone()[0])
    raw.close()
    return found


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = write_sources(tmp_path)
    data = Path(env["ENTRY_DATA_DIR"])
    data.mkdir(parents=True)
    shutil.copyfile(FIXTURES / "store-v11.sqlite", data / "entries.db")
    return data / "entries.db", {**env, "PATH": "/usr/bin:/bin"}


def test_OPS_006_db_init_migrates_a_release_11_database_losing_nothing_idempotently(
    old: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, env = old
    expected = json.loads((FIXTURES / "store-v11.expected.json").read_text())
    assert expected.pop("schemaVersion") == version(path) == 11
    first = run_cli("db", "init", folder=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert version(path) == SCHEMA_VERSION > 11
    migrated = answers(path)
    assert migrated.pop("schemaVersion") == SCHEMA_VERSION
    assert migrated == expected
    assert sum(record is not None for record in migrated["scoring"].values()) == 16  # records kept, with their tags
    assert any(r and r["tags"] == {"vip": False, "bot": False} for r in migrated["scoring"].values())
    again = run_cli("db", "init", folder=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert answers(path) == {**migrated, "schemaVersion": SCHEMA_VERSION}


def test_OPS_006_serve_migrates_at_start_and_answers_from_the_old_data(
    old: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, _ = old
    server = ServeProcess(tmp_path, workers=2).start()
    try:
        admin = jwt.encode({"sub": "admin", "isSupreme": True, "exp": int(time.time()) + 600}, SECRET)
        headers = {"Authorization": f"Bearer {admin}"}
        lists = httpx.get(f"{server.url}/c1/entries/scoring?limit=100", headers=headers, timeout=10)
        assert lists.status_code == 200, lists.text
        expected = json.loads((FIXTURES / "store-v11.expected.json").read_text())
        assert lists.json()["counts"]["total"] == sum(
            1
            for key, record in expected["scoring"].items()
            if record and record["verdict"] and not record["codes"] and not expected["entries"][key]["review"]
        )
        fan = jwt.encode({"sub": "u2", "exp": int(time.time()) + 600}, SECRET)
        mine = httpx.get(f"{server.url}/c1/entries", headers={"Authorization": f"Bearer {fan}"}, timeout=10)
        assert mine.status_code == 200, mine.text
        assert mine.json()["markets"] == ["phl", "chi"]
    finally:
        server.stop()
    assert version(path) == SCHEMA_VERSION


@pytest.mark.parametrize("command", [("db", "init"), ("serve", "--port", "0")])
def test_OPS_006_a_database_of_a_newer_release_is_refused_with_one_line(
    old: tuple[Path, dict[str, str]], tmp_path: Path, command: tuple[str, ...]
) -> None:
    path, env = old
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()
    before = path.read_bytes()
    refused = run_cli(*command, folder=tmp_path, env=env, timeout=60)
    assert refused.returncode != 0
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    assert f"schema version {SCHEMA_VERSION + 1}, newer than this release's {SCHEMA_VERSION}" in lines[0]
    assert "Traceback" not in refused.stderr + refused.stdout
    assert path.read_bytes() == before
