"""ScoringStore contract (SPEC SCR-001…006): every store matches uploads to phone-confirmed entries, and answers
the eligibility counts, the ranked list and its stream exactly as the reference of entrycore.eligibility does
(checked on generated campaigns with hypothesis)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from entrycore.eligibility import EligibilityCriteria
from entrycore.model import AssignedCode, Entry, Review
from entrycore.scoring import INSERTED, NO_CONFIRMED_ENTRY, UPDATED, ScoreRow
from entrywire.answers import answers
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0, an_entry

MARKETS = ("nyc", "bos", "phl", "chi", "lax")
KINDS = ["fake", "sqlite", "mongomock"]


Stores = SelectionStores
open_scoring = open_selection_stores


@pytest.fixture(params=KINDS)
def stores(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stores]:
    with open_scoring(request.param, tmp_path) as opened:
        yield opened


def phone(k: int) -> str:
    return f"+1212555{k:04d}"


def fan(k: int, campaign_id: str = "c1", **changes: object) -> Entry:
    """Fan k's phone-confirmed entry (first name "Fan k", ranked markets nyc, bos unless told)."""
    entry = an_entry(campaign_id, f"u{k}", phone=phone(k), confirmed=True, first_name=f"Fan {k}", last_name="Doe")
    return attrs.evolve(entry, **changes)


def upload(stores: Stores, *rows: ScoreRow, campaign_id: str = "c1") -> list[str]:
    return stores.scoring.upsert_scores(campaign_id, list(rows), [0.5 + i / 1000 for i in range(len(rows))])


# SCR-001, SCR-002


def test_rows_match_phone_confirmed_entries_only(stores: Stores) -> None:
    stores.entries.create(fan(1))
    stores.entries.create(an_entry("c1", "u2", phone=phone(2), code="U2"))  # not confirmed
    stores.entries.create(fan(3, campaign_id="c2"))  # confirmed, but in another campaign
    outcomes = upload(stores, ScoreRow(0, phone(1), 80.0), ScoreRow(1, phone(2), 70.0), ScoreRow(2, phone(3), 60.0))
    assert outcomes == [INSERTED, NO_CONFIRMED_ENTRY, NO_CONFIRMED_ENTRY]
    assert stores.scoring.scoring_record("c1", "u2") is None
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None
    assert answers.unstructure(record) == {
        "userId": "u1",
        "campaignId": "c1",
        "name": {"first": "Fan 1", "last": "Doe"},
        "email": "ana@example.com",
        "phone": phone(1),
        "score": 80.0,
        "randomScore": 0.5,
        "verdict": True,
        "locale": "en-US",
        "marketIds": ["nyc", "bos"],
        "codes": [],
        "tags": {},
    }


def test_a_reupload_replaces_score_and_verdict_and_keeps_random_score_codes_and_tags(stores: Stores) -> None:
    code = AssignedCode("PRESALE1", "cfg", T0, None, None, T0)
    stores.entries.create(fan(1, codes=(code,)))
    assert upload(stores, ScoreRow(0, phone(1), 80.0, verdict=False, tags={"vip": True})) == [INSERTED]
    assert stores.scoring.upsert_scores("c1", [ScoreRow(0, phone(1), 90.5, tags={"bot": False})], [0.9]) == [UPDATED]
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None
    assert (record.score, record.verdict, record.random_score) == (90.5, True, 0.5)
    assert record.tags == {"vip": True, "bot": False}
    assert record.codes == (("PRESALE1", "cfg"),)
    stores.scoring.upsert_scores("c1", [ScoreRow(0, phone(1), 1.0, random_score=0.25)], [0.9])
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.random_score == 0.25


def test_the_same_phone_twice_in_a_batch_inserts_then_updates(stores: Stores) -> None:
    stores.entries.create(fan(1))
    assert upload(stores, ScoreRow(0, phone(1), 10.0), ScoreRow(1, phone(1), 20.0)) == [INSERTED, UPDATED]
    record = stores.scoring.scoring_record("c1", "u1")
    assert record is not None and record.score == 20.0


# SCR-003…005 on a hand-made campaign


def campaign_of(stores: Stores) -> None:
    """u1..u6 with distinct shapes: scores, markets, a code, a block, a verdict false, a foreign phone."""
    code = AssignedCode("WIN", None, T0, None, None, T0)
    shapes = {
        1: {"markets": ("nyc", "bos")},
        2: {"markets": ("bos", "nyc")},
        3: {"markets": ("phl",), "codes": (code,)},
        4: {"markets": ("nyc",), "review": Review(True, T0)},
        5: {"markets": ("chi", "lax", "nyc")},
        6: {"markets": ("lax",)},
    }
    for k, shape in shapes.items():
        stores.entries.create(fan(k, **shape))  # type: ignore[arg-type]
    rows = [
        ScoreRow(0, phone(1), 50.0),
        ScoreRow(1, phone(2), 70.0, random_score=0.9),
        ScoreRow(2, phone(3), 90.0),
        ScoreRow(3, phone(4), 99.0),
        ScoreRow(4, phone(5), 50.0, verdict=False, random_score=0.1),
        ScoreRow(5, phone(6), 10.0, tags={"vip": True}),
    ]
    assert NO_CONFIRMED_ENTRY not in upload(stores, *rows)


