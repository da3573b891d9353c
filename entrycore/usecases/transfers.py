"""Market transfers (SPEC MKT-003): an administrator moves every entry and scoring record of a campaign from one
market to another, when a venue changes. The store applies the rule in bulk (SelectionStore.transfer_entries,
entries and records together); the transfer is audited (OPS-002). One transfer of a campaign runs at a time: it
holds the campaign's transfer lock in the datastore (the Locks port), across workers, processes and hosts; a
transfer that stopped half-way finishes when run again, since each store applies the rule to what it holds now."""

from __future__ import annotations

import attrs

from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.errors import TransferInProgress
from entrycore.markets import MarketTransfer
from entrycore.ports import (
    AuditTrail,
    CampaignSource,
    Clock,
    Heartbeats,
    Ids,
    Locks,
    Progress,
    SelectionStore,
)
from entrycore.timefmt import utc_ms
from entrycore.usecases.common import known_campaign
from entrycore.usecases.leases import held, transfer_lock


@attrs.frozen
class TransferReport:
    entries: int  # entries moved (the answer's ``modified``)
    scoring: int  # scoring records moved


@attrs.frozen
class Transfers:
    campaigns: CampaignSource
    selection: SelectionStore
    audit: AuditTrail
    clock: Clock
    ids: Ids
    locks: Locks
    heartbeats: Heartbeats  # renew the lock while the transfer runs

    def transfer(
        self, caller: Caller, campaign_id: str, source: str, target: str, progress: Progress | None = None
    ) -> TransferReport:
        """Moves the campaign's entries and their scoring records from ``source`` to ``target``; raises
        InvalidTransfer for ``source == target`` or a market the campaign does not have, TransferInProgress while
        another transfer of the campaign runs. Running it again changes nothing (and answers zero); after one that
        stopped half-way, it moves what is left."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        move = MarketTransfer.of(campaign, source, target, utc_ms(self.clock.now()), self.ids.message_id())
        refused = TransferInProgress(payload={"campaignId": campaign.id})
        owner = move.event_id("lock")  # this transfer's own id
        with held(self.locks, self.heartbeats, self.clock, transfer_lock(campaign.id), owner, refused=refused):
            entries, records = self.selection.transfer_entries(move, progress)
        report = TransferReport(entries, records)
        self.audit.record(
            AuditRecord(
                move.at,
                caller.user_id,
                "entries.transfer",
                campaign.id,
                {"fromMarketId": source, "toMarketId": target},
                {"modified": entries, "scoring": records},
            )
        )
        return report
