"""API.md §6 at the real start: a bad value of any variable stops ``entry-service serve`` at once with one line
naming the variable; ``entry-service config show`` prints the effective configuration, secrets never shown."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.e2e.serve import SCRIPT
from tests.http_app import write_sources

pytestmark = pytest.mark.e2e

BAD_VALUES = [
    ("ENTRY_STORE", "postgres://db/entries"),
    ("ENTRY_STORE", "sqlite:///"),
    ("ENTRY_CAMPAIGNS", "ftp://campaigns"),
    ("ENTRY_CAMPAIGNS", "file:no-such-campaigns.json"),
    ("ENTRY_USERS", "ldap://users"),
    ("ENTRY_USERS", "file:no-such-users.json"),
    ("ENTRY_DEFAULT_REGION", "ZZ"),
    ("ENTRY_DATA_DIR", "{file}/data"),  # under a regular file: no folder can be made there
    ("ENTRY_AUTH_PUBLIC_KEY", "not-a-pem-key"),
    ("ENTRY_EVENTS", "s3:bucket"),
    ("ENTRY_EVENTS", "kinesis:"),
    ("ENTRY_RETRY_QUEUE", "rabbitmq:queue"),
    ("ENTRY_FRAUD", "on"),
    ("ENTRY_FRAUD", "http://"),
    ("ENTRY_FANSCORE", "maybe"),
    ("ENTRY_RECEIPTS", "smtp:mail"),
    ("ENTRY_HTTP_TIMEOUT", "soon"),
    ("ENTRY_HTTP_TIMEOUT", "0"),
    ("ENTRY_ENRICHMENT_TIMEOUT", "99"),
    ("ENTRY_CORS_ORIGINS", "example.com"),
    ("ENTRY_BREAKER_FAILURES", "0"),
    ("ENTRY_BREAKER_COOLDOWN", "-1"),
    ("ENTRY_DRAND_CHAIN", "mainnet"),
    ("ENTRY_DRAND_CHAIN", "abcd:1:3"),
    ("ENTRY_DRAND_URL", "api.drand.sh"),
    ("ENTRY_DRAWS_INTERVAL", "0"),
]
# Free text with no wrong value: ENTRY_AUTH_SECRET, ENTRY_PHONE_TOKEN_SECRET, ENTRY_AUTH_AUDIENCE, ENTRY_AUTH_ISSUER.
SHOWN = [
    "ENTRY_STORE",
    "ENTRY_CAMPAIGNS",
    "ENTRY_USERS",
    "ENTRY_DEFAULT_REGION",
    "ENTRY_DATA_DIR",
    "ENTRY_AUTH_SECRET",
    "ENTRY_AUTH_PUBLIC_KEY",
    "ENTRY_AUTH_AUDIENCE",
    "ENTRY_AUTH_ISSUER",
    "ENTRY_PHONE_TOKEN_SECRET",
    "ENTRY_EVENTS",
    "ENTRY_RETRY_QUEUE",
    "ENTRY_FRAUD",
    "ENTRY_FANSCORE",
    "ENTRY_RECEIPTS",
    "ENTRY_HTTP_TIMEOUT",
    "ENTRY_ENRICHMENT_TIMEOUT",
    "ENTRY_CORS_ORIGINS",
    "ENTRY_BREAKER_FAILURES",
    "ENTRY_BREAKER_COOLDOWN",
    "ENTRY_DRAND_CHAIN",
    "ENTRY_DRAND_URL",
    "ENTRY_DRAWS_INTERVAL",
    "AWS_REGION",
]


def environment(tmp_path: Path, **values: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ENTRY_")}
    return {**env, **write_sources(tmp_path), **values}


@pytest.mark.parametrize(("name", "value"), BAD_VALUES, ids=[f"{n}={v}" for n, v in BAD_VALUES])
def test_a_bad_value_stops_serve_with_one_line_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    (tmp_path / "a-file").write_text("")
    env = environment(tmp_path, **{name: value.format(file=tmp_path / "a-file")})
    done = subprocess.run(
        [str(SCRIPT), "serve", "--port", "0"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert name in lines[0] and "Traceback" not in done.stderr


def test_config_show_prints_every_variable_with_secrets_hidden(tmp_path: Path) -> None:
    env = environment(
        tmp_path,
        ENTRY_AUTH_SECRET="s3cr3t-auth-value",
        ENTRY_STORE="mongodb://bob:hunter2@db.example:27017/es",
        ENTRY_FRAUD="https://nudetect.example/score?apiKey=k3y-value",
    )
    done = subprocess.run(
        [str(SCRIPT), "config", "show"], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    shown = dict(line.split("=", 1) for line in done.stdout.strip().splitlines())
    assert list(shown) == SHOWN
    for secret in ("s3cr3t-auth-value", "hunter2", "k3y-value"):
        assert secret not in done.stdout
    assert shown["ENTRY_STORE"] == "mongodb://bob:****@db.example:27017/es"
    assert shown["ENTRY_HTTP_TIMEOUT"] == "3" and shown["ENTRY_USERS"].startswith("file:")
    bad = subprocess.run(
        [str(SCRIPT), "config", "show"],
        env={**env, "ENTRY_HTTP_TIMEOUT": "x"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert bad.returncode != 0 and bad.stderr.strip().count("\n") == 0 and "ENTRY_HTTP_TIMEOUT" in bad.stderr
