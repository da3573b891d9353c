"""Issue 22's admin properties, on both real stores (SQLite and MongoDB through mongomock): on generated campaigns
(a handful of markets, in a drawn order) with generated fans (1 to 4 distinct ranked markets drawn freely, phone
confirmed or not, US or foreign phones, codes and blocks at registration or given later by an admin) and a
generated scoring upload (scores, verdicts, random scores, true/false tags; later tags by user id or phone, a
verdict flip):

1. the eligibility counts (SCR-004) under generated SCR-003 criteria equal a plain recount in this module of what
   was written: ``total``, ``verified``, ``selected``, ``available`` and, per campaign market and rank, the records
   the list would return;
2. the registration counts (SCR-010) equal a plain recount of the entries;
3. after each of a few generated transfers (MKT-003, often merging into a market the fan ranks already) every entry
   and every scoring record still satisfies MKT-002 (1 to 4 distinct campaign markets, the order the four cases of
   MKT-003 give, market fields as the fan route writes them), each record ranks its entry's markets, and both
   counts still equal the recount.

Everything goes through the admin use cases (entrycore.usecases: Scoring, Selection, Transfers) over the stores'
ports, as the HTTP routes and the CLI do; the recount reads only this module's own model of the fans, never the
stores nor entrycore's reference (entrycore.eligibility), so it checks the reference as well as the stores."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from entrycore.caller import Caller
from entrycore.eligibility import EligibilityCriteria
from entrycore.model import AssignedCode, Campaign, Entry, Review
from entrycore.selection import BlockItem, CodeAssignment
from entrycore.usecases.privacy import Privacy
from entrycore.usecases.scoring import Scoring
from entrycore.usecases.selection import Selection
from entrycore.usecases.transfers import Transfers
from entrywire.answers import answers
from tests.builders import campaign
from tests.contract.conftest import SelectionStores, open_selection_stores
from tests.contract.entries import T0, an_entry
from tests.fakes import FakeAudit, FakeCampaignSource, FakeClock, FakeHeartbeats, FakeIds

KINDS = ["sqlite", "mongomock"]
POOL = ("nyc", "bos", "phl", "chi", "lax", "sea", "atl")
SCORES = (-1.0, 0.0, 1.5, 2.0, 50.0, 99.5)
TAGS = ("a", "b", "x.y")
ADMIN = Caller("admin-1", is_supreme=True)
RANKS = 4


# The generated campaign, as plain data (what hypothesis prints when a property fails)


@attrs.frozen
class Row:
    """A fan's uploaded scoring row (SCR-001): ``verdict`` / ``random`` None = not given."""

    score: float
    verdict: bool | None
    random: float | None
    tags: dict[str, bool]


@attrs.frozen
class Fan:
    markets: tuple[str, ...]  # ranked, 1 to 4 distinct campaign markets
    confirmed: bool
    foreign: bool  # a phone outside +1 (excludeIntlPhone)
    row: Row | None  # uploaded or not (an unconfirmed fan's row matches nothing)
    codes: int  # codes on the entry at registration
    review: bool | None  # the entry's review at registration: None, blocked, unblocked
    later_codes: int  # codes an admin assigns after the upload (SCR-007)
    later_block: bool | None  # an admin's block or unblock after the upload (SCR-008)
    later_tag: tuple[str, str] | None  # (tag, "userId" | "phone") set true by an admin after the upload (SCR-006)


@attrs.frozen
class Scenario:
    markets: tuple[str, ...]  # the campaign's, in campaign order
    ppc: bool
    fans: tuple[Fan, ...]
    flip: tuple[str, str] | None  # (tag, "exclude" | "include") after the tags (SCR-006)
    criteria: tuple[EligibilityCriteria, ...]
    transfers: tuple[tuple[str, str], ...]  # (from, to), one after the other


