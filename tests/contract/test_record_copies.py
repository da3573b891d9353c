"""SCR-001's "no count or list ever sees a record that disagrees with its entry" (issue 22: where a document must
still carry a copy, a contract test proves the two agree after every admin operation), on every store.

A MongoDB scoring record is a document of its own carrying copies of its entry — ranked ``markets``, ``codes`` and
``selected``, ``blocked``, ``phone`` and ``intl``, name, email and locale — which the counts and lists filter and
group on; a SQLite record is its entry's row (nothing to disagree), the fake store a refreshed copy. One campaign
goes through every admin operation in turn, through the admin use cases (entrycore.usecases) as the HTTP routes and
the CLI call them: upload, copy from the entries, codes (SCR-007), block and unblock (SCR-008), transfers (MKT-003:
the four cases, merges included), a phone change (PHN-005) and a lost confirmation, a new upload, erasure (USR-003).
After each, every record agrees with its entry (the port's record and, on MongoDB, the stored document's own
fields), exists exactly while its entry is phone-confirmed with the phone it was matched by, and the counts and
lists equal entrycore.eligibility's reference computed from the entries' facts and the records' own (score,
verdict, random score, tags)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

from entrycore.caller import Caller
from entrycore.eligibility import Candidate, EligibilityCriteria, eligibility_counts, eligible_page
from entrycore.model import Entry
from entrycore.scoring import ScoringRecord
from entrycore.selection import BlockItem, CodeAssignment
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0, an_entry
from tests.contract.test_admin_properties import admin_of
from tests.contract.test_scoring_follows_entries import updated

ADMIN = Caller("admin-1", is_supreme=True)
CAMPAIGN = campaign()
MARKETS = tuple(CAMPAIGN.market_ids())
USERS = tuple(f"u{k}" for k in range(1, 9))
CRITERIA = (
    EligibilityCriteria(),
    EligibilityCriteria(include_filtered=True, reassign=True),
    EligibilityCriteria(selected_only=True),
    EligibilityCriteria(market_ids=("bos",)),
    EligibilityCriteria(market_ids=("nyc", "lax"), single_market_selection=True, include_filtered=True),
    EligibilityCriteria(market_ids=("bos", "chi"), order_by_preference=True, reassign=True),
    EligibilityCriteria(exclude_intl_phone=True, random_selection=True),
    EligibilityCriteria(tag="vip", include_filtered=True),
)


@pytest.fixture(params=["fake", "sqlite", "mongomock"])
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SelectionStores]:
    with open_selection_stores(request.param, tmp_path) as opened:
        yield opened


def phone(k: int, *, foreign: bool = False) -> str:
    return f"+447911{k:06d}" if foreign else f"+1212555{k:04d}"


def fan(k: int, markets: tuple[str, ...], *, confirmed: bool = True, foreign: bool = False) -> Entry:
    """Fan k's entry ranking ``markets``, its market fields as the fan route writes them."""
    number = phone(k, foreign=foreign)
    entry = an_entry("c1", f"u{k}", phone=number, confirmed=confirmed, first_name=f"Fan {k}", last_name="Doe")
    fields: dict[str, Any] = {**entry.fields, "phone": number, "market": markets[0]}
    fields.pop("optional_markets")
    if markets[1:]:
        fields["optional_markets"] = list(markets[1:])
    return attrs.evolve(entry, fields=fields, markets=markets)


def stored_document(stores: SelectionStores, user: str) -> dict[str, Any] | None:
    """MongoDB's stored record document (the fields the counts group and filter on); None on the other stores."""
    if stores.kind != "mongomock":
        return None
    found: dict[str, Any] | None = stores.entries.database["scoring"].find_one({"campaignId": "c1", "userId": user})  # type: ignore[attr-defined]
    return found


def copies(record: ScoringRecord) -> dict[str, Any]:
    return {
        "phone": record.phone,
        "markets": record.markets,
        "codes": record.codes,
        "blocked": record.blocked,
        "name": (record.first_name, record.last_name),
        "email": record.email,
        "locale": record.locale,
    }


def of_entry(entry: Entry) -> dict[str, Any]:
    return {
        "phone": entry.phone,
        "markets": entry.markets,
        "codes": tuple((c.code, c.code_config_id) for c in entry.codes),
        "blocked": entry.is_blocked,
        "name": (entry.first_name, entry.last_name),
        "email": entry.email,
        "locale": entry.locale,
    }


