"""httpx clients of the other services (campaign-service and user-service sources so far)."""

from adapters_http.clients.campaigns import HttpxCampaignSource
from adapters_http.clients.receipts import HttpxReceiptSender
from adapters_http.clients.service import JsonService, http_timeout, path_segment
from adapters_http.clients.users import HttpxUserSource

__all__ = [
    "HttpxCampaignSource",
    "HttpxReceiptSender",
    "HttpxUserSource",
    "JsonService",
    "http_timeout",
    "path_segment",
]