def criteria_of(markets: Sequence[str]) -> st.SearchStrategy[EligibilityCriteria]:
    """SCR-003's criteria as the API takes them (any combination): markets (also one the campaign lacks), score
    bounds (inclusive; often a fan's score exactly), states, phone, primary only, tag, excludeTag."""
    bound = st.none() | st.sampled_from(SCORES)
    tag = st.none() | st.sampled_from(TAGS)
    return st.builds(
        EligibilityCriteria,
        market_ids=st.lists(st.sampled_from([*markets, "nowhere"]), max_size=3, unique=True).map(tuple),
        min_score=bound,
        max_score=bound,
        include_filtered=st.booleans(),
        selected_only=st.booleans(),
        reassign=st.booleans(),
        exclude_intl_phone=st.booleans(),
        single_market_selection=st.booleans(),
        tag=tag,
        exclude_tag=tag,
        random_selection=st.booleans(),
        order_by_preference=st.booleans(),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    markets = tuple(draw(st.lists(st.sampled_from(POOL), min_size=2, max_size=6, unique=True)))
    size = draw(st.integers(1, 16))  # hypothesis' own list sizes stay small: most campaigns would have 1 to 3 fans
    rows = st.builds(
        Row,
        score=st.sampled_from(SCORES) | st.floats(-100, 100, allow_nan=False, allow_infinity=False),
        verdict=st.none() | st.booleans(),
        random=st.none() | st.sampled_from([0.0, 0.25, 0.999]),
        tags=st.dictionaries(st.sampled_from(TAGS), st.booleans(), max_size=3),
    )
    fans = st.builds(
        Fan,
        markets=st.lists(st.sampled_from(markets), min_size=1, max_size=RANKS, unique=True).map(tuple),
        confirmed=st.sampled_from([True, True, False]),  # most fans confirmed: most rows make records
        foreign=st.booleans(),
        row=rows | rows | st.none(),
        codes=st.integers(0, 2),
        review=st.none() | st.booleans(),
        later_codes=st.integers(0, 2),
        later_block=st.none() | st.booleans(),
        later_tag=st.none() | st.tuples(st.sampled_from(TAGS), st.sampled_from(["userId", "phone"])),
    )
    return Scenario(
        markets=markets,
        ppc=draw(st.booleans()),
        fans=tuple(draw(st.lists(fans, min_size=size, max_size=size))),
        flip=draw(st.none() | st.tuples(st.sampled_from(TAGS), st.sampled_from(["exclude", "include"]))),
        criteria=tuple(draw(st.lists(criteria_of(markets), min_size=1, max_size=3))),
        transfers=tuple(
            draw(st.lists(st.sampled_from(list(itertools.permutations(markets, 2))), min_size=1, max_size=3))
        ),
    )


# This module's own model of what was written, and its plain recounts


@attrs.define
class Model:
    """Per user id: the entry's ranked markets, confirmation, phone, codes, block; the scoring record's score,
    verdict and tags (only for the fans an upload matched)."""

    markets: dict[str, list[str]] = attrs.Factory(dict)
    confirmed: dict[str, bool] = attrs.Factory(dict)
    phone: dict[str, str] = attrs.Factory(dict)
    codes: dict[str, int] = attrs.Factory(dict)
    blocked: dict[str, bool] = attrs.Factory(dict)
    scored: dict[str, tuple[float, bool, dict[str, bool]]] = attrs.Factory(dict)  # user: (score, verdict, tags)


def moved(markets: list[str], source: str, target: str) -> list[str]:
    """MKT-003's four cases, written out from the SPEC's bullets."""
    if source not in markets:
        return markets
    if markets[0] == source:  # primary is from: primary becomes to, to leaves the optionals
        return [target, *[m for m in markets[1:] if m != target]]
    if target in markets:  # from among the optionals, to present at any rank: from removed
        return [m for m in markets if m != source]
    return [target if m == source else m for m in markets]  # to absent: from replaced at the same rank


def by_market(ranked_lists: Sequence[list[str]], markets: Sequence[str]) -> list[dict[str, Any]]:
    """Per campaign market, in campaign order: how many of the ranked lists have it at rank 0, 1, 2, 3."""
    return [
        {"marketId": m, "counts": [sum(1 for r in ranked_lists if r[rank : rank + 1] == [m]) for rank in range(RANKS)]}
        for m in markets
    ]


def recount_eligibility(model: Model, wanted: EligibilityCriteria, markets: Sequence[str]) -> dict[str, Any]:
    """SCR-004 by hand: the records matching the market, score, tag and phone criteria, blocked ones never; the
    by-market ranks over those of them the list returns (verdict true unless includeFiltered; no code by default,
    any with reassign, a code with selectedOnly)."""
    matching = []
    for user, (score, verdict, tags) in model.scored.items():
        ranked = model.markets[user]
        if model.blocked[user]:
            continue
        if wanted.market_ids:
            looked_at = ranked[:1] if wanted.single_market_selection else ranked
            if not any(m in wanted.market_ids for m in looked_at):
                continue
        if wanted.min_score is not None and score < wanted.min_score:
            continue
        if wanted.max_score is not None and score > wanted.max_score:
            continue
        if wanted.tag is not None and tags.get(wanted.tag) is not True:
            continue
        if wanted.exclude_tag is not None and tags.get(wanted.exclude_tag) is True:
            continue
        if wanted.exclude_intl_phone and not model.phone[user].startswith("+1"):
            continue
        matching.append((user, verdict, model.codes[user] > 0))
    listed = []
    for user, verdict, selected in matching:
        if not verdict and not wanted.include_filtered:
            continue
        if wanted.selected_only and not selected:
            continue
        if not wanted.selected_only and not wanted.reassign and selected:
            continue
        listed.append(model.markets[user])
    return {
        "total": len(matching),
        "verified": sum(1 for _, verdict, _ in matching if verdict),
        "selected": sum(1 for _, _, selected in matching if selected),
        "available": sum(1 for _, verdict, selected in matching if verdict and not selected),
        "byMarket": by_market(listed, markets),
    }


def recount_registrations(model: Model, ppc: bool, markets: Sequence[str]) -> dict[str, Any]:
    """SCR-010 by hand: ranks over the phone-confirmed entries under PPC, over all otherwise, blocked ones in."""
    counted = [model.markets[u] for u in model.markets if model.confirmed[u] or not ppc]
    return {
        "total": len(model.markets),
        "confirmed": sum(1 for u in model.markets if model.confirmed[u]),
        "byMarket": by_market(counted, markets),
    }


# Writing the scenario through the admin use cases


def user(k: int) -> str:
    return f"u{k:02d}"


def phone_of(k: int, fan: Fan) -> str:
    return f"+447911{k:06d}" if fan.foreign else f"+1212555{k:04d}"


def registered(campaign_id: str, k: int, fan: Fan) -> Entry:
    """Fan k's entry, its market fields as the fan route writes them (no optional field without optionals)."""
    number = phone_of(k, fan)
    entry = an_entry(campaign_id, user(k), phone=number, confirmed=fan.confirmed, code=f"R{k:04d}")
    fields: dict[str, Any] = {**entry.fields, "phone": number, "market": fan.markets[0]}
    fields.pop("optional_markets")
    if fan.markets[1:]:
        fields["optional_markets"] = list(fan.markets[1:])
    codes = tuple(AssignedCode(f"C{k}-{i}", "cfg-1", T0, None, None, T0) for i in range(fan.codes))
    review = None if fan.review is None else Review(fan.review, T0)
    return attrs.evolve(entry, fields=fields, markets=fan.markets, codes=codes, review=review)


@attrs.frozen
class Admin:
    """The admin use cases over one store, with fakes for the rest (test_record_copies uses them too)."""

    campaign: Campaign
    scoring: Scoring
    selection: Selection
    transfers: Transfers
    privacy: Privacy


def admin_of(stores: SelectionStores, chosen: Campaign) -> Admin:
    campaigns = FakeCampaignSource({chosen.id: chosen})
    audit, clock, ids = FakeAudit(), FakeClock(), FakeIds()
    return Admin(
        chosen,
        Scoring(campaigns, stores.scoring, audit, clock, draw=lambda: 0.5),
        Selection(campaigns, stores.entries, stores.scoring, stores.selection, audit, clock, ids),
        Transfers(campaigns, stores.selection, audit, clock, ids, stores.locks, FakeHeartbeats()),
        Privacy(campaigns, stores.entries, audit, clock, ids, stores.scoring),
    )


def write(stores: SelectionStores, admin: Admin, scenario: Scenario) -> Model:
    """Registers the fans, uploads the rows, then the admin's codes, blocks, tags and flip; the model of it all."""
    model = Model()
    campaign_id = admin.campaign.id
    for k, fan in enumerate(scenario.fans):
        stores.entries.create(registered(campaign_id, k, fan))
        model.markets[user(k)] = list(fan.markets)
        model.confirmed[user(k)] = fan.confirmed
        model.phone[user(k)] = phone_of(k, fan)
        model.codes[user(k)] = fan.codes
        model.blocked[user(k)] = bool(fan.review)
    uploaded = [(k, fan) for k, fan in enumerate(scenario.fans) if fan.row is not None]
    raw = []
    for k, fan in uploaded:
        assert fan.row is not None
        doc: dict[str, Any] = {"phone": phone_of(k, fan), "score": fan.row.score, "tags": dict(fan.row.tags)}
        if fan.row.verdict is not None:
            doc["verdict"] = fan.row.verdict
        if fan.row.random is not None:
            doc["randomScore"] = fan.row.random
        raw.append(doc)
        if fan.confirmed:  # SCR-001: rows match phone-confirmed entries only
            verdict = True if fan.row.verdict is None else fan.row.verdict
            model.scored[user(k)] = (fan.row.score, verdict, dict(fan.row.tags))
    if raw:
        summary = admin.scoring.upload(ADMIN, campaign_id, raw)
        assert (summary.matched, summary.inserted) == (len(model.scored), len(model.scored))
    items = []
    for k, fan in enumerate(scenario.fans):
        items += [CodeAssignment(user(k), f"L{k}-{i}", "cfg-2", T0) for i in range(fan.later_codes)]
        if fan.later_codes and fan.codes:
            items.append(CodeAssignment(user(k), f"C{k}-0", "cfg-1", T0))  # held already: a no-op (SCR-007)
        model.codes[user(k)] += fan.later_codes
    if items:
        admin.selection.assign_codes(ADMIN, campaign_id, items)
    blocks = [BlockItem(user(k), fan.later_block) for k, fan in enumerate(scenario.fans) if fan.later_block is not None]
    if blocks:
        admin.selection.set_blocks(ADMIN, campaign_id, blocks)
        for item in blocks:
            model.blocked[item.user_id] = item.is_blocked
    for k, fan in enumerate(scenario.fans):
        if fan.later_tag is not None:
            tag, by = fan.later_tag
            admin.scoring.tag(ADMIN, campaign_id, tag, by, [user(k) if by == "userId" else phone_of(k, fan)])
            if user(k) in model.scored:
                model.scored[user(k)][2][tag] = True
    if scenario.flip is not None:
        tag, mode = scenario.flip
        admin.scoring.flip_verdicts(ADMIN, campaign_id, tag, mode)
        for key, (score, _, tags) in model.scored.items():
            if (tags.get(tag) is True) == (mode == "exclude"):
                model.scored[key] = (score, False, tags)
    return model


def check(stores: SelectionStores, admin: Admin, model: Model, scenario: Scenario, when: str) -> None:
    """MKT-002 on every entry and record, each record ranking its entry's markets, and both counts as recounted."""
    campaign_id, markets = admin.campaign.id, scenario.markets
    for user_id, ranked in model.markets.items():
        entry = stores.entries.get(campaign_id, user_id)
        assert entry is not None
        assert list(entry.markets) == ranked, f"{when}: {user_id}'s entry"
        assert 1 <= len(entry.markets) <= RANKS and len(set(entry.markets)) == len(entry.markets)
        assert all(m in markets for m in entry.markets)
        assert entry.fields.get("market") == entry.markets[0]
        assert entry.fields.get("optional_markets", []) == list(entry.markets[1:])
        record = stores.scoring.scoring_record(campaign_id, user_id)
        assert (record is not None) == (user_id in model.scored), f"{when}: {user_id}'s record"
        if record is not None:
            score, verdict, tags = model.scored[user_id]
            assert record.markets == entry.markets, f"{when}: {user_id}'s record ranks other markets than its entry"
            assert (record.score, record.verdict, dict(record.tags)) == (score, verdict, tags), f"{when}: {user_id}"
            assert (bool(record.codes), record.blocked) == (model.codes[user_id] > 0, model.blocked[user_id])
    for wanted in (EligibilityCriteria(), *scenario.criteria):
        counted = answers.unstructure(admin.scoring.counts(ADMIN, campaign_id, wanted))
        assert counted == recount_eligibility(model, wanted, markets), f"{when}: eligibility counts under {wanted}"
    registrations = answers.unstructure(admin.selection.counts(ADMIN, campaign_id))
    assert registrations == recount_registrations(model, scenario.ppc, markets), f"{when}: registration counts"


_campaigns = itertools.count()


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_admin_counts_and_transfers_agree_with_a_recount(
    kind: str, tmp_path_factory: pytest.TempPathFactory, scenario: Scenario
) -> None:
    campaign_id = f"p{next(_campaigns)}"
    chosen = campaign(
        id=campaign_id,
        needsPhoneConfirmation=scenario.ppc,
        markets=[{"id": m, "name": m.upper()} for m in scenario.markets],
    )
    assert chosen.market_ids() == scenario.markets
    with open_selection_stores(kind, tmp_path_factory.mktemp(kind)) as stores:  # a fresh store per example
        admin = admin_of(stores, chosen)
        model = write(stores, admin, scenario)
        event(f"scoring records: {min(len(model.scored), 4)}{'+' if len(model.scored) >= 4 else ''}")
        check(stores, admin, model, scenario, "before any transfer")
        for n, (source, target) in enumerate(scenario.transfers, start=1):
            expected = {u: moved(r, source, target) for u, r in model.markets.items()}
            changed = sum(1 for u in expected if expected[u] != model.markets[u])
            changed_records = sum(1 for u in model.scored if expected[u] != model.markets[u])
            merging = sum(1 for r in model.markets.values() if source in r and target in r)
            event(f"a transfer merges into a ranked market: {merging > 0}")
            report = admin.transfers.transfer(ADMIN, campaign_id, source, target)
            model.markets = expected
            assert (report.entries, report.scoring) == (changed, changed_records), f"transfer {n} {source}->{target}"
            check(stores, admin, model, scenario, f"after transfer {n} ({source} -> {target})")
