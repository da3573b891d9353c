"""HttpxReceiptSender: receipt emails through the email (SFMC) service over HTTP (SPEC PUB-006)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters_http.clients.service import checked_base, http_timeout
from entrycore.errors import DeliveryFailed
from entrycore.timefmt import iso

log = logging.getLogger(__name__)


class HttpxReceiptSender:
    """``ENTRY_RECEIPTS=http(s)://…``: POSTs each receipt (API.md §6 shape plus ``sentAt``) as JSON with an
    ``Idempotency-Key`` header; any answer but 2xx, or no answer in time, raises DeliveryFailed (retried)."""

    def __init__(self, url: str, timeout: float = 3.0, client: httpx.Client | None = None) -> None:
        self._url = checked_base("email service", url)
        self._timeout = http_timeout(timeout)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=self._timeout)

    def send(self, receipt: Mapping[str, Any]) -> None:
        body = {**receipt, "sentAt": iso(datetime.now(UTC))}
        headers = {"Idempotency-Key": str(receipt.get("idempotencyKey", ""))}
        try:
            answer = self._client.post(self._url, json=body, headers=headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            log.warning("email service failed: %s", type(exc).__name__)
            raise DeliveryFailed(f"email service unreachable: {type(exc).__name__}") from None
        if not 200 <= answer.status_code < 300:
            log.warning("email service answered HTTP %s", answer.status_code)
            raise DeliveryFailed(f"email service answered HTTP {answer.status_code}")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