def listed_ids(stores: Stores, **criteria: object) -> list[str]:
    page, total = stores.scoring.eligible_page("c1", EligibilityCriteria(**criteria), 100, 0)  # type: ignore[arg-type]
    assert total == len(page)
    streamed = [r.user_id for r in stores.scoring.eligible("c1", EligibilityCriteria(**criteria))]  # type: ignore[arg-type]
    assert streamed == [r.user_id for r in page]
    return [r.user_id for r in page]


def test_the_default_list_is_verdict_true_without_code_nor_block_by_score_then_user(stores: Stores) -> None:
    campaign_of(stores)
    assert listed_ids(stores) == ["u2", "u1", "u6"]


def test_score_bounds_are_inclusive(stores: Stores) -> None:
    campaign_of(stores)
    assert listed_ids(stores, min_score=50.0, max_score=70.0) == ["u2", "u1"]
    assert listed_ids(stores, min_score=70.0, max_score=70.0) == ["u2"]


def test_a_market_matches_at_any_rank_and_single_market_selection_only_as_primary(stores: Stores) -> None:
    campaign_of(stores)
    assert listed_ids(stores, market_ids=("nyc",)) == ["u2", "u1"]
    assert listed_ids(stores, market_ids=("nyc",), include_filtered=True) == ["u2", "u1", "u5"]
    assert listed_ids(stores, market_ids=("nyc",), single_market_selection=True) == ["u1"]
    assert listed_ids(stores, market_ids=("nowhere",)) == []


def test_codes_are_excluded_by_default_included_with_reassign_alone_with_selected_only(stores: Stores) -> None:
    campaign_of(stores)
    assert "u3" not in listed_ids(stores)
    assert listed_ids(stores, reassign=True) == ["u3", "u2", "u1", "u6"]
    assert listed_ids(stores, selected_only=True) == ["u3"]


def test_random_selection_and_order_by_preference(stores: Stores) -> None:
    campaign_of(stores)
    assert listed_ids(stores, random_selection=True, include_filtered=True) == ["u5", "u1", "u6", "u2"]
    assert listed_ids(stores, market_ids=("nyc", "lax"), order_by_preference=True, include_filtered=True) == [
        "u1",  # nyc at rank 0, score 50
        "u6",  # lax at rank 0, score 10
        "u2",  # nyc at rank 1, score 70
        "u5",  # lax at rank 1
    ]


def test_tags_phones_and_blocks(stores: Stores) -> None:
    campaign_of(stores)
    assert listed_ids(stores, tag="vip") == ["u6"]
    assert listed_ids(stores, exclude_tag="vip") == ["u2", "u1"]
    assert "u4" not in listed_ids(stores, reassign=True, include_filtered=True)  # blocked: never listed
    assert stores.scoring.tag("c1", "intl", "userId", ["u1", "u1", "nobody"]) == 1
    assert listed_ids(stores, tag="intl") == ["u1"]
    assert stores.scoring.tag("c1", "big", "phone", [phone(2), phone(6)]) == 2
    assert listed_ids(stores, tag="big") == ["u2", "u6"]


def test_counts(stores: Stores) -> None:
    campaign_of(stores)
    counts = stores.scoring.eligibility_counts("c1", EligibilityCriteria(), MARKETS)
    # u4 is blocked: not counted; u3 selected; u5 verdict false
    assert (counts.total, counts.verified, counts.selected, counts.available) == (5, 4, 1, 3)
    by_market = {m.market_id: m.counts for m in counts.by_market}
    assert list(by_market) == list(MARKETS)
    assert by_market == {
        "nyc": (1, 1, 0, 0),
        "bos": (1, 1, 0, 0),
        "phl": (0, 0, 0, 0),  # u3 has a code: not in the list
        "chi": (0, 0, 0, 0),
        "lax": (1, 0, 0, 0),
    }
    nyc = stores.scoring.eligibility_counts("c1", EligibilityCriteria(market_ids=("nyc",)), MARKETS)
    assert (nyc.total, nyc.verified, nyc.selected, nyc.available) == (3, 2, 0, 2)


