"""OPS-006 on MongoDB, layout 2 (issue 22): the scoring indexes of the lists' states and of the primary market
(``scoring_listed_by_score``, ``scoring_listed_by_random``, ``scoring_primary``) are added to a database a layout-1
release wrote at its next start (``MongoEntryStore.ensure_indexes``, what every start and ``db init`` run), losing
nothing and changing no other index, idempotently; and they are shaped as the queries of adapters_mongo/scoring.py
need them."""

from __future__ import annotations

from typing import Any

import attrs
import mongomock

from adapters_mongo import MongoEntryStore, MongoScoringStore
from adapters_mongo.indexes import LAYOUT_VERSION, SCORING_INDEXES
from adapters_mongo.scoring import _filter
from entrycore.eligibility import EligibilityCriteria
from entrycore.scoring import INSERTED, ScoreRow
from tests.contract.entries import a_full_entry
from tests.contract.test_mongo_layout_upgrade import contents, indexes

LAYOUT_2_SCORING = ("scoring_listed_by_score", "scoring_listed_by_random", "scoring_primary")


def keys(database: Any, name: str) -> list[tuple[str, int]]:
    return [(field, int(order)) for field, order in database["scoring"].index_information()[name]["key"]]


def test_OPS_006_a_layout_1_database_gets_the_scoring_indexes_of_layout_2_losing_nothing_idempotently() -> None:
    assert LAYOUT_VERSION == 3  # layout 3 adds the draws' collections, nothing of layout 2's
    reference: Any = mongomock.MongoClient()["entry_service"]
    MongoEntryStore(reference).ensure_indexes()
    database: Any = mongomock.MongoClient()["entry_service"]
    store = MongoEntryStore(database)
    store.ensure_indexes()  # mongomock indexes empty collections only: the data comes after
    store.create(attrs.evolve(a_full_entry(), review=None))  # confirmed, with codes, ranking nyc, bos, phl
    scoring = MongoScoringStore(database)
    assert scoring.upsert_scores("c1", [ScoreRow(0, "+12125550123", 80.0)], [0.5]) == [INSERTED]
    for name in LAYOUT_2_SCORING:  # what a layout-1 release left
        database["scoring"].drop_index(name)
    database["meta"].replace_one({"_id": "layout"}, {"_id": "layout", "version": 1})
    before, layout_1 = contents(database), indexes(database)
    assert not set(LAYOUT_2_SCORING) & set(layout_1["scoring"])

    store.ensure_indexes()
    assert list(database["meta"].find()) == [{"_id": "layout", "version": LAYOUT_VERSION}]
    layout = indexes(database)
    assert layout == indexes(reference)
    assert layout["scoring"] == sorted([*layout_1["scoring"], *LAYOUT_2_SCORING])  # added, nothing dropped
    assert {k: v for k, v in layout.items() if k != "scoring"} == {k: v for k, v in layout_1.items() if k != "scoring"}
    assert contents(database) == before
    single = EligibilityCriteria(market_ids=("nyc",), single_market_selection=True, reassign=True)
    counts = scoring.eligibility_counts("c1", single, ["nyc", "bos", "phl"])
    assert (counts.total, counts.selected, [m.counts for m in counts.by_market]) == (
        1,
        1,
        [(1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0)],
    )
    assert [r.user_id for r in scoring.eligible_page("c1", single, 10, 0)[0]] == ["u1"]

    store.ensure_indexes()  # a second start: nothing changes
    assert list(database["meta"].find()) == [{"_id": "layout", "version": LAYOUT_VERSION}]
    assert indexes(database) == layout
    assert contents(database) == before


def test_the_layout_2_indexes_lead_with_the_lists_equalities_and_points_then_their_order() -> None:
    """Each list filter names ``campaignId``, ``blocked``, ``selected`` and ``verdict`` as equalities or ``$in``
    points (never an open range) — what lets ``scoring_listed_by_*`` give the page in its order; a single market
    selection names the primary market as points, for ``scoring_primary``."""
    database: Any = mongomock.MongoClient()["entry_service"]
    MongoEntryStore(database).ensure_indexes()
    state = [("campaignId", 1), ("blocked", 1), ("selected", 1), ("verdict", 1)]
    assert keys(database, "scoring_listed_by_score") == [*state, ("score", -1), ("userId", 1)]
    assert keys(database, "scoring_listed_by_random") == [*state, ("randomScore", 1), ("userId", 1)]
    assert keys(database, "scoring_primary") == [
        ("campaignId", 1),
        ("blocked", 1),
        ("markets.0", 1),
        ("score", -1),
        ("userId", 1),
    ]
    assert set(LAYOUT_2_SCORING) <= set(SCORING_INDEXES)
    for criteria, selected, verdict in (
        (EligibilityCriteria(), False, True),
        (EligibilityCriteria(selected_only=True), True, True),
        (EligibilityCriteria(reassign=True), {"$in": [False, True]}, True),
        (EligibilityCriteria(include_filtered=True), False, {"$in": [False, True]}),
        (EligibilityCriteria(include_filtered=True, reassign=True), {"$in": [False, True]}, {"$in": [False, True]}),
    ):
        query = _filter("c1", criteria, listed=True)
        assert (query["campaignId"], query["blocked"], query["selected"], query["verdict"]) == (
            "c1",
            False,
            selected,
            verdict,
        )
    primary = _filter("c1", EligibilityCriteria(market_ids=("nyc", "bos"), single_market_selection=True))
    assert primary["markets.0"] == {"$in": ["nyc", "bos"]}
