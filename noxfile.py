"""Developer sessions: ``tests`` (the linters, then the whole suite), ``lint`` (ruff, mypy, import contracts alone),
``serve``."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """Install the project with its test and lint tools; run the linters, then every test (unit, contract,
    integration, e2e). With arguments, only pytest with them (``python3 run.py tests tests/unit -x``)."""
    session.install("--quiet", "-e", ".[test,lint]")
    if not session.posargs:
        _lint(session)  # a style or layering break fails CI like a failing test
    workers = session.env.get("PYTEST_WORKERS", "2")
    args = session.posargs or ["-n", workers, "-q"]
    session.run("pytest", *args)


@nox.session
def fuzz(session: nox.Session) -> None:
    """The API fuzzed from its OpenAPI document with many more examples than the test suite runs (schemathesis):
    ``python3 run.py fuzz [EXAMPLES]`` (default 300 per operation and token); prints the totals."""
    session.install("--quiet", "-e", ".[test]")
    examples = session.posargs[0] if session.posargs else "300"
    session.run(
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "--tb=short",
        "tests/integration/test_fuzz.py",
        env={"ENTRY_FUZZ_EXAMPLES": examples},
    )


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format), mypy (strict) and the import-linter contracts."""
    session.install("--quiet", "-e", ".[lint,test]")
    _lint(session)


def _lint(session: nox.Session) -> None:
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("mypy")
    session.run("lint-imports")


@nox.session
def serve(session: nox.Session) -> None:
    """Start the service on its embedded defaults: SQLite in .entry-service/, the example campaigns and users."""
    session.install("--quiet", "-e", ".")
    env = {
        "ENTRY_CAMPAIGNS": os.environ.get("ENTRY_CAMPAIGNS", "file:examples/campaigns.json"),
        "ENTRY_USERS": os.environ.get("ENTRY_USERS", "file:examples/users.json"),
    }
    session.run("entry-service", "serve", *session.posargs, env=env)
