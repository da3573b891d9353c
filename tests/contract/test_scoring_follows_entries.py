"""SCR-001's last sentences and REQ-006 on every store: a scoring record shows its entry's current ranked markets,
name, email and locale (counts, eligibility and lists see a fan's update at once), and it exists only while its
entry is phone-confirmed with the phone it was matched by — a phone change (PHN-005) removes it in the entry's
own write, so one phone never has two records. Tagging by phone tags every record carrying the phone."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from entrycore.eligibility import EligibilityCriteria
from entrycore.model import Entry
from entrycore.scoring import INSERTED, NO_CONFIRMED_ENTRY, ScoreRow
from entrywire.answers import answers
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0
from tests.contract.test_scoring_store import fan, phone, upload

MARKETS = ("nyc", "bos", "phl", "chi", "lax")


@pytest.fixture(params=["fake", "sqlite", "mongomock"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SelectionStores]:
    with open_selection_stores(request.param, tmp_path) as opened:
        yield opened


def updated(stores: SelectionStores, user: str, **changes: Any) -> Entry:
    """The fan's entry rewritten with ``changes`` through EntryStore.replace (what every use case does)."""
    entry = stores.entries.get("c1", user)
    assert entry is not None
    new = attrs.evolve(entry, version=entry.version + 1, **changes)
    stores.entries.replace(new, entry.version)
    return new


def new_phone(stores: SelectionStores, user: str, number: str) -> Entry:
    """PHN-005: the fan's phone changed, its confirmation cleared (as Registrations writes it)."""
    entry = stores.entries.get("c1", user)
    assert entry is not None
    fields = {**entry.fields, "phone": number}
    return updated(stores, user, fields=fields, phone=number, phone_confirmed=False, date_phone_confirmed=None)


def total(stores: SelectionStores, **criteria: Any) -> int:
    return stores.scoring.eligibility_counts("c1", EligibilityCriteria(**criteria), MARKETS).total


def listed(stores: SelectionStores, **criteria: Any) -> list[tuple[str, tuple[str, ...]]]:
    page, _ = stores.scoring.eligible_page("c1", EligibilityCriteria(**criteria), 100, 0)
    streamed = list(stores.scoring.eligible("c1", EligibilityCriteria(**criteria)))
    assert [r.user_id for r in streamed] == [r.user_id for r in page]
    return [(r.user_id, r.markets) for r in page]


def test_SCR_001_a_phone_change_removes_the_record(stores: SelectionStores) -> None:
    stores.entries.create(fan(1))
    stores.entries.create(fan(2))
    assert upload(stores, ScoreRow(0, phone(1), 80.0), ScoreRow(1, phone(2), 70.0)) == [INSERTED, INSERTED]
    new_phone(stores, "u1", phone(11))
    assert stores.scoring.scoring_record("c1", "u1") is None
    assert total(stores) == 1
    assert listed(stores) == [("u2", ("nyc", "bos"))]
    assert stores.scoring.tag("c1", "vip", "phone", [phone(1)]) == 0  # the old phone has no record any more


def test_REQ_006_the_old_phone_never_has_two_records(stores: SelectionStores) -> None:
    """(a) of the issue: u1 confirmed and uploaded, then changed phone; u2 confirms u1's old phone and is
    uploaded: one record for that phone, u2's; u1's new phone is matched once confirmed, its codes kept."""
    stores.entries.create(fan(1))
    assert upload(stores, ScoreRow(0, phone(1), 80.0)) == [INSERTED]
    new_phone(stores, "u1", phone(11))
    stores.entries.create(fan(2, phone=phone(1), fields={**fan(2).fields, "phone": phone(1)}))  # the freed phone
    assert upload(stores, ScoreRow(0, phone(1), 60.0), ScoreRow(1, phone(11), 50.0)) == [INSERTED, NO_CONFIRMED_ENTRY]
    assert stores.scoring.scoring_record("c1", "u1") is None
    assert stores.scoring.tag("c1", "vip", "phone", [phone(1)]) == 1
    assert [r.user_id for r in stores.scoring.eligible("c1", EligibilityCriteria(tag="vip"))] == ["u2"]
    assert total(stores) == 1
    updated(stores, "u1", phone_confirmed=True, date_phone_confirmed=T0)  # u1 confirms the new phone
    assert upload(stores, ScoreRow(0, phone(11), 50.0)) == [INSERTED]
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.phone == phone(11)
    assert total(stores) == 2


