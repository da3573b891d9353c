"""HttpxReceiptSender: receipt emails through the email (SFMC) service over HTTP (SPEC PUB-006)."""

from __future__ import annotations

import json
import logging
import string
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx

from adapters_http.clients.deadline import make_client, within
from adapters_http.clients.service import checked_base, http_timeout
from entrycore.errors import DeliveryFailed, MessageRejected
from entrycore.timefmt import iso

log = logging.getLogger(__name__)
# The answers that refuse this one receipt. Any other failure (401/403 credentials, 404 a wrong URL, 408, 429,
# 5xx) speaks of the service, not of the receipt: every receipt waits for it rather than being parked.
_REFUSES_RECEIPT = {400, 413, 415, 422}
_VISIBLE = string.punctuation.replace("%", "")  # kept as is in the header; anything else is %-encoded


class HttpxReceiptSender:
    """``ENTRY_RECEIPTS=http(s)://…``: POSTs each receipt (API.md §6 shape plus ``sentAt``) as JSON with an
    ``Idempotency-Key`` header. A 400, 413, 415 or 422 answer refuses this receipt (MessageRejected: it is
    retried alone, then parked), and so does a receipt that cannot be encoded; any other failure, or no
    whole answer within ``timeout`` seconds, is the service failing (DeliveryFailed: every receipt waits for
    it)."""

    def __init__(self, url: str, timeout: float = 3.0, client: httpx.Client | None = None) -> None:
        self._url = checked_base("email service", url)
        self._total = timeout
        self._timeout = http_timeout(timeout)
        self._owns_client = client is None
        self._client = client if client is not None else make_client(self._timeout)

    def send(self, receipt: Mapping[str, Any]) -> None:
        body = {**receipt, "sentAt": iso(datetime.now(UTC))}
        headers = {"Idempotency-Key": quote(str(receipt.get("idempotencyKey", "")), safe=_VISIBLE)}
        try:
            content = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        except (UnicodeEncodeError, ValueError, TypeError) as exc:
            raise MessageRejected(f"cannot be encoded as UTF-8 JSON: {type(exc).__name__}") from None
        headers["Content-Type"] = "application/json"
        try:
            with within(self._total):  # the whole exchange, headers and body included (PUB-007)
                answer = self._client.post(self._url, content=content, headers=headers, timeout=self._timeout)
        except httpx.LocalProtocolError as exc:  # this request cannot be written: the receipt's fault
            raise MessageRejected(f"cannot be sent: {type(exc).__name__}") from None
        except httpx.HTTPError as exc:
            log.warning("email service failed: %s", type(exc).__name__)
            raise DeliveryFailed(f"email service unreachable: {type(exc).__name__}") from None
        status = answer.status_code
        if status in _REFUSES_RECEIPT:
            log.warning("email service refused a receipt: HTTP %s", status)
            raise MessageRejected(f"email service answered HTTP {status}")
        if not 200 <= status < 300:
            log.warning("email service answered HTTP %s", status)
            raise DeliveryFailed(f"email service answered HTTP {status}")

    def close(self) -> None:
        if self._owns_client:
            self._client.close()
