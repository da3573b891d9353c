"""SPEC §12's pure algorithm (entrycore.draws): canonical JSON, the beacon check, the allocation, roll-over and the
verifier (DRW-001…DRW-003, DRW-005, DRW-007). The draws here are built from the SPEC's formulas written out again
in this file (hashlib, hmac), so the product's code is checked against an independent recomputation."""

from __future__ import annotations

import doctest
import hashlib
import hmac
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from entrycore.draws import (
    QUICKNET,
    By,
    Entrant,
    Mechanism,
    Reason,
    RollError,
    Rules,
    Standing,
    allocate,
    canonical,
    draw_seed,
    entrants_file,
    lines,
    results_file,
    verify_draw,
)
from entrycore.draws.beacon import randomness, verify
from entrycore.timefmt import iso
from tests.drand import TestChain

KNOWN_ROUND = 657413
KNOWN_SIGNATURE = bytes.fromhex(
    "b713718a38ae728dfd477991af2822e08d2f305e47718cef9f7848ce4050e7be41076862b98fad56e91a6b85b89cd97b"
)
KNOWN_RANDOMNESS = "fc1873a13f3545aeade8401532ef5519920652eee6b0d2b19ca12643b87b3587"
CHAIN = TestChain()


# --- canonical JSON (RFC 8785) ---------------------------------------------------------------------------------


def test_DRW_canonical_sorts_keys_by_utf16_code_units_as_rfc8785_section_3_2_3() -> None:
    keys = ["\u20ac", "\r", "\ufb33", "1", "\U0001f600", "\u0080", "\u00f6"]
    expected = ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]  # U+1F600 is D83D DE00 in UTF-16
    assert (
        canonical(dict.fromkeys(keys, 0))
        == ("{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:0" for k in expected) + "}").encode()
    )
    assert sorted(keys) != expected  # code point order would differ


def test_DRW_canonical_has_no_spaces_and_escapes_only_what_rfc8785_escapes() -> None:
    assert canonical({"b": [1, None, True], "a": 'x"\\\n\u000f\u2028é'}) == (
        b'{"a":"x\\"\\\\\\n\\u000f\xe2\x80\xa8\xc3\xa9","b":[1,null,true]}'
    )
    assert lines([{"ticket": "t"}, {}]) == b'{"ticket":"t"}\n{}\n'


@pytest.mark.parametrize("value", [1.5, 2**53, -(2**53), {1: "x"}, "\ud800", b"bytes"])
def test_DRW_canonical_refuses_what_it_cannot_encode_exactly(value: object) -> None:
    with pytest.raises(ValueError):
        canonical(value)


# --- the beacon --------------------------------------------------------------------------------------------------


def test_DRW_002_the_known_quicknet_round_verifies_and_its_randomness_is_the_specs() -> None:
    assert QUICKNET.verifies(KNOWN_ROUND, KNOWN_SIGNATURE)
    assert randomness(KNOWN_SIGNATURE).hex() == KNOWN_RANDOMNESS
    assert QUICKNET.round_time(KNOWN_ROUND) == 1692803367 + (KNOWN_ROUND - 1) * 3
    assert QUICKNET.first_round_at_or_after(QUICKNET.round_time(KNOWN_ROUND)) == KNOWN_ROUND
    assert QUICKNET.first_round_at_or_after(QUICKNET.round_time(KNOWN_ROUND) - 0.5) == KNOWN_ROUND


@pytest.mark.parametrize(
    "round_number, signature",
    [
        (KNOWN_ROUND + 1, KNOWN_SIGNATURE),  # another round
        (KNOWN_ROUND, KNOWN_SIGNATURE[:-1] + bytes([KNOWN_SIGNATURE[-1] ^ 1])),  # a byte changed
        (KNOWN_ROUND, KNOWN_SIGNATURE[:47]),  # too short
        (KNOWN_ROUND, bytes([0xC0]) + bytes(47)),  # the point at infinity
        (KNOWN_ROUND, bytes(48)),  # not a valid encoding
    ],
)
def test_DRW_002_a_signature_that_does_not_sign_the_round_is_refused(round_number: int, signature: bytes) -> None:
    assert not QUICKNET.verifies(round_number, signature)


