"""httpx clients of the other services: campaign/user sources, receipts, Nudetect fraud check, fanscore."""

from adapters_http.clients.breaker import Breaker
from adapters_http.clients.campaigns import HttpxCampaignSource
from adapters_http.clients.fanscore import HttpxFanscoreSource
from adapters_http.clients.nudetect import HttpxFraudCheck
from adapters_http.clients.receipts import HttpxReceiptSender
from adapters_http.clients.service import JsonService, http_timeout, path_segment
from adapters_http.clients.users import HttpxUserSource

__all__ = [
    "Breaker",
    "HttpxCampaignSource",
    "HttpxFanscoreSource",
    "HttpxFraudCheck",
    "HttpxReceiptSender",
    "HttpxUserSource",
    "JsonService",
    "http_timeout",
    "path_segment",
]
