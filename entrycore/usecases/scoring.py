"""Scoring and selection for administrators (SPEC SCR-001…006): uploads, eligibility counts, the ranked list,
tags and verdict flips. Every write is recorded in the audit trail (OPS-002)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import attrs

from entrycore import choices
from entrycore.audit import AuditRecord
from entrycore.caller import Caller
from entrycore.choices import FlipMode, TagBy
from entrycore.eligibility import EligibilityCounts, EligibilityCriteria
from entrycore.errors import BadRequest
from entrycore.phones import InvalidPhone, normalize_phone
from entrycore.ports import AuditTrail, CampaignSource, Clock, Pending, Runner, ScoringStore
from entrycore.scoring import (
    INSERTED,
    NO_CONFIRMED_ENTRY,
    Rejected,
    ScoreRow,
    ScoringRecord,
    UploadSummary,
    check_phone,
    read_row,
    tag_name_problem,
)
from entrycore.usecases.common import known_campaign
from entrycore.usecases.enrichment import Inline

UPLOAD_BATCH = 5_000  # rows per store write: bounded transactions, other writers interleave (docs/decisions.md)


def criteria_parameters(criteria: EligibilityCriteria) -> dict[str, Any]:
    """The criteria that differ from the defaults, for the audit trail (no personal data in them)."""
    default = EligibilityCriteria()
    return {
        field.name: list(value) if isinstance(value, tuple) else value
        for field in attrs.fields(EligibilityCriteria)
        if (value := getattr(criteria, field.name)) != getattr(default, field.name)
    }


@attrs.frozen
class Scoring:
    campaigns: CampaignSource
    store: ScoringStore
    audit: AuditTrail
    clock: Clock
    draw: Callable[[], float] = random.random  # a new record's random score, in [0, 1) (SCR-001)
    runner: Runner = attrs.field(factory=Inline)  # writes a batch while the next one is read (ThreadRunner)

    def upload(
        self,
        caller: Caller,
        campaign_id: str,
        rows: Iterable[Any],
        progress: Callable[[UploadSummary], None] | None = None,
    ) -> UploadSummary:
        """Reads, matches and stores the rows in batches (any number: the CLI streams files); bad rows are
        reported, never fail the upload (SCR-002). ``progress`` is called after each batch.

        When ``rows`` raises (a streamed file that turns out unreadable half-way), the batches written so far
        stay — each whole, and an upload of the fixed file updates them rather than adding any twice — the
        audit trail records the upload with ``{"complete": false}`` and what it stored, and the error goes on."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        upload = _Upload(self, campaign_id, campaign.region, progress)
        batch: list[ScoreRow] = []
        writing: tuple[list[ScoreRow], Pending[list[str]]] | None = None
        reading = enumerate(rows)
        while True:
            try:
                index, raw = next(reading)
            except StopIteration:
                break
            except Exception:
                if writing is not None:  # the batch being written when the rows stopped is stored: count it
                    upload.settle(*writing)
                self._audit(caller, "scoring.upload", campaign_id, {"complete": False}, upload.summary.counts())
                raise
            upload.summary.received += 1
            row = read_row(index, raw, campaign.region, defer_phone_check=True)
            if isinstance(row, Rejected):
                upload.summary.reject(row)
                continue
            batch.append(row)
            if len(batch) == UPLOAD_BATCH:
                # The next batch is read while this one is written; batches are still stored in row order.
                if writing is not None:
                    upload.settle(*writing)
                writing = (batch, upload.write(batch))
                batch = []
        if writing is not None:
            upload.settle(*writing)
        if batch:
            upload.settle(batch, upload.write(batch))
        self._audit(caller, "scoring.upload", campaign_id, {}, upload.summary.counts())
        return upload.summary

    def counts(self, caller: Caller, campaign_id: str, criteria: EligibilityCriteria) -> EligibilityCounts:
        """SCR-004, ``byMarket`` in the campaign's market order."""
        caller.require_supreme()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        return self.store.eligibility_counts(campaign_id, criteria, [m.id for m in campaign.markets])

    def page(
        self, caller: Caller, campaign_id: str, criteria: EligibilityCriteria, limit: int, offset: int
    ) -> tuple[list[ScoringRecord], int]:
        """SCR-005: a page of the ranked list and the total under the same criteria."""
        caller.require_supreme()
        known_campaign(self.campaigns, caller, campaign_id)
        return self.store.eligible_page(campaign_id, criteria, limit, offset)

    def export(self, caller: Caller, campaign_id: str, criteria: EligibilityCriteria) -> Iterator[ScoringRecord]:
        """The whole ranked list, streamed (the campaign is checked before the first record)."""
        caller.require_supreme()
        known_campaign(self.campaigns, caller, campaign_id)
        return self.store.eligible(campaign_id, criteria)

    def tag(self, caller: Caller, campaign_id: str, tag_name: str, by: TagBy, values: Iterable[str]) -> int:
        """SCR-006: sets the tag on the records chosen by phone (normalised; unreadable phones choose nothing)
        or by user id; returns how many records carry it by these values."""
        caller.require_supreme()
        problems = tag_problems(tag_name)  # the body's shape before the campaign (API.md §2), every problem
        by = choices.read(TagBy, by, "$.by", problems)  # a member reads as itself; text from an untyped caller too
        _refuse(problems)
        tag_name = tag_name.strip()
        campaign = known_campaign(self.campaigns, caller, campaign_id)
        chosen = [_phone_or_none(v, campaign.region) for v in values] if by == TagBy.PHONE else list(values)
        tagged = self.store.tag(campaign_id, tag_name, by, [v for v in chosen if v])
        self._audit(caller, "scoring.tags", campaign_id, {"tagName": tag_name, "by": by.value}, {"tagged": tagged})
        return tagged

    def flip_verdicts(self, caller: Caller, campaign_id: str, tag_name: str, mode: FlipMode) -> int:
        """SCR-006: ``exclude`` sets verdict false on the records carrying the tag, ``include`` on the others."""
        caller.require_supreme()
        problems = tag_problems(tag_name, signals=True)
        mode = choices.read(FlipMode, mode, "$.mode", problems)
        _refuse(problems)
        tag_name = tag_name.strip()
        known_campaign(self.campaigns, caller, campaign_id)
        modified = self.store.flip_verdicts(campaign_id, tag_name, mode)
        parameters = {"tagName": tag_name, "mode": mode.value}
        self._audit(caller, "scoring.flipVerdicts", campaign_id, parameters, {"modified": modified})
        return modified

    def _audit(
        self, caller: Caller, action: str, campaign_id: str, parameters: dict[str, Any], counts: dict[str, int]
    ) -> None:
        self.audit.record(AuditRecord(self.clock.now(), caller.user_id, action, campaign_id, parameters, counts))


