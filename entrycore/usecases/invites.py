"""Invite lists of invite-only campaigns (SPEC GATE-002; admin route ``POST /{campaignId}/invites``)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.errors import BadRequest
from entrycore.gates import normalize_invite
from entrycore.model import Campaign
from entrycore.ports import AuditTrail, CampaignSource, Clock, InviteStore
from entrycore.usecases.common import known_campaign


@attrs.frozen
class Invites:
    campaigns: CampaignSource
    invites: InviteStore
    audit: AuditTrail | None = None  # OPS-002: the service always wires one
    clock: Clock | None = None

    def add(self, caller: Caller, campaign_id: str, values: Iterable[str]) -> int:
        """Adds invite values (codes, emails, global user ids or member ids) to an invite-only campaign; returns
        how many were new."""
        self.accepting(caller, campaign_id)
        cleaned = [normalize_invite(v) for v in values if v.strip()]
        added = self.invites.add(campaign_id, cleaned) if cleaned else 0
        if self.audit is not None and self.clock is not None:
            counts = {"received": len(cleaned), "added": added}  # invite values may be emails: not kept
            self.audit.record(AuditRecord(self.clock.now(), caller.user_id, "invites.add", campaign_id, {}, counts))
        return added

    def accepting(self, caller: Caller, campaign_id: str) -> Campaign:
        """The campaign, when it takes invites: only an invite-only campaign checks them (GATE-002), so a list
        added to any other would never be read — BadRequest (SCR-002), before anything is stored. The CLI asks
        first, before it reads a file."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        if campaign.gates.invite_only is None:
            raise BadRequest.at([("$.invites", f"campaign {campaign_id} is not invite-only: it never reads invites")])
        return campaign