def test_DRW_002_a_chain_of_our_own_signs_rounds_quicknet_does_not_accept() -> None:
    signature = CHAIN.sign(KNOWN_ROUND)
    assert CHAIN.chain.verifies(KNOWN_ROUND, signature)
    assert not QUICKNET.verifies(KNOWN_ROUND, signature)
    assert not verify(QUICKNET.public_key, hashlib.sha256(b"other").digest(), KNOWN_SIGNATURE)
    assert CHAIN.chain.chain_hash == hashlib.sha256(bytes.fromhex(CHAIN.public_key_hex)).hexdigest()


# --- allocation --------------------------------------------------------------------------------------------------


def spec_order(entrants: list[Entrant], seed: bytes) -> list[Entrant]:
    """DRW-002 written out again: HMAC-SHA256(drawSeed, ticket) as a big-endian number, ascending."""
    number = {
        e.ticket: int.from_bytes(hmac.new(seed, e.ticket.encode(), hashlib.sha256).digest(), "big") for e in entrants
    }
    return sorted(entrants, key=lambda e: (number[e.ticket], e.ticket))


def ticket(n: int) -> str:
    return hashlib.md5(str(n).encode()).hexdigest()  # 32 hex characters, deterministic for tests


def test_DRW_003_serial_dictatorship_gives_each_in_draw_order_its_best_market_with_room() -> None:
    entrants = [Entrant(ticket(n), m) for n, m in enumerate([("a", "b"), ("a", "b"), ("a",), ("b", "a"), ("a", "b")])]
    seed = bytes(32)
    order = spec_order(entrants, seed)
    placements = allocate(entrants, {"a": 2, "b": 1}, Mechanism.SERIAL_DICTATORSHIP, seed)
    assert [p.ticket for p in placements] == [e.ticket for e in order]
    assert [p.position for p in placements] == [1, 2, 3, 4, 5]
    left = {"a": 2, "b": 1}
    for entrant, placement in zip(order, placements, strict=True):
        best = next(((m, r) for r, m in enumerate(entrant.markets) if left.get(m, 0) > 0), (None, None))
        if best[0] is not None:
            left[best[0]] -= 1
        assert (placement.market, placement.rank) == best


def roles_in_order(seed: bytes, count: int) -> list[str]:
    """``count`` tickets listed in their draw order under ``seed``."""
    tickets = [ticket(1000 + n) for n in range(count)]
    return [e.ticket for e in spec_order([Entrant(t, ()) for t in tickets], seed)]


def test_DRW_003_rank_rounds_costs_a_fan_its_second_choice_for_ranking_a_popular_first() -> None:
    """The weakness docs/draws.md describes: first (p1) takes A; second (p2) ranks A then B; third (p3) ranks B
    first. Rank-rounds gives B to p3 in round 0, so p2, earlier in the draw, loses B by having ranked A first;
    serial dictatorship gives p2 its B."""
    seed = hashlib.sha256(b"weakness").digest()
    p1, p2, p3 = roles_in_order(seed, 3)
    entrants = [Entrant(p1, ("A",)), Entrant(p2, ("A", "B")), Entrant(p3, ("B",))]
    capacities = {"A": 1, "B": 1}
    rounds = {p.ticket: (p.market, p.rank) for p in allocate(entrants, capacities, Mechanism.RANK_ROUNDS, seed)}
    serial = {p.ticket: (p.market, p.rank) for p in allocate(entrants, capacities, Mechanism.SERIAL_DICTATORSHIP, seed)}
    assert rounds == {p1: ("A", 0), p2: (None, None), p3: ("B", 0)}
    assert serial == {p1: ("A", 0), p2: ("B", 1), p3: (None, None)}
    honest_b_first = allocate(
        [entrants[0], Entrant(p2, ("B", "A")), entrants[2]], capacities, Mechanism.RANK_ROUNDS, seed
    )
    assert {p.ticket: p.market for p in honest_b_first}[p2] == "B"  # misranking would have paid under rank-rounds