def tag_problems(tag_name: str, *, signals: bool = False) -> list[tuple[str, str]]:
    """A tag name is read without its edge spaces, as the ``tag`` criteria read it; tag_name_problem says what it
    may be (a flip may name a signal, SIG-001; the tags route may not set one)."""
    problem = tag_name_problem(tag_name, signals=signals)
    return [] if problem is None else [("$.tagName", problem)]


def _refuse(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise BadRequest.at(problems)


def _phone_or_none(value: str, region: str) -> str | None:
    try:
        return normalize_phone(value, region)
    except InvalidPhone:
        return None


@attrs.define
class _Upload:
    """One upload in progress: its batches' writes and the summary they add up to."""

    scoring: Scoring
    campaign_id: str
    region: str
    progress: Callable[[UploadSummary], None] | None
    summary: UploadSummary = attrs.Factory(UploadSummary)

    def write(self, batch: list[ScoreRow]) -> Pending[list[str]]:
        draws = [self.scoring.draw() for _ in batch]
        return self.scoring.runner.submit(self.scoring.store.upsert_scores, self.campaign_id, batch, draws)

    def settle(self, batch: list[ScoreRow], writing: Pending[list[str]]) -> None:
        """Waits for a batch's write and adds up its outcomes; rows whose E.164 text matched nothing are checked
        with phonenumbers and, when normalising changes them (PHN-006), matched again."""
        again: list[ScoreRow] = []
        for row, outcome in zip(batch, writing.result(), strict=True):
            if outcome == NO_CONFIRMED_ENTRY and not row.phone_checked:
                checked = check_phone(row, self.region)  # matched nothing as given: is it a valid phone at all?
                if isinstance(checked, Rejected):
                    self.summary.reject(checked)
                elif checked.phone != row.phone:
                    again.append(checked)  # canonical only once normalised (PHN-006): match that
                else:
                    self.summary.reject(Rejected(row.index, NO_CONFIRMED_ENTRY))
                continue
            self._count(row, outcome)
        if again:
            for row, outcome in zip(again, self.write(again).result(), strict=True):
                self._count(row, outcome)
        if self.progress is not None:
            self.progress(self.summary)

    def _count(self, row: ScoreRow, outcome: str) -> None:
        if outcome == NO_CONFIRMED_ENTRY:
            self.summary.reject(Rejected(row.index, NO_CONFIRMED_ENTRY))
            return
        self.summary.matched += 1
        if outcome == INSERTED:
            self.summary.inserted += 1
        else:
            self.summary.updated += 1
