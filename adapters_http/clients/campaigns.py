"""HttpxCampaignSource: campaigns read from campaign-service over HTTP (API.md §7), cached in-process."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from adapters_http.clients.breaker import Breaker
from adapters_http.clients.cache import ExpiringCache
from adapters_http.clients.service import JsonService, ServiceClient, path_segment
from entrycore.model import Campaign
from entrywire.services import DocumentError, read_campaign

SERVICE = "campaign-service"


class HttpxCampaignSource(ServiceClient):
    """CampaignSource on campaign-service: ``GET {base}/campaigns/{id}`` (404 = unknown) and
    ``GET {base}/campaigns``.

    A campaign is kept ``cache_seconds`` per id, an unknown id ``unknown_cache_seconds`` (at most
    ``cache_seconds``), shared by all callers: campaign documents do not depend on the caller, so
    the caller's Authorization is forwarded on the calls that are made, and a cached answer serves
    everyone. The list is never cached. Failures raise DependencyUnavailable (see JsonService).
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = 3.0,
        cache_seconds: float = 5.0,
        client: httpx.Client | None = None,
        *,
        default_region: str = "US",
        unknown_cache_seconds: float = 1.0,
        breaker: Breaker | None = None,
    ) -> None:
        self._service = JsonService(SERVICE, base_url, timeout, client, breaker)
        self._timeout = timeout
        self._default_region = default_region
        self._found_seconds = cache_seconds
        self._unknown_seconds = min(unknown_cache_seconds, cache_seconds)
        self._cache: ExpiringCache[str, Campaign | None] = ExpiringCache()

    def get(self, campaign_id: str, authorization: str | None = None) -> Campaign | None:
        """The campaign, or None when campaign-service answers 404; DependencyUnavailable on failure."""
        if not campaign_id:
            return None  # GET /campaigns/ would be the list
        try:
            return self._cache.get_or_load(
                campaign_id,
                lambda: self._fetch(campaign_id, authorization),
                lambda found: self._found_seconds if found is not None else self._unknown_seconds,
                wait=self._timeout,
            )
        except TimeoutError:  # another request is loading this campaign and took too long
            raise self._service.unavailable("timed out", f"waiting for campaign {campaign_id!r}") from None

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        """Every campaign campaign-service lists; DependencyUnavailable on failure."""
        doc = self._service.get_json("/campaigns", authorization)
        if not isinstance(doc, dict) or not isinstance(doc.get("campaigns"), list):
            raise self._service.unavailable("malformed answer", 'GET /campaigns: not {"campaigns": [...]}')
        try:
            return [read_campaign(item, self._default_region) for item in doc["campaigns"]]
        except DocumentError as exc:
            raise self._service.unavailable("malformed answer", f"GET /campaigns: {exc}") from None

    def close(self) -> None:
        """Releases the HTTP connections (when the client was made here) and the cache."""
        self._cache.clear()
        super().close()

    def _fetch(self, campaign_id: str, authorization: str | None) -> Campaign | None:
        doc = self._service.get_json(f"/campaigns/{path_segment(campaign_id)}", authorization)
        if doc is None:
            return None
        try:
            campaign = read_campaign(doc, self._default_region)
        except DocumentError as exc:
            raise self._service.unavailable("malformed answer", f"campaign {campaign_id!r}: {exc}") from None
        if campaign.id != campaign_id:
            raise self._service.unavailable(
                "malformed answer", f"asked for campaign {campaign_id!r}, got {campaign.id!r}"
            )
        return campaign
