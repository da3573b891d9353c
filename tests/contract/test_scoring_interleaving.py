"""Scoring records written by several admin operations at once (SPEC SCR-001, SCR-006…008): an upload, a copy of
codes and blocks, a tag, a flip or a transfer landing between another write's read and its write is never
overwritten with what was read before it — a blocked or selected fan never becomes selectable again.

SQLite runs each of these writes in one transaction, so nothing can land in between; MongoDB reads, then writes
each record conditionally on its revision, and these tests put the other write exactly in that gap."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from entrycore.markets import MarketTransfer
from entrycore.model import AssignedCode, Review
from entrycore.scoring import ScoreRow
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0, an_entry

PHONE = "+12125550001"


class _Interleaved:
    """A collection running ``competing`` once, right after its read number ``after`` (from 1)."""

    def __init__(self, collection: Any, competing: Callable[[], Any], after: int = 1) -> None:
        self._collection = collection
        self._competing: Callable[[], Any] | None = competing
        self._reads_left = after

    def find(self, *args: Any, **kwargs: Any) -> list[Any]:
        found = list(self._collection.find(*args, **kwargs))
        self._reads_left -= 1
        if self._reads_left == 0 and self._competing is not None:
            competing, self._competing = self._competing, None
            competing()
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._collection, name)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[SelectionStores]:
    with open_selection_stores("mongomock", tmp_path) as opened:
        opened.entries.create(an_entry("c1", "u1", phone=PHONE, confirmed=True))  # ranks nyc, bos
        opened.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 10.0)], [0.5])
        yield opened


def between(
    stores: SelectionStores,
    competing: Callable[[], Any],
    write: Callable[[], Any],
    collection: str = "_scoring",
    after: int = 1,
) -> Any:
    """Runs ``write`` with ``competing`` landing between its read and its write: right after the ``after``-th read
    of ``collection`` (the records by default)."""
    scoring: Any = stores.scoring
    plain = getattr(scoring, collection)
    setattr(scoring, collection, _Interleaved(plain, competing, after))
    try:
        return write()
    finally:
        setattr(scoring, collection, plain)


def changed_entry(stores: SelectionStores, **changes: Any) -> Callable[[], None]:
    """An admin write as the use cases make it: the entry first, then its record copied from it."""

    def write() -> None:
        entry = stores.entries.get("c1", "u1")
        assert entry is not None
        changed = attrs.evolve(entry, version=entry.version + 1, **changes)
        stores.entries.replace(changed, entry.version, [])
        stores.scoring.copy_entries("c1", ["u1"])

    return write


def test_a_block_landing_during_an_upload_stays(stores: SelectionStores) -> None:
    outcome = between(
        stores,
        changed_entry(stores, review=Review(True, T0)),
        lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 99.0)], [0.9]),
    )
    assert outcome == ["updated"]
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.blocked and record.score == 99.0


def test_codes_landing_during_an_upload_stay(stores: SelectionStores) -> None:
    code = AssignedCode("PRESALE-1", "cfg", T0, None, None, T0)
    between(
        stores,
        changed_entry(stores, codes=(code,)),
        lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 99.0)], [0.9]),
    )
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.codes == (("PRESALE-1", "cfg"),) and record.score == 99.0


def test_a_tag_and_a_flip_landing_during_an_upload_stay(stores: SelectionStores) -> None:
    def tag_and_flip() -> None:
        stores.scoring.tag("c1", "bot", "phone", [PHONE])
        stores.scoring.flip_verdicts("c1", "bot", "exclude")

    between(stores, tag_and_flip, lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 99.0)], [0.9]))
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.tags == {"bot": True} and record.score == 99.0
    assert record.verdict is True  # the upload wrote after the flip, and a row's verdict defaults to true (SCR-001)


def test_a_transfer_landing_during_a_block_stays(stores: SelectionStores) -> None:
    move = MarketTransfer.of(campaign(), "nyc", "phl", datetime(2026, 12, 1, tzinfo=UTC), "x")
    entry = stores.entries.get("c1", "u1")
    assert entry is not None
    blocked = attrs.evolve(entry, version=entry.version + 1, review=Review(True, T0))
    stores.entries.replace(blocked, entry.version, [])  # the block's entry write; its copy is interleaved

    def transfer() -> None:
        stores.selection.transfer_entries(move)

    between(stores, transfer, lambda: stores.scoring.copy_entries("c1", ["u1"]))
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.blocked
    assert record.markets == ("phl", "bos")


def test_an_upload_creating_a_record_another_upload_created_meanwhile_updates_it(
    stores: SelectionStores,
) -> None:
    stores.scoring.delete_records("u1", "c1")
    outcome = between(
        stores,
        lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 50.0, tags={"vip": True})], [0.1]),
        lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 60.0)], [0.2]),
    )
    assert outcome == ["updated"]  # the other upload inserted it first
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.score == 60.0 and record.tags == {"vip": True}


def test_an_erasure_landing_while_an_upload_creates_the_record_leaves_no_record(stores: SelectionStores) -> None:
    """USR-003: the fan erased between the upload's read of the entry and the insert of its new record — the
    erasure found no record to delete — leaves no record behind, and the row is reported unmatched."""
    stores.scoring.delete_records("u1", "c1")

    def erase() -> None:
        entry = stores.entries.get("c1", "u1")
        assert entry is not None
        stores.entries.delete("c1", "u1", entry.version, [])
        stores.scoring.delete_records("u1")

    upload = lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 60.0)], [0.2])  # noqa: E731
    # the upload reads the entries by phone (1), then the records and the entries again (2), then inserts
    outcome = between(stores, erase, upload, collection="_entries", after=2)
    assert outcome == ["NO_CONFIRMED_ENTRY"]
    assert stores.scoring.scoring_record("c1", "u1") is None


def test_one_record_changed_meanwhile_among_many_is_retried_alone(stores: SelectionStores) -> None:
    """One bulk write for the batch: the records another write changed meanwhile are read and written again,
    the others are written once."""
    phones = {"u2": "+12125550002", "u3": "+12125550003"}
    for user, phone in phones.items():
        stores.entries.create(an_entry("c1", user, phone=phone, confirmed=True))
    stores.scoring.upsert_scores("c1", [ScoreRow(k, p, 10.0) for k, p in enumerate(phones.values())], [0.5, 0.5])
    rows = [ScoreRow(0, PHONE, 91.0), ScoreRow(1, phones["u2"], 92.0), ScoreRow(2, phones["u3"], 93.0)]
    outcome = between(
        stores,
        changed_entry(stores, review=Review(True, T0)),  # u1 blocked between the read and the write
        lambda: stores.scoring.upsert_scores("c1", rows, [0.1, 0.2, 0.3]),
    )
    assert outcome == ["updated"] * 3
    records = {user: stores.scoring.scoring_record("c1", user) for user in ("u1", "u2", "u3")}
    assert {user: (r.score, r.blocked) for user, r in records.items() if r is not None} == {
        "u1": (91.0, True),
        "u2": (92.0, False),
        "u3": (93.0, False),
    }


def new_phone(stores: SelectionStores) -> Callable[[], None]:
    """The fan's phone changed (PHN-005) as Registrations writes it: the entry only; the store follows."""

    def write() -> None:
        entry = stores.entries.get("c1", "u1")
        assert entry is not None
        other = "+12125550099"
        changed = attrs.evolve(
            entry,
            version=entry.version + 1,
            fields={**entry.fields, "phone": other},
            phone=other,
            phone_confirmed=False,
            date_phone_confirmed=None,
        )
        stores.entries.replace(changed, entry.version, [])

    return write


