"""Developer sessions: ``tests`` (the whole suite), ``lint`` (ruff, mypy, import contracts), ``serve``."""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["tests"]


@nox.session
def tests(session: nox.Session) -> None:
    """Install the project with its test tools and run every test (unit, contract, integration, e2e)."""
    session.install("--quiet", "-e", ".[test]")
    workers = session.env.get("PYTEST_WORKERS", "2")
    args = session.posargs or ["-n", workers, "-q"]
    session.run("pytest", *args)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, mypy (strict on entrycore) and the import-linter contracts."""
    session.install("--quiet", "-e", ".[lint,test]")
    session.run("ruff", "check", ".")
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
