"""DRW-007: recompute a draw from its public document, entrants file, results file and rolls log alone.

``verify_draw`` runs the checks in a fixed order and stops at the first that fails, naming it: the beacon
chain, the entrants file, the entrants hash, the commitment (and the one recorded earlier, when given), the
beacon round's distance from the commit, the seed hash, the beacon signature, the draw seed, the draw order,
the allocation, each roll, the per-market counts. Everything it needs is in the arguments: no store, no clock,
no network — so it runs the same in the service, the CLI and anyone's test.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import attrs

from entrycore.draws.allocation import MAX_RANKS, TICKET, Entrant, Rules, allocate, draw_seed
from entrycore.draws.beacon import QUICKNET, randomness, round_message, verify
from entrycore.draws.canonical import canonical, sha256_hex
from entrycore.draws.rolls import ALLOWED_BY, By, Reason, RollError, Standing
from entrycore.timefmt import iso, parse_iso

COMMIT_LEAD = timedelta(minutes=10)  # DRW-001: a beacon round at least this long after the commit


@attrs.frozen
class Verdict:
    ok: bool
    check: str | None = None  # the failing check
    detail: str = ""
    notes: tuple[str, ...] = ()

    def text(self) -> str:
        if not self.ok:
            return f"FAIL {self.check}: {self.detail}"
        return "\n".join(("OK", *self.notes))


class _Failed(Exception):
    def __init__(self, check: str, detail: str) -> None:
        super().__init__(check, detail)
        self.check, self.detail = check, detail


def verify_draw(
    document: Mapping[str, Any],
    entrants: bytes,
    results: bytes | None = None,
    rolls: bytes | None = None,
    *,
    commitment: str | None = None,
    allow_chain: str | None = None,
) -> Verdict:
    """The verdict on one draw. ``results`` may be None only for a draw not revealed; ``rolls`` None is an empty
    log. ``commitment``: one recorded earlier (e.g. from the ``draw.committed`` event). ``allow_chain``: the public
    key (hex) of a chain other than quicknet that the caller accepts."""
    try:
        notes = _verify(
            document,
            entrants,
            results_bytes=results,
            rolls_bytes=rolls or b"",
            recorded=commitment,
            allow_chain=allow_chain,
        )
        return Verdict(True, notes=notes)
    except _Failed as failed:
        return Verdict(False, failed.check, failed.detail)


def _verify(
    document: Mapping[str, Any],
    entrants_bytes: bytes,
    *,
    results_bytes: bytes | None,
    rolls_bytes: bytes,
    recorded: str | None,
    allow_chain: str | None,
) -> tuple[str, ...]:
    notes: list[str] = []
    if not isinstance(document, Mapping):
        raise _Failed("document", "the draw document is not a JSON object")
    try:
        rules = Rules.read(document.get("rules"))  # type: ignore[arg-type]
    except (ValueError, KeyError, TypeError) as exc:
        raise _Failed("rules", str(exc)) from None
    if rules.beacon_chain is not None:
        if allow_chain is None or allow_chain.lower() != rules.beacon_chain.lower():
            raise _Failed(
                "beacon chain", f"the draw names chain {rules.beacon_chain}, not quicknet (--allow-chain KEY)"
            )
        notes.append(f"beacon chain {rules.beacon_chain} (not quicknet), allowed by the caller")
    if sha256_hex(entrants_bytes) != rules.entrants_hash:
        raise _Failed("entrants hash", "SHA-256 of the entrants file is not the entrantsHash of the rules")
    entrants = _entrants(entrants_bytes)
    if len(entrants) != rules.entrants_count:
        raise _Failed("entrants file", f"{len(entrants):,} entrants, the rules say {rules.entrants_count:,}")
    expected = rules.commitment()
    if document.get("commitment") != expected:
        raise _Failed("commitment", f"SHA-256 of the canonical rules is {expected}, the document says otherwise")
    if recorded is not None and recorded.lower() != expected:
        raise _Failed("recorded commitment", f"the draw's commitment {expected} is not the recorded {recorded}")
    committed_at = _time(document.get("committedAt"), "committedAt")
    if rules.beacon_round is None:
        notes.append("no beacon round: the draw order depended on the operator's secret seed")
    elif (
        rules.beacon_chain is None
        and QUICKNET.round_time(rules.beacon_round) < (committed_at + COMMIT_LEAD).timestamp()
    ):
        raise _Failed("beacon round", f"round {rules.beacon_round} is less than 10 minutes after the commit")
    if document.get("status") != "revealed":
        if results_bytes:
            raise _Failed("status", "results given for a draw that is not revealed")
        notes.append(f"status {document.get('status')}: entrants, rules and commitment checked; no results yet")
        return tuple(notes)
    seed = _reveal(document, rules)
    if results_bytes is None:
        raise _Failed("results", "a revealed draw's results file is needed")
    placements = allocate(entrants, rules.capacities, rules.mechanism, seed)
    _compare_results(placements, results_bytes)
    revealed_at = _time(document["reveal"].get("revealedAt"), "reveal.revealedAt")
    standing = Standing(entrants, placements, rules.capacities, revealed_at, rules.offer_hours)
    count = _replay(standing, rolls_bytes)
    _compare_counts(document, standing)
    notes.append(f"{len(entrants):,} entrants, {count:,} rolls recomputed")
    return tuple(notes)


def _entrants(data: bytes) -> list[Entrant]:
    entrants: list[Entrant] = []
    previous = ""
    for number, line in enumerate(_lines(data, "entrants file"), 1):
        value = _json(line, "entrants file", number)
        if not isinstance(value, dict) or set(value) != {"markets", "ticket"}:
            raise _Failed("entrants file", f"line {number} is not {{markets, ticket}}")
        ticket, markets = value["ticket"], value["markets"]
        if not isinstance(ticket, str) or not TICKET.fullmatch(ticket) or ticket <= previous:
            raise _Failed("entrants file", f"line {number}: tickets must be 32 hex characters in ascending order")
        if not isinstance(markets, list) or len(markets) > MAX_RANKS or len(set(markets)) != len(markets):
            raise _Failed("entrants file", f"line {number}: markets must be up to {MAX_RANKS} distinct ids")
        if not all(isinstance(m, str) and m for m in markets):
            raise _Failed("entrants file", f"line {number}: markets must be up to {MAX_RANKS} distinct ids")
        entrants.append(Entrant(ticket, tuple(markets)))
        previous = ticket
    return entrants


def _reveal(document: Mapping[str, Any], rules: Rules) -> bytes:
    reveal = document.get("reveal")
    if not isinstance(reveal, Mapping):
        raise _Failed("reveal", "a revealed draw's document has no reveal")
    if rules.beacon_round is None:
        seed = _bytes(reveal.get("seed"), 32, "seed")
        if rules.seed_hash is None or sha256_hex(seed) != rules.seed_hash:
            raise _Failed("seed hash", "SHA-256 of the revealed seed is not the committed seedHash")
        source = seed
    else:
        if reveal.get("seed") is not None or rules.seed_hash is not None:
            raise _Failed("seed hash", "a draw with a beacon round has no seed")
        beacon = reveal.get("beacon")
        if not isinstance(beacon, Mapping) or beacon.get("round") != rules.beacon_round:
            raise _Failed("beacon signature", f"the reveal does not give round {rules.beacon_round}")
        signature = _bytes(beacon.get("signature"), 48, "beacon signature")
        key = QUICKNET.public_key if rules.beacon_chain is None else bytes.fromhex(rules.beacon_chain)
        if not verify(key, round_message(rules.beacon_round), signature):
            raise _Failed("beacon signature", f"the signature does not verify for round {rules.beacon_round}")
        source = randomness(signature)
        if beacon.get("randomness") != source.hex():
            raise _Failed("beacon signature", "the randomness is not SHA-256 of the signature")
    seed = draw_seed(source, rules.commitment())
    if reveal.get("drawSeed") != seed.hex():
        raise _Failed("draw seed", f"SHA-256(source ‖ commitment) is {seed.hex()}, the document says otherwise")
    return seed


def _compare_results(placements: list[Any], data: bytes) -> None:
    got = _lines(data, "results file")
    if len(got) != len(placements):
        raise _Failed("results", f"{len(got):,} result lines for {len(placements):,} entrants")
    for placement, line in zip(placements, got, strict=True):
        expected = placement.line()
        if canonical(expected) == line:
            continue
        value = _json(line, "results file", placement.position)
        order = {k: expected[k] for k in ("lottery", "position", "ticket")}
        if not isinstance(value, dict) or {k: value.get(k) for k in order} != order:
            raise _Failed("draw order", f"line {placement.position}: expected {canonical(order).decode()}")
        raise _Failed(
            "allocation",
            f"line {placement.position} (ticket {placement.ticket}): expected marketId {placement.market!r}, "
            f"rank {placement.rank!r}",
        )


def _replay(standing: Standing, data: bytes) -> int:
    count = 0
    for number, line in enumerate(_lines(data, "rolls log"), 1):
        value = _json(line, "rolls log", number)
        keys = {"at", "by", "marketId", "offeredTo", "reason", "released"}
        if not isinstance(value, dict) or set(value) != keys:
            raise _Failed("roll", f"line {number} is not {{{', '.join(sorted(keys))}}}")
        try:
            reason, by = Reason(value["reason"]), By(value["by"])
            at = parse_iso(value["at"])
        except ValueError as exc:
            raise _Failed("roll", f"line {number}: {exc}") from None
        if by not in ALLOWED_BY[reason]:
            raise _Failed("roll", f"line {number}: a {reason} roll is not made by {by}")
        released = value["released"]
        held = standing.holding.get(released) if isinstance(released, str) else None
        if reason is Reason.EXPIRED and held is not None and iso(held.expires_at) != value["at"]:
            raise _Failed("roll", f"line {number}: the offer of {released} expires at {iso(held.expires_at)}")
        try:
            roll = standing.release(released, reason, by, at)
        except (RollError, KeyError, TypeError):
            raise _Failed("roll", f"line {number}: ticket {released} holds no unit and is not waitlisted") from None
        if (value["marketId"], value["offeredTo"]) != (roll.market, roll.offered_to):
            raise _Failed(
                "roll",
                f"line {number}: releasing {released} gives marketId {roll.market!r} to {roll.offered_to!r}, "
                f"not {value['marketId']!r} to {value['offeredTo']!r}",
            )
        count += 1
    return count


def _compare_counts(document: Mapping[str, Any], standing: Standing) -> None:
    """The document's per-market rows against the recomputed units: capacity, free, and offered + accepted (which
    of the held units were accepted is not in the public files)."""
    rows = document.get("markets")
    counts = standing.counts()
    if (
        not isinstance(rows, list)
        or not all(isinstance(r, dict) and r.get("marketId") in counts for r in rows)
        or len(rows) != len(counts)
        or len({r["marketId"] for r in rows}) != len(rows)
    ):
        raise _Failed("market counts", "the document's markets are not the capacities' markets")
    for row in rows:
        want = counts[row["marketId"]]
        held = want["offered"] + want["accepted"]
        claimed = (row.get("capacity"), row.get("free"), row.get("offered"), row.get("accepted"))
        if not all(_count(n) for n in claimed) or (claimed[0], claimed[1], claimed[2] + claimed[3]) != (
            want["capacity"],
            want["free"],
            held,
        ):
            raise _Failed(
                "market counts",
                f"{row['marketId']}: capacity {want['capacity']}, held {held}, free {want['free']} recomputed",
            )


def _lines(data: bytes, name: str) -> list[bytes]:
    if not data:
        return []
    if not data.endswith(b"\n"):
        raise _Failed(name, "the file must end with a newline")
    return data[:-1].split(b"\n")


def _json(line: bytes, name: str, number: int) -> Any:
    try:
        value = json.loads(line)
    except ValueError:
        raise _Failed(name, f"line {number} is not JSON") from None
    try:
        if canonical(value) != line:
            raise _Failed(name, f"line {number} is not in canonical form (RFC 8785)")
    except ValueError:
        raise _Failed(name, f"line {number} holds a value with no canonical form") from None
    return value


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _bytes(value: object, size: int, check: str) -> bytes:
    try:
        raw = bytes.fromhex(value) if isinstance(value, str) else b""
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise _Failed(check, f"must be {size} bytes of hex")
    return raw


def _time(value: object, name: str) -> datetime:
    try:
        return parse_iso(value)  # type: ignore[arg-type]
    except ValueError:
        raise _Failed("document", f"{name} is not a timestamp") from None