def test_SCR_001_markets_name_email_and_locale_follow_the_entry(stores: SelectionStores) -> None:
    stores.entries.create(fan(1))
    stores.entries.create(fan(2, markets=("bos",)))
    upload(stores, ScoreRow(0, phone(1), 80.0), ScoreRow(1, phone(2), 70.0))
    assert total(stores, market_ids=("nyc",)) == 1
    entry = stores.entries.get("c1", "u1")
    assert entry is not None
    fields = {**entry.fields, "market": "phl", "optional_markets": ["chi"], "email": "new@example.com"}
    updated(
        stores,
        "u1",
        fields=fields,
        markets=("phl", "chi"),
        first_name="Ann",
        last_name="Bee",
        email="new@example.com",
        locale="es-MX",
    )
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None
    assert (record.markets, record.first_name, record.last_name, record.email, record.locale) == (
        ("phl", "chi"),
        "Ann",
        "Bee",
        "new@example.com",
        "es-MX",
    )
    assert (record.score, record.phone) == (80.0, phone(1))  # the record's own facts stay
    assert total(stores, market_ids=("nyc",)) == 0
    assert total(stores, market_ids=("chi",)) == 1
    counts = stores.scoring.eligibility_counts("c1", EligibilityCriteria(), MARKETS)
    assert counts == stores.scoring.eligibility_counts("c1", EligibilityCriteria(), MARKETS)
    assert listed(stores, market_ids=("phl",)) == [("u1", ("phl", "chi"))]
    assert listed(stores, market_ids=("nyc",)) == []
    assert listed(stores, market_ids=("phl", "bos"), order_by_preference=True) == [
        ("u1", ("phl", "chi")),
        ("u2", ("bos",)),
    ]
    exported = next(iter(stores.scoring.eligible("c1", EligibilityCriteria(market_ids=("phl",)))))
    assert answers.unstructure(exported)["name"] == {"first": "Ann", "last": "Bee"}


def legacy_second_record(stores: SelectionStores, user: str, number: str) -> None:
    """What an earlier version could leave (the issue's (a)): the record of ``user`` carrying ``number``, the
    phone of another fan's record. Written under the ports, as that version's data is found."""
    if stores.kind == "sqlite":
        pytest.skip("a SQLite record is its entry's row: it cannot carry another fan's phone (migration 12)")
    if stores.kind == "mongomock":
        stores.entries.database["scoring"].update_one({"userId": user}, {"$set": {"phone": number}})  # type: ignore[attr-defined]
    else:
        key = ("c1", user)
        records = stores.scoring.records  # type: ignore[attr-defined]
        records[key] = attrs.evolve(records[key], phone=number)


def test_SCR_006_tagging_by_phone_tags_every_record_of_the_phone(stores: SelectionStores) -> None:
    for k in (1, 2, 3):
        stores.entries.create(fan(k))
    upload(stores, *(ScoreRow(i, phone(k), 10.0 * k) for i, k in enumerate((1, 2, 3))))
    legacy_second_record(stores, "u2", phone(1))
    assert stores.scoring.tag("c1", "vip", "phone", [phone(1), phone(3)]) == 3
    tagged = sorted(r.user_id for r in stores.scoring.eligible("c1", EligibilityCriteria(tag="vip")))
    assert tagged == ["u1", "u2", "u3"]
    assert stores.scoring.tag("c1", "vip", "phone", [phone(1)]) == 2  # carried already: still counted
    assert json.dumps(sorted(tagged)) == json.dumps(["u1", "u2", "u3"])
