"""Scoring uploads (SPEC SCR-001, SCR-002): reading one uploaded row, and the summary an upload answers.

A row is ``{phone, score, verdict?, randomScore?, tags?}``. Bad rows never fail the batch: each is reported
with its index and reason (``INVALID_PHONE``, ``INVALID_SCORE``, ``INVALID_TAGS``; ``NO_CONFIRMED_ENTRY`` when no
phone-confirmed entry has the phone). Matching rows to entries and storing them is the store's (a port), not this
module's.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import attrs

from entrycore.eligibility import Candidate
from entrycore.model import Entry
from entrycore.phones import InvalidPhone, normalize_phone
from entrycore.text import forbidden_character, is_unicode

_E164_TEXT = re.compile(r"\+[1-9][0-9]{6,14}\Z")
INVALID_PHONE = "INVALID_PHONE"
INVALID_SCORE = "INVALID_SCORE"
INVALID_TAGS = "INVALID_TAGS"
MAX_TAG_NAME = 100  # characters of a tag name: a label, not a document (criteria are public, DRW-006)
SIGNAL_PREFIX = "signal:"  # names the service's own signals (SPEC SIG-001): admins' tags may not start with it


def tag_name_problem(name: Any, *, signals: bool = False) -> str | None:
    """Why ``name`` cannot be a tag name, or None: a string of at most MAX_TAG_NAME characters, not blank, with
    no control or bidirectional character, and — unless ``signals`` (criteria and flips may name a signal) — not
    starting with ``signal:``."""
    if not isinstance(name, str) or not name.strip():
        return "must be a non-empty tag name"
    if len(name) > MAX_TAG_NAME:
        return f"must be at most {MAX_TAG_NAME} characters"
    if not is_unicode(name) or forbidden_character(name) is not None:
        return "must not hold control or bidirectional characters"
    if not signals and name.strip().startswith(SIGNAL_PREFIX):
        return f"must not start with {SIGNAL_PREFIX!r}: that names the service's own signals"
    return None


def _tags_problem(tags: Any) -> bool:
    """Whether a row's ``tags`` is not an object of tag names to booleans (INVALID_TAGS)."""
    if not isinstance(tags, Mapping):
        return True
    return not all(tag_name_problem(k) is None and isinstance(v, bool) for k, v in tags.items())


NO_CONFIRMED_ENTRY = "NO_CONFIRMED_ENTRY"
MAX_REJECTED_SHOWN = 100  # SCR-002: the answer lists up to 100 rejected rows


@attrs.frozen
class ScoreRow:
    """One valid uploaded row: the phone in E.164 (PHN-006 folding), the score, and what was given of the
    rest (None = not given: ``verdict`` defaults to true on insert, ``random_score`` is drawn on insert and
    kept on re-upload)."""

    index: int
    phone: str
    score: float
    verdict: bool | None = None
    random_score: float | None = None
    tags: Mapping[str, bool] = attrs.field(factory=dict, hash=False)
    # False when the phone was given in E.164 form and not run through phonenumbers yet (``read_row``'s
    # ``defer_phone_check``): it is checked only if no confirmed entry has it exactly.
    phone_checked: bool = True


@attrs.frozen
class Rejected:
    index: int
    reason: str


def read_row(index: int, row: Any, region: str = "US", *, defer_phone_check: bool = False) -> ScoreRow | Rejected:
    """The row at ``index`` of an upload, or why it is rejected (SCR-002).

    ``defer_phone_check``: a phone already written in E.164 is taken as is (``phone_checked`` false) and
    checked only when it matches no confirmed entry (``check_phone``). Every stored phone is a checked E.164
    number, so a row whose E.164 text matches one exactly is valid: phonenumbers (~0.1 ms a number) runs only
    for the rows that need it, which makes uploads of millions of rows several times faster."""
    if not isinstance(row, Mapping):
        return Rejected(index, INVALID_PHONE)
    given = row.get("phone")
    checked = not (defer_phone_check and isinstance(given, str) and _E164_TEXT.match(given))
    if checked:
        try:
            phone = normalize_phone(given, region)  # type: ignore[arg-type]  # checked inside
        except InvalidPhone:
            return Rejected(index, INVALID_PHONE)
    else:
        phone = str(given)
    score = _number(row.get("score"))
    verdict = row.get("verdict")
    random_score = row.get("randomScore")
    tags = row.get("tags", {})
    if (
        score is None
        or (verdict is not None and not isinstance(verdict, bool))
        or (random_score is not None and not _unit(random_score))
    ):
        return Rejected(index, INVALID_SCORE)
    if _tags_problem(tags):
        return Rejected(index, INVALID_TAGS)
    tags = {k.strip(): v for k, v in tags.items()}  # tag names as the criteria read them (no edge spaces)
    random = None if random_score is None else float(random_score)
    return ScoreRow(index, phone, score, verdict, random, tags, checked)