def agree(stores: SelectionStores, scored: dict[str, str], when: str) -> None:
    """Every record agrees with its entry, the records are exactly those of ``scored`` (user id -> the phone it
    was matched by), and the counts and lists are the reference's over the entries' facts."""
    candidates = []
    for user in USERS:
        entry = stores.entries.get("c1", user)
        record = stores.scoring.scoring_record("c1", user)
        document = stored_document(stores, user)
        if user not in scored:
            assert record is None, f"{when}: {user} has a record"
            assert document is None, f"{when}: {user} has a stored record"
            continue
        assert entry is not None and entry.phone_confirmed and entry.phone == scored[user], when
        assert record is not None, f"{when}: {user} has no record"
        assert copies(record) == of_entry(entry), f"{when}: {user}'s record disagrees with its entry"
        if document is not None:
            assert {
                "phone": document["phone"],
                "markets": tuple(document["markets"]),
                "selected": document["selected"],
                "blocked": document["blocked"],
                "intl": document["intl"],
                "name": (document.get("name") or {}).get("first"),
                "email": document.get("email"),
                "locale": document.get("locale"),
            } == {
                "phone": entry.phone,
                "markets": entry.markets,
                "selected": bool(entry.codes),
                "blocked": entry.is_blocked,
                "intl": not (entry.phone or "").startswith("+1"),
                "name": entry.first_name,
                "email": entry.email,
                "locale": entry.locale,
            }, f"{when}: {user}'s stored document disagrees with its entry"
        candidates.append(
            Candidate(
                user_id=user,
                phone=entry.phone or "",
                score=record.score,
                random_score=record.random_score,
                verdict=record.verdict,
                markets=entry.markets,
                codes=tuple(c.code for c in entry.codes),
                tags=dict(record.tags),
                blocked=entry.is_blocked,
            )
        )
    for wanted in CRITERIA:
        counts = stores.scoring.eligibility_counts("c1", wanted, MARKETS)
        assert counts == eligibility_counts(candidates, wanted, MARKETS), f"{when}: counts under {wanted}"
        expected, total = eligible_page(candidates, wanted, 100, 0)
        page, listed = stores.scoring.eligible_page("c1", wanted, 100, 0)
        assert listed == total, f"{when}: total under {wanted}"
        assert [(r.user_id, r.markets) for r in page] == [(c.user_id, c.markets) for c in expected], when
        streamed = [(r.user_id, r.markets) for r in stores.scoring.eligible("c1", wanted)]
        assert streamed == [(r.user_id, r.markets) for r in page], f"{when}: export under {wanted}"


