"""Checks every use case starts with."""

from __future__ import annotations

from entrycore.caller import Caller
from entrycore.errors import CampaignNotFound
from entrycore.model import Campaign
from entrycore.ports import CampaignSource


def known_campaign(campaigns: CampaignSource, caller: Caller, campaign_id: str) -> Campaign:
    """The campaign, or CampaignNotFound (checked before any entry rule, ENT-002, API.md §2)."""
    campaign = campaigns.get(campaign_id, caller.authorization)
    if campaign is None:
        raise CampaignNotFound(f"No campaign '{campaign_id}'.")
    return campaign
