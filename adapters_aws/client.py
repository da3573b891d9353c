"""boto3 clients of the AWS adapters: one SDK configuration (timeouts, standard retries) and error wording."""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

# PUB-007: connect ≤ 1 s, each read ≤ 3 s. Transient failures (throttling, 5xx, connection resets) are retried
# by botocore's standard mode (exponential backoff with jitter, a retry quota) — not by hand. Three attempts in
# all, the standard mode's default: botocore's ``max_attempts`` key counts retries only (3 would mean 4 calls).
CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 3}, connect_timeout=1, read_timeout=3)

# Everything botocore raises for a call: ClientError (an AWS error answer) and BotoCoreError (no usable
# answer: connection refused, timeouts, bad parameters, no credentials …).
AWS_ERRORS: tuple[type[Exception], ...] = (BotoCoreError, ClientError)


def make_client(service: str, region: str | None) -> Any:
    """A client configured by boto3's own settings (``AWS_ENDPOINT_URL``, ``AWS_REGION`` …) with CONFIG;
    raises ValueError when that configuration is unusable (no region, a malformed endpoint URL)."""
    try:
        # A session per client: boto3's module-level default session is not safe to share across threads.
        return boto3.session.Session().client(service, region_name=region, config=CONFIG)
    except (BotoCoreError, ValueError) as exc:
        raise ValueError(f"cannot configure the AWS {service} client: {exc}") from None


def describe(exc: Exception) -> str:
    """A short, secret-free reason for logs and DeliveryFailed: the AWS error code, or the exception type."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'ClientError')}: {error.get('Message', '')}".rstrip(": ")
    return f"{type(exc).__name__}: {exc}"