def test_a_phone_change_landing_while_an_upload_creates_the_record_leaves_no_record(stores: SelectionStores) -> None:
    """SCR-001, REQ-006: the record created for the old phone after the entry's write removed the records it found
    is removed again, and the row reported unmatched."""
    stores.scoring.delete_records("u1", "c1")
    upload = lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 60.0)], [0.2])  # noqa: E731
    outcome = between(stores, new_phone(stores), upload, collection="_entries", after=2)
    assert outcome == ["NO_CONFIRMED_ENTRY"]
    assert stores.scoring.scoring_record("c1", "u1") is None


def test_a_phone_change_landing_while_an_upload_updates_the_record_leaves_no_record(stores: SelectionStores) -> None:
    outcome = between(
        stores, new_phone(stores), lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 99.0)], [0.9])
    )
    assert outcome == ["NO_CONFIRMED_ENTRY"]
    assert stores.scoring.scoring_record("c1", "u1") is None


def test_a_market_change_landing_during_an_upload_stays(stores: SelectionStores) -> None:
    entry = stores.entries.get("c1", "u1")
    assert entry is not None
    fields = {**entry.fields, "market": "chi", "optional_markets": ["lax"]}

    def moved() -> None:
        current = stores.entries.get("c1", "u1")
        assert current is not None
        stores.entries.replace(
            attrs.evolve(current, version=current.version + 1, fields=fields, markets=("chi", "lax")), current.version
        )

    between(stores, moved, lambda: stores.scoring.upsert_scores("c1", [ScoreRow(0, PHONE, 99.0)], [0.9]))
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.markets == ("chi", "lax") and record.score == 99.0
