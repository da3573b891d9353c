"""In-memory fakes of the ports, for unit tests. The contract suite runs them too, so they stay honest."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta

import attrs

from entrycore.errors import DependencyUnavailable, EntryExists, PhoneTaken, ReferralCodeTaken, StaleEntry
from entrycore.model import Campaign, Entry, UserAccount


@attrs.define
class FakeClock:
    current: datetime = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


@attrs.define
class FakeIds:
    codes: list[str] = attrs.field(factory=list)
    counter: int = 0

    def referral_code(self) -> str:
        if self.codes:
            return self.codes.pop(0)
        self.counter += 1
        return f"CODE{self.counter:04d}"


@attrs.define
class FakeCampaignSource:
    campaigns: dict[str, Campaign] = attrs.field(factory=dict)
    down: bool = False

    def get(self, campaign_id: str, authorization: str | None = None) -> Campaign | None:
        if self.down:
            raise DependencyUnavailable("campaign source down")
        return self.campaigns.get(campaign_id)

    def list(self, authorization: str | None = None) -> Sequence[Campaign]:
        return list(self.campaigns.values())


@attrs.define
class FakeUserSource:
    accounts: dict[str, UserAccount] = attrs.field(factory=dict)

    def get(self, user_id: str, authorization: str | None = None) -> UserAccount:
        return self.accounts.get(user_id) or UserAccount.empty(user_id)


@attrs.define
class FakeEntryStore:
    docs: dict[tuple[str, str], dict] = attrs.field(factory=dict)  # type: ignore[type-arg]
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    def ping(self) -> None:
        return None

    def get(self, campaign_id: str, user_id: str) -> Entry | None:
        doc = self.docs.get((campaign_id, user_id))
        return Entry.from_document(doc) if doc else None

    def _check_unique(self, entry: Entry) -> None:
        for (cid, uid), doc in self.docs.items():
            if cid != entry.campaign_id or uid == entry.user_id:
                continue
            if doc["code"] == entry.code:
                raise ReferralCodeTaken(entry.code)
            if entry.phone_confirmed and doc["phoneConfirmed"] and doc["phone"] == entry.phone:
                raise PhoneTaken(entry.phone)

    def create(self, entry: Entry) -> None:
        with self.lock:
            if (entry.campaign_id, entry.user_id) in self.docs:
                raise EntryExists()
            self._check_unique(entry)
            self.docs[(entry.campaign_id, entry.user_id)] = entry.to_document()

    def replace(self, entry: Entry, expected_version: int) -> None:
        with self.lock:
            doc = self.docs.get((entry.campaign_id, entry.user_id))
            if doc is None or doc["version"] != expected_version:
                raise StaleEntry()
            self._check_unique(entry)
            self.docs[(entry.campaign_id, entry.user_id)] = entry.to_document()

    def find_by_code(self, campaign_id: str, code: str) -> Entry | None:
        return next(
            (Entry.from_document(d) for (cid, _), d in self.docs.items() if cid == campaign_id and d["code"] == code),
            None,
        )

    def confirmed_holder(self, campaign_id: str, phone: str) -> str | None:
        return next(
            (
                uid
                for (cid, uid), d in self.docs.items()
                if cid == campaign_id and d["phoneConfirmed"] and d["phone"] == phone
            ),
            None,
        )

    def entries_of_user(self, user_id: str) -> list[Entry]:
        found = [Entry.from_document(d) for (_, uid), d in self.docs.items() if uid == user_id]
        return sorted(found, key=lambda e: (e.date_created, e.campaign_id), reverse=True)


@attrs.define
class FakeInviteStore:
    values: dict[str, set[str]] = attrs.field(factory=dict)

    def add(self, campaign_id: str, values: Iterable[str]) -> int:
        existing = self.values.setdefault(campaign_id, set())
        new = set(values) - existing
        existing |= new
        return len(new)

    def contains(self, campaign_id: str, value: str) -> bool:
        return value in self.values.get(campaign_id, set())