entrant_lists = st.lists(
    st.lists(st.sampled_from(["m0", "m1", "m2", "m3", "m4"]), max_size=4, unique=True).map(tuple),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(
    markets=entrant_lists,
    capacities=st.dictionaries(st.sampled_from(["m0", "m1", "m2", "m3"]), st.integers(1, 6)),
    mechanism=st.sampled_from(list(Mechanism)),
    seed=st.binary(min_size=32, max_size=32),
)
def test_DRW_003_property_no_market_over_capacity_waitlisted_fans_found_theirs_full_a_function_of_its_inputs(
    markets: list[tuple[str, ...]], capacities: dict[str, int], mechanism: Mechanism, seed: bytes
) -> None:
    entrants = [Entrant(ticket(n), m) for n, m in enumerate(markets)]
    placements = allocate(entrants, capacities, mechanism, seed)
    by_ticket = {e.ticket: e for e in entrants}
    taken = dict.fromkeys(capacities, 0)
    for placement in placements:
        if placement.market is not None:
            taken[placement.market] += 1
            assert by_ticket[placement.ticket].markets[placement.rank or 0] == placement.market
    assert all(taken[m] <= capacities[m] for m in capacities)
    if mechanism is Mechanism.SERIAL_DICTATORSHIP:
        left = dict(capacities)
        for placement in placements:  # in draw order: a waitlisted fan found every ranked market full
            if placement.market is None:
                assert all(left.get(m, 0) == 0 for m in by_ticket[placement.ticket].markets)
            else:
                left[placement.market] -= 1
    assert [p.ticket for p in placements] == [e.ticket for e in spec_order(entrants, seed)]
    assert allocate(list(reversed(entrants)), dict(reversed(capacities.items())), mechanism, seed) == placements


# --- roll-over ---------------------------------------------------------------------------------------------------

REVEALED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def standing_of(entrants: list[Entrant], capacities: dict[str, int], seed: bytes) -> tuple[Standing, list[str]]:
    placements = allocate(entrants, capacities, Mechanism.SERIAL_DICTATORSHIP, seed)
    return Standing(entrants, placements, capacities, REVEALED, 48), [p.ticket for p in placements]


def test_DRW_005_a_released_unit_goes_to_the_first_waitlisted_entrant_ranking_its_market_at_that_rank() -> None:
    seed = hashlib.sha256(b"rolls").digest()
    t = roles_in_order(seed, 4)
    entrants = [Entrant(t[0], ("a",)), Entrant(t[1], ("a",)), Entrant(t[2], ("b",)), Entrant(t[3], ("b", "a"))]
    standing, _ = standing_of(entrants, {"a": 1}, seed)
    assert standing.waitlist_position(t[3]) == 3 and standing.waitlist_position(t[0]) is None
    at = REVEALED + timedelta(hours=1)
    roll = standing.release(t[0], Reason.DECLINED, By.FAN, at)
    assert (roll.market, roll.offered_to) == ("a", t[1])  # t[2] does not rank a; t[1] is first in draw order
    assert standing.holding[t[1]].expires_at == at + timedelta(hours=48)
    leave = standing.release(t[2], Reason.DECLINED, By.FAN, at)  # a waitlisted fan leaves the waitlist
    assert (leave.market, leave.offered_to) == (None, None)
    again = standing.release(t[1], Reason.EXPIRED, By.SYSTEM, at)
    assert (again.offered_to, standing.holding[t[3]].rank) == (t[3], 1)  # offered at the rank a has in its list
    last = standing.release(t[3], Reason.VOID, By.ADMIN, at)
    assert last.offered_to is None and standing.free == {"a": 1}
    assert standing.counts() == {"a": {"capacity": 1, "offered": 0, "accepted": 0, "free": 1}}
    with pytest.raises(RollError):
        standing.release(t[3], Reason.DECLINED, By.FAN, at)


# --- the verifier ------------------------------------------------------------------------------------------------

COMMITTED = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def published_draw(count: int = 12, *, beacon: bool = True, capacities: dict[str, int] | None = None) -> dict[str, Any]:
    """A revealed draw as API.md §4 publishes it, built from SPEC §12's formulas, with three rolls."""
    capacities = capacities or {"nyc": 3, "bos": 2}
    pool = [("nyc", "bos"), ("bos",), ("nyc",), ("bos", "nyc", "phl")]
    entrants = [Entrant(ticket(n), pool[n % 4]) for n in range(count)]
    entrants_bytes = entrants_file(entrants)
    chain_round = CHAIN.chain.first_round_at_or_after(COMMITTED.timestamp() + 600)
    seed = hashlib.sha256(b"secret").digest()
    rules = Rules(
        draw_id="01JDRAW0000000000000000000",
        campaign_id="c1",
        capacities=capacities,
        mechanism=Mechanism.SERIAL_DICTATORSHIP,
        offer_hours=48,
        entrants_count=count,
        entrants_hash=hashlib.sha256(entrants_bytes).hexdigest(),
        beacon_round=chain_round if beacon else None,
        seed_hash=None if beacon else hashlib.sha256(seed).hexdigest(),
        beacon_chain=CHAIN.public_key_hex if beacon else None,
    )
    commitment = hashlib.sha256(canonical(rules.document())).hexdigest()
    signature = CHAIN.sign(chain_round)
    source = hashlib.sha256(signature).digest() if beacon else seed
    final_seed = hashlib.sha256(source + bytes.fromhex(commitment)).digest()
    assert final_seed == draw_seed(source, commitment)
    placements = allocate(entrants, capacities, Mechanism.SERIAL_DICTATORSHIP, final_seed)
    standing = Standing(entrants, placements, capacities, REVEALED, 48)
    offered = [p.ticket for p in placements if p.market]
    waiting = [p.ticket for p in placements if not p.market]
    rolls = [
        standing.release(offered[0], Reason.DECLINED, By.FAN, REVEALED + timedelta(hours=2)),
        standing.release(waiting[-1], Reason.DECLINED, By.ADMIN, REVEALED + timedelta(hours=3)),
        standing.release(offered[1], Reason.EXPIRED, By.SYSTEM, REVEALED + timedelta(hours=48)),
    ]
    markets = [{"marketId": m, **row} for m, row in standing.counts().items()]
    return {
        "document": {
            "drawId": rules.draw_id,
            "campaignId": "c1",
            "name": "Presale 1",
            "status": "revealed",
            "criteria": {},
            "rules": rules.document(),
            "commitment": commitment,
            "committedAt": iso(COMMITTED),
            "markets": markets,
            "reveal": {
                "revealedAt": iso(REVEALED),
                "seed": None if beacon else seed.hex(),
                "beacon": {"round": chain_round, "signature": signature.hex(), "randomness": source.hex()}
                if beacon
                else None,
                "drawSeed": final_seed.hex(),
            },
            "cancelled": None,
        },
        "entrants": entrants_bytes,
        "results": results_file(placements),
        "rolls": lines(roll.line() for roll in rolls),
    }


@pytest.fixture(scope="module")
def draw() -> dict[str, Any]:
    return published_draw()


def check(draw: dict[str, Any], **changes: Any) -> tuple[bool, str | None, str]:
    parts = {**draw, **changes}
    verdict = verify_draw(
        parts["document"],
        parts["entrants"],
        parts["results"],
        parts["rolls"],
        commitment=parts.get("commitment"),
        allow_chain=parts.get("allow_chain", CHAIN.public_key_hex),
    )
    return verdict.ok, verdict.check, verdict.text()


def test_DRW_007_a_draw_as_published_verifies(draw: dict[str, Any]) -> None:
    ok, _, text = check(draw, commitment=draw["document"]["commitment"])
    assert ok and text.startswith("OK\n") and "3 rolls" in text and "not quicknet" in text


def test_DRW_007_a_draw_without_a_beacon_verifies_and_says_the_operator_chose_its_order() -> None:
    ok, _, text = check(published_draw(beacon=False), allow_chain=None)
    assert ok and "operator's secret seed" in text


def swap_lines(data: bytes, i: int, j: int) -> bytes:
    rows = data.split(b"\n")
    rows[i], rows[j] = rows[j], rows[i]
    return b"\n".join(rows)


def edit_line(data: bytes, index: int, **changes: Any) -> bytes:
    rows = data[:-1].split(b"\n")
    rows[index] = canonical({**json.loads(rows[index]), **changes})
    return b"\n".join(rows) + b"\n"


def with_document(draw: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**draw["document"], **changes}


def test_DRW_007_each_tampering_fails_the_check_it_breaks(draw: dict[str, Any]) -> None:
    doc = draw["document"]
    results = draw["results"]
    first_offered = next(json.loads(x) for x in results.splitlines() if json.loads(x)["marketId"])
    index = json.loads(results.splitlines()[0]) and first_offered["position"] - 1
    signature = bytes.fromhex(doc["reveal"]["beacon"]["signature"])
    bad_signature = (signature[:10] + bytes([signature[10] ^ 0x40]) + signature[11:]).hex()
    capacity_rules = {**doc["rules"], "capacities": {**doc["rules"]["capacities"], "nyc": 4}}
    capacity_row = [{**row, "capacity": row["capacity"] + 1} for row in doc["markets"]]
    other = "bos" if first_offered["marketId"] == "nyc" else "nyc"
    first_roll = json.loads(draw["rolls"].splitlines()[0])
    wrong_fan = next(
        json.loads(x)["ticket"] for x in results.splitlines() if json.loads(x)["ticket"] != first_roll["offeredTo"]
    )
    cases: dict[str, dict[str, Any]] = {
        "draw order": {"results": swap_lines(results, 0, 1)},
        "allocation": {"results": edit_line(results, index, marketId=other)},
        "beacon signature": {
            "document": with_document(
                draw, reveal={**doc["reveal"], "beacon": {**doc["reveal"]["beacon"], "signature": bad_signature}}
            )
        },
        "commitment": {"document": with_document(draw, rules=capacity_rules)},
        "market counts": {"document": with_document(draw, markets=capacity_row)},
        "roll": {"rolls": edit_line(draw["rolls"], 0, offeredTo=wrong_fan)},
        "recorded commitment": {"commitment": "0" * 64},
        "beacon chain": {"allow_chain": None},
        "entrants hash": {"entrants": swap_lines(draw["entrants"], 0, 1)},
        "draw seed": {"document": with_document(draw, reveal={**doc["reveal"], "drawSeed": "1" * 64})},
    }
    for expected, change in cases.items():
        ok, failed, text = check(draw, **change)
        assert (ok, failed) == (False, expected), text
        assert text.startswith(f"FAIL {expected}: ")


def test_DRW_007_an_early_expiry_or_a_roll_the_fan_did_not_make_fails(draw: dict[str, Any]) -> None:
    early = edit_line(draw["rolls"], 2, at=iso(REVEALED + timedelta(hours=47)))
    assert check(draw, rolls=early)[1] == "roll"
    by_system = edit_line(draw["rolls"], 0, by="system")
    assert check(draw, rolls=by_system)[1] == "roll"
    assert check(draw, rolls=draw["rolls"] + draw["rolls"].splitlines(keepends=True)[0])[1] == "roll"


def test_DRW_007_docs_draws_md_worked_example_runs_as_written() -> None:
    """docs/draws.md's worked example (every intermediate value of a draw of 5 entrants) is a doctest."""
    failures, tried = doctest.testfile(
        str(Path(__file__).resolve().parents[2] / "docs" / "draws.md"), module_relative=False, report=True
    )
    assert tried > 30 and failures == 0


def test_DRW_002_importing_the_beacon_check_keeps_the_interpreters_recursion_limit() -> None:
    """py_ecc's import raises it to 100,000, which turns a deeply nested JSON body into a crash (C stack overflow)
    instead of a 400; entrycore.draws.beacon puts it back. Checked in a fresh interpreter."""
    code = (
        "import sys; before = sys.getrecursionlimit(); import entrycore.draws; print(before, sys.getrecursionlimit())"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    before, after = shown.stdout.split()
    assert before == after


@settings(max_examples=100, deadline=None)
@given(
    markets=st.lists(
        st.lists(st.text(min_size=1, max_size=6), max_size=4, unique=True),
        max_size=8,
    ),
    seed=st.binary(min_size=32, max_size=32),
)
def test_DRW_001_the_files_fast_encoders_write_exactly_the_canonical_bytes(
    markets: list[list[str]], seed: bytes
) -> None:
    try:
        entrants = [Entrant(ticket(n), tuple(m)) for n, m in enumerate(markets)]
        for m in markets:
            canonical(m)
    except ValueError:
        return  # a lone surrogate: no canonical form at all
    assert entrants_file(entrants) == lines(e.line() for e in sorted(entrants, key=lambda e: e.ticket))
    capacities = {m: 1 for ms in markets for m in ms[:1]}
    placements = allocate(entrants, capacities, Mechanism.SERIAL_DICTATORSHIP, seed)
    assert results_file(placements) == lines(p.line() for p in placements)
