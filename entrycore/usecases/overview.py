"""What administrators and operators look at: the campaigns of the source and how the outbox stands (API.md §4, §5)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from entrycore.caller import Caller
from entrycore.model import Campaign
from entrycore.outbox import OutboxStatus
from entrycore.ports import CampaignSource, Outbox


@attrs.frozen
class Overview:
    campaigns: CampaignSource
    outbox: Outbox

    def campaign_list(self, caller: Caller) -> Sequence[Campaign]:
        """Every campaign of the campaign source, as it lists them (the admin page's choice); supreme only
        (AUTH-002). The caller's authorization is forwarded to campaign-service (API.md §7)."""
        caller.require_supreme()
        return self.campaigns.list(caller.authorization)

    def outbox_status(self, caller: Caller) -> OutboxStatus:
        """How the outbox stands, for an administrator (``GET /outbox``); supreme only (AUTH-002)."""
        caller.require_supreme()
        return self.outbox.outbox_status()

    def outbox_gauges(self) -> OutboxStatus:
        """The same status for the metrics scrape, which needs no token (API.md §1, §5): counts and times only,
        nothing about any fan, so that Prometheus can read it without a credential."""
        return self.outbox.outbox_status()
