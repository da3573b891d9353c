"""Domain values: Campaign, Market, Preference, UserAccount, Entry and their parts (attrs, frozen).

One module per thing another service describes or the service keeps: ``campaign`` (campaign-service's campaign),
``account`` (user-service's fan), ``entry`` (the registration); ``entrywire.services`` reads their documents.
Everything is importable from here, the library's public face (``from entrycore.model import Entry``).
"""

from __future__ import annotations

from entrycore.model.account import Card, UserAccount
from entrycore.model.campaign import (
    CAMPAIGN_STATUSES,
    FIELD_TYPES,
    INVITE_MATCHES,
    Campaign,
    Gates,
    Locale,
    Market,
    Preference,
)
from entrycore.model.entry import (
    REPLICATED,
    AssignedCode,
    Entry,
    FraudResult,
    Origin,
    Referrer,
    Review,
)

__all__ = [
    "CAMPAIGN_STATUSES",
    "FIELD_TYPES",
    "INVITE_MATCHES",
    "REPLICATED",
    "AssignedCode",
    "Campaign",
    "Card",
    "Entry",
    "FraudResult",
    "Gates",
    "Locale",
    "Market",
    "Origin",
    "Preference",
    "Referrer",
    "Review",
    "UserAccount",
]
