"""Campaign documents and services for tests, built from the API.md §7 shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from entrycore.model import Campaign
from entrywire.services import read_campaign

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

BASE_CAMPAIGN: dict[str, Any] = {
    "id": "c1",
    "name": "Tour 2027",
    "status": "OPEN",
    "needsPhoneConfirmation": False,
    "domain": {"share": "share.example"},
    "region": "US",
    "locales": [{"id": "en-US", "is_default": True}, {"id": "es_MX"}],
    "markets": [
        {"id": "nyc", "name": "New York, NY"},
        {"id": "bos", "name": "Boston, MA"},
        {"id": "phl", "name": "Philadelphia, PA"},
        {"id": "chi", "name": "Chicago, IL"},
        {"id": "lax", "name": "Los Angeles, CA"},
    ],
    "preferences": [
        {"id": "email", "type": "email"},
        {"id": "phone", "type": "phone"},
        {"id": "first_name", "type": "name"},
        {"id": "last_name", "type": "name", "is_optional": True},
        {"id": "zip", "type": "zip", "is_optional": True},
        {"id": "market", "type": "market_select"},
        {"id": "optional_markets", "type": "additional_markets_select", "is_optional": True, "additional": {"max": 3}},
        {"id": "tickets", "type": "ticket_count", "is_optional": True, "additional": {"min": 1, "max": 4}},
        {"id": "allow_marketing", "type": "opt_in", "is_optional": True},
        {"id": "vip", "type": "boolean_select", "is_optional": True},
        {"id": "why", "type": "freeform_text", "is_optional": True, "additional": {"minLength": 2, "maxLength": 10}},
        {
            "id": "genres",
            "type": "checklist",
            "is_optional": True,
            "additional": {"items": [{"id": "rock"}, {"id": "pop"}]},
        },
    ],
}

VALID_FIELDS: dict[str, Any] = {
    "email": "Ana@Example.com ",
    "phone": "(212) 555-0123",
    "first_name": " Ana ",
    "market": "nyc",
    "optional_markets": ["bos", "phl"],
}


def campaign_doc(**overrides: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE_CAMPAIGN)
    doc.update(overrides)
    return doc


def campaign(**overrides: Any) -> Campaign:
    return read_campaign(campaign_doc(**overrides))


def example_campaigns() -> list[dict[str, Any]]:
    return json.loads((EXAMPLES / "campaigns.json").read_text())["campaigns"]