def test_flip_verdicts(stores: Stores) -> None:
    campaign_of(stores)
    assert stores.scoring.flip_verdicts("c1", "vip", "exclude") == 1
    assert listed_ids(stores) == ["u2", "u1"]
    assert stores.scoring.flip_verdicts("c1", "vip", "exclude") == 0
    stores.scoring.tag("c1", "keep", "userId", ["u1"])
    assert stores.scoring.flip_verdicts("c1", "keep", "include") == 3  # u2, u3, u4 (u5, u6 were false already)
    assert listed_ids(stores, include_filtered=True, reassign=True) == ["u3", "u2", "u1", "u5", "u6"]
    assert listed_ids(stores) == ["u1"]


# Every store against the reference, on generated campaigns

fans = st.lists(
    st.fixed_dictionaries(
        {
            "markets": st.lists(st.sampled_from(MARKETS), min_size=0, max_size=4, unique=True),
            "score": st.sampled_from([0.0, 1.5, 2.0, 50.0, 99.5]),
            "random": st.sampled_from([0.0, 0.25, 0.5, 0.999]),
            "verdict": st.none() | st.booleans(),
            "code": st.booleans(),
            "blocked": st.booleans(),
            "foreign": st.booleans(),
            "tags": st.dictionaries(st.sampled_from(["a", "b"]), st.booleans(), max_size=2),
            "confirmed": st.booleans(),
        }
    ),
    max_size=12,
)
criteria = st.builds(
    EligibilityCriteria,
    market_ids=st.lists(st.sampled_from([*MARKETS, "nowhere"]), max_size=3, unique=True).map(tuple),
    min_score=st.none() | st.sampled_from([0.0, 1.5, 50.0]),
    max_score=st.none() | st.sampled_from([1.5, 50.0, 100.0]),
    include_filtered=st.booleans(),
    selected_only=st.booleans(),
    reassign=st.booleans(),
    exclude_intl_phone=st.booleans(),
    single_market_selection=st.booleans(),
    tag=st.none() | st.sampled_from(["a", "b"]),
    exclude_tag=st.none() | st.sampled_from(["a", "b"]),
    random_selection=st.booleans(),
    order_by_preference=st.booleans(),
)
_campaigns = itertools.count()


def generated(stores: Stores, campaign_id: str, generated_fans: list[dict[str, object]]) -> None:
    rows = []
    for k, shape in enumerate(generated_fans):
        number = f"+44770090{k:04d}" if shape["foreign"] else phone(k)
        codes = (AssignedCode(f"C{k}", None, T0, None, None, T0),) if shape["code"] else ()
        stores.entries.create(
            attrs.evolve(
                an_entry(campaign_id, f"u{k:02d}", phone=number, confirmed=bool(shape["confirmed"])),
                markets=tuple(shape["markets"]),  # type: ignore[arg-type]
                codes=codes,
                review=Review(True, T0 + timedelta(seconds=k)) if shape["blocked"] else None,
            )
        )
        rows.append(ScoreRow(k, number, shape["score"], shape["verdict"], shape["random"], shape["tags"]))  # type: ignore[arg-type]
    stores.scoring.upsert_scores(campaign_id, rows, [0.5] * len(rows))


@pytest.mark.parametrize("kind", ["sqlite", "mongomock"])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(generated_fans=fans, chosen=st.lists(criteria, min_size=1, max_size=3), limit=st.integers(1, 5))
def test_every_store_answers_as_the_reference(
    kind: str, tmp_path: Path, generated_fans: list[dict[str, object]], chosen: list[EligibilityCriteria], limit: int
) -> None:
    campaign_id = f"g{next(_campaigns)}"
    with open_scoring("fake", tmp_path) as reference, open_scoring(kind, tmp_path / campaign_id) as real:
        generated(reference, campaign_id, generated_fans)
        generated(real, campaign_id, generated_fans)
        for wanted in chosen:
            assert real.scoring.eligibility_counts(campaign_id, wanted, MARKETS) == (
                reference.scoring.eligibility_counts(campaign_id, wanted, MARKETS)
            )
            expected = [r.user_id for r in reference.scoring.eligible(campaign_id, wanted)]
            assert [r.user_id for r in real.scoring.eligible(campaign_id, wanted)] == expected
            entrants = {(r.user_id, tuple(r.markets)) for r in reference.scoring.eligible(campaign_id, wanted)}
            assert sorted(real.scoring.entrants(campaign_id, wanted)) == sorted(entrants)  # a draw's snapshot
            for offset in range(0, len(expected) + 1, limit):
                page, total = real.scoring.eligible_page(campaign_id, wanted, limit, offset)
                assert total == len(expected)
                assert [r.user_id for r in page] == expected[offset : offset + limit]
