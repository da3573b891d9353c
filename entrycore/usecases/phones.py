"""Phone confirmation (SPEC PHN-001…010): one confirmed phone per campaign, brute-force limit, receipts."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import attrs

from entrycore.caller import Caller
from entrycore.errors import (
    CampaignNotOpen,
    DependencyUnavailable,
    EntryNotFound,
    InvalidPhoneToken,
    PhoneAlreadyConfirmed,
    PhoneTaken,
    StaleEntry,
    TooManyAttempts,
)
from entrycore.events import PHONE_CONFIRMED, event
from entrycore.model import Campaign, Entry
from entrycore.outbox import OutboxMessage, receipt
from entrycore.phone_tokens import verify_phone_token
from entrycore.ports import AttemptStore, CampaignSource, Clock, EntryStore, Ids
from entrycore.timefmt import utc_ms
from entrycore.usecases.common import known_campaign
from entrycore.usecases.draws import Draws, fan_draws
from entrycore.usecases.results import EntryWithCampaign

MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(minutes=10)
log = logging.getLogger(__name__)
_RETRIES = 64


@attrs.frozen
class PhoneConfirmations:
    campaigns: CampaignSource
    entries: EntryStore
    attempts: AttemptStore
    clock: Clock
    ids: Ids
    token_secret: str = attrs.field(repr=False)
    draws: Draws | None = None  # the fan's standing in the campaign's draws, in the answer (DRW-004)

    def confirm_phone(self, caller: Caller, campaign_id: str, phone_token: str) -> EntryWithCampaign:
        """Confirms the caller's entry phone with a phone token; answers the entry with its campaign. Order (API.md
        §2): campaign status → entry exists → attempt limit (429) → token (400) → uniqueness (409)."""
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        if not campaign.is_open:
            raise CampaignNotOpen()
        entry = self.entries.get(campaign_id, caller.user_id)
        if entry is None:
            raise EntryNotFound()
        now = utc_ms(self.clock.now())
        # PHN-010: the attempt counts as failed from the start, in the same atomic step as the limit's check, so
        # parallel attempts never pass the limit together; it is forgotten unless the token proves invalid.
        reservation = self.attempts.reserve_attempt(
            campaign_id, caller.user_id, now, now - ATTEMPT_WINDOW, MAX_FAILED_ATTEMPTS
        )
        if reservation is None:
            raise TooManyAttempts("Too many failed phone confirmations; try again in a few minutes.")
        failed = False
        try:
            confirmed = self._confirm(caller, campaign, entry, phone_token, now)
        except InvalidPhoneToken:
            failed = True
            raise
        finally:
            if not failed:
                self._release(campaign_id, caller.user_id, reservation)
        standing = fan_draws(self.draws, campaign_id, confirmed.user_id)
        return EntryWithCampaign(confirmed, campaign, self.clock.now(), draws=standing)

    def _release(self, campaign_id: str, user_id: str, reservation: str) -> None:
        """Forgets an attempt that did not fail. A datastore failure here must not replace the answer (a saved
        confirmation answered 503): the attempt then stays counted, the safe side of the limit."""
        try:
            self.attempts.release_attempt(campaign_id, user_id, reservation)
        except DependencyUnavailable:
            log.warning("a phone confirmation attempt of %s/%s stays counted: the store failed", campaign_id, user_id)

    def _confirm(self, caller: Caller, campaign: Campaign, entry: Entry, phone_token: str, now: datetime) -> Entry:
        campaign_id = campaign.id
        for _ in range(_RETRIES):
            verify_phone_token(
                phone_token,
                self.token_secret,
                campaign_id=campaign_id,
                phone=entry.phone,
                user_id=caller.user_id,
                region=campaign.region,
                now=now,
            )
            if entry.phone_confirmed:
                return entry  # PHN-008: the same confirmation again is a no-op success
            confirmed = attrs.evolve(
                entry, phone_confirmed=True, date_phone_confirmed=now, date_updated=now, version=entry.version + 1
            )
            outbox: list[OutboxMessage] = [event(self.ids.message_id(), PHONE_CONFIRMED, campaign, confirmed, now)]
            if confirmed.owes_receipt:  # PUB-006: the receipt follows the first confirmation
                confirmed = attrs.evolve(confirmed, date_receipt=now)
                outbox.append(receipt(confirmed, self.ids.message_id(), now))
            try:
                self.entries.replace(confirmed, expected_version=entry.version, outbox=outbox)
            except PhoneTaken:
                raise PhoneAlreadyConfirmed() from None
            except StaleEntry:
                reread = self.entries.get(campaign_id, caller.user_id)
                if reread is None:
                    raise EntryNotFound() from None
                entry = reread
                continue
            return confirmed
        raise DependencyUnavailable("The entry kept changing while it was being confirmed; try again.")
