"""``Database.write_batch`` (batch replication on SQLite, USR-004): every item's writes in one transaction, each item
rolled back alone when one of its writes fails, the others committed. A chunk whose writes all succeed takes one
SAVEPOINT for all its items (each per-item SAVEPOINT costs the writer, which holds the write lock meanwhile); one
failing write runs the chunk again, each item in its own SAVEPOINT, with the same answers."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters_sqlite.database import Database
from entrycore.errors import DependencyUnavailable

Work = Callable[[sqlite3.Connection], Any]


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    db = Database(tmp_path / "entries.db")
    db.write(lambda conn: conn.execute("CREATE TABLE scratch (k TEXT PRIMARY KEY)"))
    yield db
    db.close()


def insert(key: str) -> Work:
    return lambda conn: conn.execute("INSERT INTO scratch (k) VALUES (?)", (key,))


def fail(error: Exception) -> Work:
    def work(conn: sqlite3.Connection) -> None:
        raise error

    return work


def keys(db: Database) -> list[str]:
    with db.reading() as conn:
        return [k for (k,) in conn.execute("SELECT k FROM scratch ORDER BY k")]


def traced(db: Database, items: list[list[Work]]) -> tuple[list[Exception | None], list[str]]:
    """write_batch's answers, and the SAVEPOINT, RELEASE and ROLLBACK statements the writer ran for it."""
    statements: list[str] = []
    items[0] = [lambda conn: conn.set_trace_callback(statements.append), *items[0]]  # the writer's connection
    answers = db.write_batch(items)
    db.write(lambda conn: conn.set_trace_callback(None))
    return answers, [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]


def test_a_chunk_whose_writes_all_succeed_takes_one_savepoint(database: Database) -> None:
    answers, statements = traced(database, [[insert(k)] for k in "abcde"])
    assert answers == [None] * 5
    assert keys(database) == list("abcde")
    assert statements == ["RELEASE items"]  # "SAVEPOINT items" ran before the trace was set


def test_an_item_whose_write_fails_rolls_back_alone_the_others_commit(database: Database) -> None:
    """Item 1 wrote before failing, item 3's statement broke a constraint: neither leaves anything."""
    refused = ValueError("the item's own refusal")
    items = [
        [insert("a")],
        [insert("b"), fail(refused)],
        [insert("c")],
        [insert("a")],  # the key item 0 took: a raw sqlite3 error
        [insert("d"), insert("e")],
    ]
    answers = database.write_batch(items)
    assert answers[0] is None and answers[2] is None and answers[4] is None
    assert answers[1] is refused
    assert isinstance(answers[3], DependencyUnavailable)
    assert isinstance(answers[3].__cause__, sqlite3.IntegrityError)
    assert keys(database) == ["a", "c", "d", "e"]


def test_after_a_failed_pass_each_item_is_written_once(database: Database) -> None:
    """The items that ran before the failure are rolled back with the pass and written again, once."""
    runs: list[str] = []

    def counted(key: str) -> Work:
        def work(conn: sqlite3.Connection) -> None:
            runs.append(key)
            conn.execute("INSERT INTO scratch (k) VALUES (?)", (key,))

        return work

    answers, statements = traced(database, [[counted("a")], [counted("b")], [fail(ValueError("x"))], [counted("c")]])
    assert [a is None for a in answers] == [True, True, False, True]
    assert runs == ["a", "b", "a", "b", "c"]  # the first pass stopped at the failure
    assert keys(database) == ["a", "b", "c"]
    assert statements[:2] == ["ROLLBACK TO items", "RELEASE items"]
    assert statements.count("SAVEPOINT item") == 4  # then every item in its own


def test_a_single_item_rolls_back_alone(database: Database) -> None:
    answers = database.write_batch([[insert("a"), fail(ValueError("no"))]])
    assert isinstance(answers[0], ValueError)
    assert keys(database) == []
    assert database.write_batch([[insert("a")]]) == [None]
    assert keys(database) == ["a"]


def test_together_answers_each_step_its_own_outcome(database: Database) -> None:
    """``together``: a step that raises before its writes is its own answer and writes nothing; the writes of the
    others run in one transaction, the failing one alone refused."""

    def step(key: str, *, refuse: bool = False, taken: bool = False) -> Callable[[], str]:
        def run() -> str:
            database.write(insert("a" if taken else key))
            if refuse:
                raise LookupError(key)
            return key

        return run

    outcomes = database.together([step("x"), step("y", refuse=True), step("z", taken=True), step("a"), step("w")])
    assert outcomes[0] == "x" and outcomes[4] == "w"
    assert isinstance(outcomes[1], LookupError)
    assert outcomes[2] == "z"  # its write ("a") went first: the later one with the same key fails
    assert isinstance(outcomes[3], DependencyUnavailable)
    assert keys(database) == ["a", "w", "x"]
