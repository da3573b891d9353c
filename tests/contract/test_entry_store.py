"""EntryStore contract: what every store promises (entrycore/ports.py), on every implementation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import attrs
import pytest

from adapters_mongo import MongoEntryStore
from adapters_sqlite import SqliteEntryStore
from entrycore.errors import DependencyUnavailable, EntryExists, PhoneTaken, ReferralCodeTaken, StaleEntry
from entrycore.outbox import Contact
from tests.contract.conftest import Stores
from tests.contract.entries import T0, a_full_entry, an_entry
from tests.contract.test_retry_queue import _BrokenDatabase

PHONE = "+12125550123"


def test_ping_answers(stores: Stores, tmp_path: Path) -> None:
    assert stores.entries.ping() is None
    stores.entries.create(a_full_entry())
    assert stores.entries.ping() is None and stores.entries.get("c1", "u1") == a_full_entry()  # it changes nothing
    if stores.kind == "sqlite":  # the same store where its file cannot be: ping says so
        (tmp_path / "not-a-folder").write_text("")
        with pytest.raises(DependencyUnavailable):
            SqliteEntryStore(tmp_path / "not-a-folder" / "entries.db").ping()
    if stores.kind == "mongomock":
        with pytest.raises(DependencyUnavailable):
            MongoEntryStore(_BrokenDatabase()).ping()


def test_a_created_entry_reads_back_equal(stores: Stores) -> None:
    entry = a_full_entry()
    stores.entries.create(entry)
    assert stores.entries.get("c1", "u1") == entry


def test_an_unknown_entry_is_none(stores: Stores) -> None:
    stores.entries.create(an_entry())
    assert stores.entries.get("c1", "u2") is None
    assert stores.entries.get("c2", "u1") is None


def test_creating_a_taken_key_raises_entry_exists_and_changes_nothing(stores: Stores) -> None:
    first = an_entry()
    stores.entries.create(first)
    with pytest.raises(EntryExists):
        stores.entries.create(attrs.evolve(first, code="OTHER", locale="es_MX"))
    with pytest.raises(EntryExists):  # the same entry again: its code collides too, the key wins
        stores.entries.create(first)
    assert stores.entries.get("c1", "u1") == first
    assert stores.entries.find_by_code("c1", "OTHER") is None


def test_a_referral_code_is_unique_within_a_campaign(stores: Stores) -> None:
    stores.entries.create(an_entry(user_id="u1", code="K3J9QX"))
    with pytest.raises(ReferralCodeTaken):
        stores.entries.create(an_entry(user_id="u2", code="K3J9QX", phone="+12125550199"))
    assert stores.entries.get("c1", "u2") is None


def test_the_same_referral_code_may_serve_in_another_campaign(stores: Stores) -> None:
    stores.entries.create(an_entry("c1", "u1", code="K3J9QX"))
    other = an_entry("c2", "u2", code="K3J9QX")
    stores.entries.create(other)
    assert stores.entries.get("c2", "u2") == other


def test_a_confirmed_phone_is_unique_within_a_campaign_on_create(stores: Stores) -> None:
    stores.entries.create(an_entry(user_id="u1", confirmed=True))
    with pytest.raises(PhoneTaken):
        stores.entries.create(an_entry(user_id="u2", confirmed=True))
    assert stores.entries.get("c1", "u2") is None
    assert stores.entries.confirmed_holder("c1", PHONE) == "u1"


def test_a_confirmed_phone_is_unique_within_a_campaign_on_replace(stores: Stores) -> None:
    stores.entries.create(an_entry(user_id="u1", confirmed=True))
    waiting = an_entry(user_id="u2")
    stores.entries.create(waiting)  # the same phone, unconfirmed: allowed (PHN-004 is the use case's)
    confirming = attrs.evolve(waiting, phone_confirmed=True, date_phone_confirmed=T0, version=2)
    with pytest.raises(PhoneTaken):
        stores.entries.replace(confirming, expected_version=1)
    assert stores.entries.get("c1", "u2") == waiting
    assert stores.entries.confirmed_holder("c1", PHONE) == "u1"


def test_an_unconfirmed_phone_may_repeat(stores: Stores) -> None:
    stores.entries.create(an_entry(user_id="u1"))
    stores.entries.create(an_entry(user_id="u2"))
    stores.entries.create(an_entry(user_id="u3", confirmed=True))
    stores.entries.create(an_entry(user_id="u4"))
    assert [stores.entries.get("c1", u) is not None for u in ("u1", "u2", "u3", "u4")] == [True] * 4


def test_the_same_confirmed_phone_may_serve_in_two_campaigns(stores: Stores) -> None:
    stores.entries.create(an_entry("c1", "u1", confirmed=True))
    stores.entries.create(an_entry("c2", "u2", confirmed=True))
    assert stores.entries.confirmed_holder("c1", PHONE) == "u1"
    assert stores.entries.confirmed_holder("c2", PHONE) == "u2"


def test_replace_with_the_current_version_stores_the_entry(stores: Stores) -> None:
    stores.entries.create(an_entry(confirmed=True))
    changed = attrs.evolve(
        a_full_entry(), fields={"email": "new@example.com"}, date_updated=T0 + timedelta(hours=1), version=2
    )
    stores.entries.replace(changed, expected_version=1)  # its own confirmed phone is no collision
    assert stores.entries.get("c1", "u1") == changed
    again = attrs.evolve(changed, phone="+12125550100", phone_confirmed=False, version=3)
    stores.entries.replace(again, expected_version=2)
    assert stores.entries.get("c1", "u1") == again
    assert stores.entries.confirmed_holder("c1", PHONE) is None  # changing the phone released it


def test_replace_with_a_stale_version_raises_and_changes_nothing(stores: Stores) -> None:
    stored = an_entry(version=2)
    stores.entries.create(stored)
    with pytest.raises(StaleEntry):
        stores.entries.replace(attrs.evolve(stored, locale="es_MX", version=2), expected_version=1)
    with pytest.raises(StaleEntry):
        stores.entries.replace(attrs.evolve(stored, locale="es_MX", version=4), expected_version=3)
    assert stores.entries.get("c1", "u1") == stored


def test_replace_of_a_missing_entry_is_stale(stores: Stores) -> None:
    with pytest.raises(StaleEntry):
        stores.entries.replace(an_entry(version=2), expected_version=1)
    assert stores.entries.get("c1", "u1") is None


def test_find_by_code(stores: Stores) -> None:
    mine = an_entry("c1", "u1", code="AAA111")
    stores.entries.create(mine)
    stores.entries.create(an_entry("c1", "u2", code="BBB222"))
    stores.entries.create(an_entry("c2", "u3", code="CCC333"))
    assert stores.entries.find_by_code("c1", "AAA111") == mine
    assert stores.entries.find_by_code("c1", "CCC333") is None
    assert stores.entries.find_by_code("c1", "aaa111") is None


def test_confirmed_holder(stores: Stores) -> None:
    stores.entries.create(an_entry(user_id="u1"))
    assert stores.entries.confirmed_holder("c1", PHONE) is None
    stores.entries.create(an_entry(user_id="u2", confirmed=True))
    assert stores.entries.confirmed_holder("c1", PHONE) == "u2"
    assert stores.entries.confirmed_holder("c1", "+12125550100") is None
    assert stores.entries.confirmed_holder("c2", PHONE) is None


def test_entries_of_user_are_newest_first(stores: Stores) -> None:
    stores.entries.create(an_entry("a", "u1", created=T0))
    stores.entries.create(an_entry("b", "u1", created=T0 + timedelta(milliseconds=1)))
    stores.entries.create(an_entry("c", "u1", created=T0 - timedelta(days=30)))
    stores.entries.create(an_entry("d", "u1", created=T0))  # same moment as "a": campaign id descending
    stores.entries.create(an_entry("b", "u2", created=T0 + timedelta(days=1)))
    found = stores.entries.entries_of_user("u1")
    assert [e.campaign_id for e in found] == ["b", "d", "a", "c"]
    assert found[0] == an_entry("b", "u1", created=T0 + timedelta(milliseconds=1))
    assert stores.entries.entries_of_user("nobody") == []


def test_contacts_are_the_entries_phone_email_and_locale_in_one_batch(stores: Stores) -> None:
    """DRW-008's offer messages read their fans' contacts in batches: the same facts as the entries, none for a fan
    without an entry, none of another campaign, none of a deleted entry."""
    one = attrs.evolve(an_entry("c1", "u1", phone="+12125550101"), email="one@example.com", locale="es-MX")
    two = an_entry("c1", "u2", phone=None)
    other = an_entry("c2", "u3", phone="+12125550103")
    for entry in (one, two, other):
        stores.entries.create(entry)
    found = stores.entries.contacts("c1", ["u1", "u2", "u3", "nobody", "u1"])
    assert found == {"u1": Contact.of(one), "u2": Contact.of(two)}
    assert found["u1"].partition_key == "c1:+12125550101" and found["u2"].partition_key == "c1:u2"
    stores.entries.delete("c1", "u1", one.version)
    assert set(stores.entries.contacts("c1", ["u1", "u2"])) == {"u2"}
