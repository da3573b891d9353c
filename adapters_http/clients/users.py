"""HttpxUserSource: fans' accounts read from user-service over HTTP (API.md §7)."""

from __future__ import annotations

import httpx

from adapters_http.clients.breaker import Breaker
from adapters_http.clients.service import JsonService, ServiceClient, path_segment
from entrycore.model import UserAccount
from entrywire.services import DocumentError, read_account

SERVICE = "user-service"


class HttpxUserSource(ServiceClient):
    """UserSource on user-service: ``GET {base}/users/{id}`` with the caller's Authorization.

    A 404 is an empty account (SPEC ENT-011), never an error. Accounts are not cached: they are
    read per caller and change (linked accounts, cards). Failures raise DependencyUnavailable.
    """

    def __init__(
        self, base_url: str, timeout: float = 3.0, client: httpx.Client | None = None, breaker: Breaker | None = None
    ) -> None:
        self._service = JsonService(SERVICE, base_url, timeout, client, breaker)

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        """The fan's account, or an empty one when user-service answers 404."""
        if not user_id:
            return UserAccount.empty(user_id)
        doc = self._service.get_json(f"/users/{path_segment(user_id)}", authorization)
        if doc is None:
            return UserAccount.empty(user_id)
        try:
            account = read_account(doc)
        except DocumentError as exc:
            raise self._service.unavailable("malformed answer", f"user {user_id!r}: {exc}") from None
        if account.id != user_id:
            # Never let one fan's request be judged on another fan's account (gates, fanscore).
            raise self._service.unavailable("malformed answer", f"asked for {user_id!r}, got {account.id!r}")
        return account
