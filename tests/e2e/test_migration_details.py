"""OPS-006, what tests/e2e/test_migration.py leaves out: the release-11 fixture's outbox messages keep their bodies
and kinds and its retry queue keeps its requests through ``entry-service db init``; a second ``db init`` changes
neither the file's schema version nor a byte of what it answers; and every command that opens the store (not only
``db init`` and ``serve``) refuses a database of a newer release with one line, leaving it unchanged.

The "before" side is read from the committed fixture itself, which never changes: its outbox and retry queue
tables are release 11's, frozen in the file."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters_sqlite import open_sqlite
from adapters_sqlite.schema import SCHEMA_VERSION
from entrywire.documents import documents
from tests.e2e.serve import run_cli
from tests.http_app import write_sources

FIXTURE = Path(__file__).parent.parent / "fixtures" / "store-v11.sqlite"
LATER = datetime(2030, 1, 1, tzinfo=UTC)  # every message due


def frozen(sql: str) -> list[tuple[Any, ...]]:
    """Rows of the committed release-11 file, read-only."""
    conn = sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def queues(path: Path) -> dict[str, Any]:
    """The outbox's claimable messages, its dead letters and the retry queue's requests, read through the ports on
    a copy (claiming and receiving lease what they return)."""
    copy = path.parent / "queues" / "copy.sqlite"
    copy.parent.mkdir()
    shutil.copyfile(path, copy)
    stores = open_sqlite(copy)
    try:
        return {
            "pending": sorted(
                (documents.unstructure(m) for m in stores.outbox.claim("reader", 1000, LATER, timedelta(seconds=1))),
                key=lambda d: d["id"],
            ),
            "dead": [
                {**documents.unstructure(d.message), "heldBack": d.held_back, "error": d.error}
                for d in stores.outbox.dead_letters(100)
            ],
            "retries": sorted(documents.unstructure(r).items() for _, r in stores.retries.receive(100, 0)),
        }
    finally:
        stores.close()
        shutil.rmtree(copy.parent)


@pytest.fixture
def old(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = write_sources(tmp_path)
    data = Path(env["ENTRY_DATA_DIR"])
    data.mkdir(parents=True)
    shutil.copyfile(FIXTURE, data / "entries.db")
    return data / "entries.db", {**env, "PATH": "/usr/bin:/bin"}


def test_OPS_006_outbox_bodies_and_the_retry_queue_survive_db_init_and_a_second_one_changes_nothing(
    old: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, env = old
    assert version(path) == 11
    first = run_cli("db", "init", folder=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert version(path) == SCHEMA_VERSION
    migrated = queues(path)

    undelivered = {
        row[0]: {
            "id": row[0],
            "kind": row[1],
            "campaignId": row[2],
            "userId": row[3],
            "partitionKey": row[4],
            "body": json.loads(row[5]),
            "createdAt": row[6],
            "attempts": row[7],
        }
        for row in frozen(
            "SELECT id, kind, campaign_id, user_id, partition_key, body, created_at, attempts FROM outbox"
            " WHERE delivered_at IS NULL"
        )
    }
    parked = {row[0] for row in frozen("SELECT id FROM outbox WHERE delivered_at IS NULL AND parked_at IS NOT NULL")}
    assert migrated["pending"], "the fixture has pending messages"
    assert {m["kind"] for m in migrated["pending"]} >= {"event"}
    for message in migrated["pending"]:  # each exactly as release 11 stored it, its attempts too
        assert message == undelivered[message["id"]]
    assert [d["id"] for d in migrated["dead"]] == sorted(parked) != []
    errors = dict(frozen("SELECT id, last_error FROM outbox WHERE parked_at IS NOT NULL"))
    for letter in migrated["dead"]:  # kept whole, with its last error
        assert letter == {**undelivered[letter["id"]], "heldBack": letter["heldBack"], "error": errors[letter["id"]]}
    every = {m["id"] for m in migrated["pending"]} | parked
    held_back = set(undelivered) - every  # behind the dead letter of their entry and channel: still there
    assert sum(d["heldBack"] for d in migrated["dead"]) == len(held_back)

    assert migrated["retries"] == sorted(
        {"campaignId": c, "userId": u}.items() for c, u in frozen("SELECT campaign_id, user_id FROM retry_queue")
    )
    assert len(migrated["retries"]) == 2

    before = path.read_bytes()
    again = run_cli("db", "init", folder=tmp_path, env=env)
    assert again.returncode == 0, again.stderr
    assert version(path) == SCHEMA_VERSION
    assert path.read_bytes() == before  # idempotent: the second run writes nothing at all
    assert queues(path) == migrated


@pytest.mark.parametrize(
    "command",
    [
        ("outbox", "dead-letters"),
        ("relay", "--once"),
        ("worker", "--once"),
        ("invites", "import", "--campaign", "c1", "INVITES"),
    ],
)
def test_OPS_006_every_command_opening_the_store_refuses_a_newer_database_with_one_line(
    old: tuple[Path, dict[str, str]], tmp_path: Path, command: tuple[str, ...]
) -> None:
    path, env = old
    conn = sqlite3.connect(path)
    try:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 2}")
    finally:
        conn.close()
    before = path.read_bytes()
    invites = tmp_path / "invites.txt"
    invites.write_text("INVITE-9\n")
    refused = run_cli(*(str(invites) if part == "INVITES" else part for part in command), folder=tmp_path, env=env)
    assert refused.returncode != 0, refused.stdout
    lines = [line for line in refused.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, refused.stderr
    assert f"schema version {SCHEMA_VERSION + 2}, newer than this release's {SCHEMA_VERSION}" in lines[0]
    assert "Traceback" not in refused.stderr + refused.stdout
    assert path.read_bytes() == before
    assert not path.with_name(path.name + "-wal").exists()  # not even opened for writing
