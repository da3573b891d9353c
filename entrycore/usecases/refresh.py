"""Score refreshes: re-run enrichment for queued entries (the worker), and queue refreshes (admin)
(SPEC PUB-005, API.md ``POST /v2/refreshScores``)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from entrycore.caller import Caller
from entrycore.errors import DeliveryFailed, DependencyUnavailable, StaleEntry
from entrycore.events import UPDATED, event
from entrycore.outbox import RetryRequest
from entrycore.ports import CampaignSource, Clock, EntryStore, Ids, RetryQueue
from entrycore.timefmt import utc_ms
from entrycore.usecases.enrichment import EDIT, Enrichment

_RETRIES = 16


@attrs.frozen
class WorkReport:
    received: int
    refreshed: int
    failed: int


@attrs.frozen
class ScoreRefresher:
    campaigns: CampaignSource
    entries: EntryStore
    queue: RetryQueue
    enrichment: Enrichment
    clock: Clock
    ids: Ids

    def queue_refresh(self, caller: Caller, requests: Sequence[RetryRequest]) -> int:
        """Queues enrichment refreshes (admin); raises DependencyUnavailable when the queue is down."""
        caller.require_supreme()
        try:
            self.queue.enqueue(requests)
        except DeliveryFailed as exc:
            raise DependencyUnavailable(f"The retry queue is unavailable: {exc}") from None
        return len(requests)

    def refresh(self, request: RetryRequest) -> bool:
        """Re-runs enrichment of one entry; True when done (also when the entry or campaign is gone), False
        when a source failed again (the request stays queued and comes back later)."""
        for _ in range(_RETRIES):
            entry = self.entries.get(request.campaign_id, request.user_id)
            campaign = self.campaigns.get(request.campaign_id)
            if entry is None or campaign is None:
                return True
            enriched, failed = self.enrichment.enrich(entry, EDIT, None)
            if failed:
                return False
            # Scores are not a modification by the fan or an admin: date.updated stays (ENT-003); consumers
            # get the scores through an entry.updated event.
            enriched = attrs.evolve(enriched, version=entry.version + 1)
            outbox = [event(self.ids.message_id(), UPDATED, campaign, enriched, utc_ms(self.clock.now()))]
            try:
                self.entries.replace(enriched, expected_version=entry.version, outbox=outbox)
            except StaleEntry:
                continue
            return True
        return False

    def work_once(self, max_count: int = 10, wait_seconds: float = 0.0) -> WorkReport:
        """Receives up to ``max_count`` requests, refreshes them, acknowledges the finished ones."""
        received = self.queue.receive(max_count, wait_seconds)
        done = [handle for handle, request in received if self.refresh(request)]
        if done:
            self.queue.acknowledge(done)
        return WorkReport(received=len(received), refreshed=len(done), failed=len(received) - len(done))
