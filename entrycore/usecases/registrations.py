"""Fan registration: create or update an entry, read it, check eligibility (SPEC §2-§4, USR-001)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from entrycore import fields as field_rules
from entrycore.caller import Caller
from entrycore.errors import (
    CampaignNotOpen,
    DependencyUnavailable,
    EntryExists,
    EntryNotFound,
    GateFailed,
    InvalidReferral,
    PhoneAlreadyConfirmed,
    PhoneTaken,
    ReferralCodeTaken,
    StaleEntry,
)
from entrycore.events import CREATED, UPDATED, event
from entrycore.gates import check_gates
from entrycore.locales import pick_locale
from entrycore.model import REPLICATED, Campaign, Entry, Referrer, UserAccount
from entrycore.outbox import OutboxMessage, receipt, retry
from entrycore.phones import InvalidPhone, normalize_phone
from entrycore.ports import CampaignSource, Clock, EntryStore, Ids, InviteStore, UserSource
from entrycore.referrals import check_update_referral, share_link
from entrycore.timefmt import utc_ms
from entrycore.usecases.common import known_campaign
from entrycore.usecases.draws import Draws, fan_draws
from entrycore.usecases.enrichment import EDIT, SIGN_UP, Enrichment, Scores
from entrycore.usecases.results import EntryWithCampaign, Registration

# Lost races (create → update, stale versions, code collisions) before giving up. Each round lets at
# least one concurrent writer of the entry through, so N simultaneous writes of one entry need N rounds.
_RETRIES = 64


@attrs.frozen
class Submission:
    """What a fan posts to ``POST /{campaignId}/entries`` (API.md §3)."""

    fields: Mapping[str, Any]
    locale: str | None = None
    referral_code: str | None = None
    invite_code: str | None = None


@attrs.frozen
class Registrations:
    campaigns: CampaignSource
    users: UserSource
    entries: EntryStore
    invites: InviteStore
    clock: Clock
    ids: Ids
    enrichment: Enrichment = attrs.field(factory=Enrichment)
    draws: Draws | None = None  # the fan's standing in the campaign's draws, in every view of the entry (DRW-004)

    def register(self, caller: Caller, campaign_id: str, submission: Submission) -> Registration:
        """Creates or updates the caller's entry (ENT-001…011); answers it with its campaign and ``is_new``."""
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        if not campaign.is_open:
            raise CampaignNotOpen()
        entry, is_new = self._save(caller, campaign, submission, replica=False)
        standing = () if is_new else fan_draws(self.draws, campaign_id, entry.user_id)  # a new fan is in no draw
        return Registration(entry, campaign, self.clock.now(), is_new, draws=standing)

    def save_replica(self, admin: Caller, campaign_id: str, user_id: str, submission: Submission) -> tuple[Entry, bool]:
        """USR-004: creates or updates the entry of ``user_id`` as replicated by another service, with the fan
        route's rules except the gates, ``requireReferral`` and the campaign's status. No receipt (PUB-006);
        enrichment is not waited for: the write queues its retry request (PUB-005), so a batch of a thousand
        never waits on the fraud check, and the worker scores each entry."""
        admin.require_supreme()
        campaign = known_campaign(self.campaigns, admin, campaign_id)
        fan = Caller(user_id=user_id, authorization=admin.authorization)
        return self._save(fan, campaign, attrs.evolve(submission, invite_code=None), replica=True)

    def _save(self, caller: Caller, campaign: Campaign, submission: Submission, *, replica: bool) -> tuple[Entry, bool]:
        existing = self.entries.get(campaign.id, caller.user_id)
        asked: list[Scores] = []  # enrichment is asked once per request, whatever races follow (PUB-007)
        if replica:
            asked.append(self.enrichment.deferred())
        for _ in range(_RETRIES):
            try:
                if existing is None:
                    return self._create(caller, campaign, submission, asked, replica=replica), True
                return self._update(caller, campaign, existing, submission, asked), False
            except (EntryExists, StaleEntry):
                existing = self.entries.get(campaign.id, caller.user_id)  # lost a race: re-read, go again
            except ReferralCodeTaken:
                continue
        raise DependencyUnavailable("The entry kept changing while it was being saved; try again.")

    def _scores(
        self, entry: Entry, placement: str, caller: Caller, account: UserAccount | None, asked: list[Scores]
    ) -> Scores:
        if not asked:
            asked.append(self.enrichment.scores(entry, placement, caller.authorization, account))
        return asked[0]

    def _create(
        self, caller: Caller, campaign: Campaign, submission: Submission, asked: list[Scores], *, replica: bool
    ) -> Entry:
        account: UserAccount | None = None
        attributes: dict[str, Any] = {REPLICATED: True} if replica else {}  # PUB-006: never a receipt
        if not replica:  # a replicated entry passed its gates where it was made (USR-004)
            account = self.users.get(caller.user_id, caller.authorization)
            attributes = check_gates(
                campaign, account, submission.invite_code, lambda v: self.invites.contains(campaign.id, v)
            )
        values, markets = self._validated(campaign, {}, submission.fields)
        referrer = self._referrer(caller, campaign, submission.referral_code, required=not replica)
        now = utc_ms(self.clock.now())
        code = self.ids.referral_code()
        entry = Entry(
            campaign_id=campaign.id,
            user_id=caller.user_id,
            fields=values,
            markets=markets,
            locale=pick_locale(campaign, submission.locale),
            code=code,
            link=share_link(campaign, code),
            date_created=now,
            date_updated=now,
            referrer=referrer,
            attributes=attributes,
            origin=caller.origin,
            **_own_data(campaign, values),
        )
        self._check_phone_free(entry)
        if account is None and campaign.needs_phone_confirmation and entry.phone:
            account = self.users.get(caller.user_id, caller.authorization)
        if account is not None:
            entry = _auto_confirm(campaign, account, entry, now)
        # PUB-006: a receipt at creation, unless the phone is still to confirm; never for a replicated entry
        receipt_due = not replica and (not campaign.needs_phone_confirmation or entry.phone_confirmed)
        if receipt_due:
            entry = attrs.evolve(entry, date_receipt=now)
        scores = self._scores(entry, SIGN_UP, caller, account, asked)
        entry = scores.apply(entry)
        outbox = self._side_effects(campaign, entry, CREATED, now, receipt_due=receipt_due, unscored=scores.failed)
        try:
            self.entries.create(entry, outbox)
        except PhoneTaken:
            raise PhoneAlreadyConfirmed() from None
        return entry

    def _update(
        self, caller: Caller, campaign: Campaign, existing: Entry, submission: Submission, asked: list[Scores]
    ) -> Entry:
        values, markets = self._validated(campaign, existing.fields, submission.fields)
        check_update_referral(existing, submission.referral_code)
        own = _own_data(campaign, values)
        now = utc_ms(self.clock.now())
        entry = attrs.evolve(
            existing,
            fields=values,
            markets=markets,
            locale=pick_locale(campaign, submission.locale) if submission.locale else existing.locale,
            date_updated=now,
            origin=caller.origin or existing.origin,
            version=existing.version + 1,
            **own,
        )
        receipt_due = False
        account = None
        if own["phone"] != existing.phone:  # a new number must be confirmed again (PHN-005)
            entry = attrs.evolve(entry, phone_confirmed=False, date_phone_confirmed=None)
            self._check_phone_free(entry)
            if campaign.needs_phone_confirmation and entry.phone:
                account = self.users.get(caller.user_id, caller.authorization)
                entry = _auto_confirm(campaign, account, entry, now)
            receipt_due = entry.phone_confirmed and entry.owes_receipt  # PUB-006: at the first confirmation
            if receipt_due:
                entry = attrs.evolve(entry, date_receipt=now)
        scores = self._scores(entry, EDIT, caller, account, asked)
        entry = scores.apply(entry, previous=existing)
        outbox = self._side_effects(campaign, entry, UPDATED, now, receipt_due=receipt_due, unscored=scores.failed)
        try:
            self.entries.replace(entry, expected_version=existing.version, outbox=outbox)
        except PhoneTaken:
            raise PhoneAlreadyConfirmed() from None
        return entry

    def _side_effects(
        self, campaign: Campaign, entry: Entry, event_type: str, now: datetime, *, receipt_due: bool, unscored: bool
    ) -> list[OutboxMessage]:
        """The outbox messages of a fan write: its event (PUB-001), maybe its receipt (PUB-006), maybe a
        retry request for enrichment that failed (PUB-005), all in the entry's own atomic write."""
        outbox = [event(self.ids.message_id(), event_type, campaign, entry, now)]
        if receipt_due:
            outbox.append(receipt(entry, self.ids.message_id(), now))
        if unscored:
            outbox.append(retry(entry, self.ids.message_id(), now))
        return outbox

    @staticmethod
    def _validated(
        campaign: Campaign, stored: Mapping[str, Any], submitted: Mapping[str, Any]
    ) -> tuple[dict[str, Any], tuple[str, ...]]:
        """Field names → missing fields → values and markets, in API.md §2 order."""
        field_rules.check_names(campaign, submitted)
        merged = field_rules.merge(stored, submitted)
        field_rules.check_missing(campaign, merged)
        field_rules.check_text(campaign, submitted)  # only what was sent: stored values are not judged again
        return field_rules.normalize(campaign, merged)

    def _referrer(self, caller: Caller, campaign: Campaign, code: str | None, *, required: bool) -> Referrer | None:
        if code is None:
            if required and campaign.require_referral:
                raise InvalidReferral("This campaign needs a referral code.")
            return None
        referring = self.entries.find_by_code(campaign.id, code)
        if referring is None or referring.user_id == caller.user_id:
            raise InvalidReferral("Unknown referral code.")
        return Referrer(code=code, user_id=referring.user_id)

    def _check_phone_free(self, entry: Entry) -> None:
        """PHN-004: a phone another fan of the campaign has confirmed cannot be registered."""
        if entry.phone is None:
            return
        holder = self.entries.confirmed_holder(entry.campaign_id, entry.phone)
        if holder is not None and holder != entry.user_id:
            raise PhoneAlreadyConfirmed()

    def get_entry(self, caller: Caller, campaign_id: str) -> EntryWithCampaign:
        """The caller's entry with its campaign (reads work in every campaign status, ENT-002)."""
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        entry = self.entries.get(campaign_id, caller.user_id)
        if entry is None:
            raise EntryNotFound()
        return EntryWithCampaign(
            entry, campaign, self.clock.now(), draws=fan_draws(self.draws, campaign_id, entry.user_id)
        )

    def registration_eligibility(
        self, caller: Caller, campaign_id: str, invite_code: str | None = None
    ) -> tuple[bool, str | None]:
        """``(eligible, reason)`` by the same checks as a create, without side effects (GATE-003)."""
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        if not campaign.is_open:
            return False, CampaignNotOpen.code
        if self.entries.get(campaign_id, caller.user_id) is not None:
            return True, None  # GATE-001
        account = self.users.get(caller.user_id, caller.authorization)
        try:
            check_gates(campaign, account, invite_code, lambda v: self.invites.contains(campaign.id, v))
        except GateFailed as failed:
            return False, failed.code
        return True, None

    def entries_of_user(self, caller: Caller, user_id: str) -> list[EntryWithCampaign]:
        """A fan's entries across campaigns, newest first, each with its campaign (None for one the source no
        longer knows: the entry is still the fan's); self or supreme only (USR-001)."""
        caller.require_self_or_supreme(user_id)
        entries = self.entries.entries_of_user(user_id)
        ids = dict.fromkeys(e.campaign_id for e in entries)  # each campaign read once, however many entries
        campaigns = {c: self.campaigns.get(c, caller.authorization) for c in ids}
        now = self.clock.now()
        return [
            EntryWithCampaign(e, campaigns[e.campaign_id], now, draws=fan_draws(self.draws, e.campaign_id, e.user_id))
            for e in entries
        ]


def _auto_confirm(campaign: Campaign, account: UserAccount, entry: Entry, now: datetime) -> Entry:
    """PHN-007: under PPC, a phone the fan's account has verified is confirmed without a token."""
    if not (campaign.needs_phone_confirmation and entry.phone and account.phone and account.phone_verified):
        return entry
    try:
        verified = normalize_phone(account.phone, campaign.region)
    except InvalidPhone:
        return entry
    if verified != entry.phone:
        return entry
    return attrs.evolve(entry, phone_confirmed=True, date_phone_confirmed=now)


def _own_data(campaign: Campaign, values: Mapping[str, Any]) -> dict[str, Any]:
    """The entry's own email/phone/names: what the fan typed, never the account's (ENT-011)."""
    email_pref = campaign.first_of_type("email")
    phone_pref = campaign.first_of_type("phone")
    return {
        "email": values.get(email_pref.id) if email_pref else None,
        "phone": values.get(phone_pref.id) if phone_pref else None,
        "first_name": values.get("first_name") if campaign.preference("first_name") else None,
        "last_name": values.get("last_name") if campaign.preference("last_name") else None,
    }