def check_phone(row: ScoreRow, region: str) -> ScoreRow | Rejected:
    """A deferred row's phone run through the full check: INVALID_PHONE, or the row with its normalised phone
    (the same text when it was canonical already, e.g. not a +52 1 number that PHN-006 folds)."""
    try:
        phone = normalize_phone(row.phone, region)
    except InvalidPhone:
        return Rejected(row.index, INVALID_PHONE)
    return attrs.evolve(row, phone=phone, phone_checked=True)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _unit(value: Any) -> bool:
    number = _number(value)
    return number is not None and 0 <= number < 1


@attrs.define
class UploadSummary:
    """SCR-002's answer, added up over the batches of an upload of any size."""

    received: int = 0
    matched: int = 0
    inserted: int = 0
    updated: int = 0
    unmatched: int = 0
    invalid: int = 0
    rejected: list[Rejected] = attrs.Factory(list)

    def reject(self, rejected: Rejected) -> None:
        if rejected.reason == NO_CONFIRMED_ENTRY:
            self.unmatched += 1
        else:
            self.invalid += 1
        # The first rows by index: invalid rows are known at once, unmatched ones when their batch is stored.
        if len(self.rejected) < MAX_REJECTED_SHOWN or rejected.index < self.rejected[-1].index:
            self.rejected.append(rejected)
            self.rejected.sort(key=lambda r: r.index)
            del self.rejected[MAX_REJECTED_SHOWN:]

    def counts(self) -> dict[str, int]:
        """The upload's counts, without the rejected rows (what the audit keeps, OPS-002; the answer's first keys)."""
        return {
            "received": self.received,
            "matched": self.matched,
            "inserted": self.inserted,
            "updated": self.updated,
            "unmatched": self.unmatched,
            "invalid": self.invalid,
        }


@attrs.frozen
class ScoringRecord:
    """Per fan and campaign (SPEC §1, SCR-001): the uploaded score with the entry's name, email, phone, locale
    and ranked markets copied at upload, the fan's codes and tags. Its API.md §4 shape is ``entrywire.answers``'s."""

    campaign_id: str
    user_id: str
    phone: str
    score: float
    random_score: float
    verdict: bool = True
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    locale: str | None = None
    markets: tuple[str, ...] = ()
    codes: tuple[tuple[str, str | None], ...] = ()  # (code, codeConfigId)
    tags: Mapping[str, bool] = attrs.field(factory=dict, hash=False)
    blocked: bool = False  # the entry's review.isBlocked, copied: selection never lists it (SCR-008)

    def candidate(self) -> Candidate:
        """What the eligibility reference reads of the record."""
        return Candidate(
            user_id=self.user_id,
            phone=self.phone,
            score=self.score,
            random_score=self.random_score,
            verdict=self.verdict,
            markets=self.markets,
            codes=tuple(code for code, _ in self.codes),
            tags=self.tags,
            blocked=self.blocked,
        )


INSERTED, UPDATED = "inserted", "updated"


@attrs.frozen
class EntryFacts:
    """What a scoring record copies of its phone-confirmed entry at upload (SCR-001)."""

    campaign_id: str
    user_id: str
    phone: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    locale: str | None
    markets: tuple[str, ...]
    codes: tuple[tuple[str, str | None], ...]
    blocked: bool

    @classmethod
    def of(cls, entry: Entry) -> EntryFacts:
        return cls(
            campaign_id=entry.campaign_id,
            user_id=entry.user_id,
            phone=entry.phone,
            first_name=entry.first_name,
            last_name=entry.last_name,
            email=entry.email,
            locale=entry.locale,
            markets=entry.markets,
            codes=tuple((c.code, c.code_config_id) for c in entry.codes),
            blocked=entry.is_blocked,
        )


def merge(existing: ScoringRecord | None, row: ScoreRow, entry: EntryFacts, random_score: float) -> ScoringRecord:
    """The scoring record an uploaded row makes of its phone-confirmed entry (SCR-001): the row's score and
    verdict (default true), its random score or else the stored one or else ``random_score``, the tags merged
    into the stored ones, and the entry's name, email, phone, locale, ranked markets, codes and block copied
    as they are now."""
    kept = existing.random_score if existing is not None else random_score
    scored = ScoringRecord(
        campaign_id=entry.campaign_id,
        user_id=entry.user_id,
        phone=row.phone,
        score=row.score,
        random_score=row.random_score if row.random_score is not None else kept,
        verdict=True if row.verdict is None else row.verdict,
        tags={**(existing.tags if existing is not None else {}), **row.tags},
    )
    return refreshed(scored, entry)


def refreshed(record: ScoringRecord, entry: EntryFacts) -> ScoringRecord:
    """The record with its entry's facts copied again (after codes or a block changed the entry): score,
    verdict, random score and tags are the record's own."""
    return attrs.evolve(
        record,
        phone=entry.phone or record.phone,
        first_name=entry.first_name,
        last_name=entry.last_name,
        email=entry.email,
        locale=entry.locale,
        markets=entry.markets,
        codes=entry.codes,
        blocked=entry.blocked,
    )