def test_SCR_001_every_record_agrees_with_its_entry_after_every_admin_operation(stores: SelectionStores) -> None:
    admin = admin_of(stores, CAMPAIGN)
    shapes: dict[int, dict[str, Any]] = {
        1: {"markets": ("nyc", "bos")},  # nyc primary, bos optional: nyc -> bos merges (bos becomes primary)
        2: {"markets": ("bos", "nyc", "phl")},  # nyc optional, bos ranked: nyc -> bos drops nyc
        3: {"markets": ("phl", "nyc")},  # nyc optional, bos absent: bos takes nyc's rank
        4: {"markets": ("nyc",)},  # nyc primary alone: becomes bos
        5: {"markets": ("chi", "lax", "nyc", "bos")},
        6: {"markets": ("lax",), "foreign": True},
        7: {"markets": ("bos",), "confirmed": False},  # never scored (SCR-001: confirmed entries only)
        8: {"markets": ("chi", "phl")},
    }
    for k, shape in shapes.items():
        stores.entries.create(fan(k, **shape))
    scored: dict[str, str] = {}
    agree(stores, scored, "registered")

    rows = [
        {"phone": phone(1), "score": 50.0},
        {"phone": phone(2), "score": 70.0, "randomScore": 0.9, "tags": {"vip": True}},
        {"phone": phone(3), "score": 90.0},
        {"phone": phone(4), "score": 99.0, "verdict": False},
        {"phone": phone(5), "score": 50.0, "randomScore": 0.1},
        {"phone": phone(6, foreign=True), "score": 10.0, "tags": {"vip": False}},
        {"phone": phone(7), "score": 30.0},  # not confirmed: unmatched
    ]
    summary = admin.scoring.upload(ADMIN, "c1", rows)
    assert (summary.matched, summary.unmatched) == (6, 1)
    scored.update({f"u{k}": phone(k, foreign=k == 6) for k in (1, 2, 3, 4, 5, 6)})
    agree(stores, scored, "upload")

    # a fan's own update, then the copy from the entries (what an admin write does after changing entries); on
    # MongoDB the record is first left behind its entry, as a process that died between the two writes leaves it
    updated(stores, "u8", first_name="Eve", email="eve@example.com", locale="es-MX")
    updated(stores, "u5", first_name="Cy", email="cy@example.com", locale="es-MX")
    if stores.kind == "mongomock":
        stored = stores.entries.database["scoring"]  # type: ignore[attr-defined]
        stored.update_one({"userId": "u5"}, {"$set": {"markets": ["nyc"], "email": "old@example.com"}})
    assert stores.scoring.copy_entries("c1", ["u5", "u8", "nobody"]) == 1  # u8 has no record: none made
    agree(stores, scored, "copy from entries")

    assert (
        admin.selection.assign_codes(
            ADMIN, "c1", [CodeAssignment("u2", "WIN-2", "cfg-1", T0), CodeAssignment("u5", "WIN-5", None, T0)]
        ).assigned
        == 2
    )
    agree(stores, scored, "codes")
    admin.selection.assign_codes(ADMIN, "c1", [CodeAssignment("u2", "WIN-2", "cfg-1", T0)])  # again: a no-op
    agree(stores, scored, "the same code again")

    admin.selection.set_blocks(ADMIN, "c1", [BlockItem("u3", True), BlockItem("u5", True)])
    agree(stores, scored, "block")
    admin.selection.set_blocks(ADMIN, "c1", [BlockItem("u3", False)])
    agree(stores, scored, "unblock")

    report = admin.transfers.transfer(ADMIN, "c1", "nyc", "bos")  # the four cases of MKT-003, merges included
    assert (report.entries, report.scoring) == (5, 5)
    assert stores.entries.get("c1", "u1").markets == ("bos",)  # type: ignore[union-attr]
    agree(stores, scored, "transfer nyc -> bos")
    assert admin.transfers.transfer(ADMIN, "c1", "nyc", "bos").scoring == 0  # idempotent
    agree(stores, scored, "the same transfer again")
    admin.transfers.transfer(ADMIN, "c1", "lax", "chi")  # u5: lax optional, chi primary: lax leaves
    agree(stores, scored, "transfer lax -> chi")

    # PHN-005: a phone change removes the record in the entry's own write; a lost confirmation too
    entry = stores.entries.get("c1", "u4")
    assert entry is not None
    moved = {**entry.fields, "phone": phone(40)}
    updated(stores, "u4", fields=moved, phone=phone(40), phone_confirmed=False, date_phone_confirmed=None)
    del scored["u4"]
    agree(stores, scored, "phone change")
    updated(stores, "u6", phone_confirmed=False, date_phone_confirmed=None)
    del scored["u6"]
    agree(stores, scored, "confirmation lost")
    entry = stores.entries.get("c1", "u3")
    assert entry is not None
    moved = {**entry.fields, "phone": phone(30)}  # PHN-007: the new phone confirmed in the same write
    updated(stores, "u3", fields=moved, phone=phone(30), phone_confirmed=True, date_phone_confirmed=T0)
    del scored["u3"]
    agree(stores, scored, "phone change, auto-confirmed")

    updated(stores, "u4", phone_confirmed=True, date_phone_confirmed=T0)  # the new phone confirmed
    admin.selection.assign_codes(ADMIN, "c1", [CodeAssignment("u4", "WIN-4", None, T0)])
    summary = admin.scoring.upload(ADMIN, "c1", [{"phone": phone(40), "score": 5.0}, {"phone": phone(1), "score": 1}])
    assert (summary.inserted, summary.updated) == (1, 1)
    scored["u4"] = phone(40)
    agree(stores, scored, "upload after the phone change")

    assert admin.privacy.delete_user(ADMIN, "u1") == {"entries": 1, "scoring": 1}
    del scored["u1"]
    agree(stores, scored, "erasure")
