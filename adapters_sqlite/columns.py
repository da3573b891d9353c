"""Columns: this process's columnar copy of the entries' admin facts, per campaign, for the questions a row store
answers slowly at a million entries whatever the spread of the fans' ranked lists — eligibility counts under any
criteria (SCR-003, SCR-004), registration counts (SCR-010), and the eligible list in preference order or under a
market criterion (SCR-005). Each is a few array passes over the campaign (numpy), cost linear in its entries and
never dependent on how many distinct ranked lists there are.

Exact, not eventually so: a copy is brought up to date inside the read transaction that asks the question, from the
log of changed entries that every write of an entry appends to in its own transaction (schema.py, migration 14). An
answer is therefore that of one committed state of the file, like any SQL query's, and no count sees a record that
disagrees with its entry. A copy further behind than the log keeps, or behind by more changes than half its size, is
read afresh (a full read: ~3 s at 1,000,000 entries, measured).

Kept up meanwhile: once a process holds a copy, a thread of its own brings its copies up to date every ``KEEP_EVERY``
seconds, so the question after a bulk write (a transfer, an upload) finds its copy at most that far behind instead
of catching up on all of it (measured at 1M: 1.2-1.7 s after a transfer of 250,000-400,000 entries). Exactness does
not depend on it: each question still catches up in its own read transaction.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt

from adapters_sqlite.database import Database
from entrycore.eligibility import MAX_RANKS, EligibilityCriteria

_FACTS = (
    "id, phone_confirmed, score IS NOT NULL AND blocked = 0, coalesce(state, -1), intl, coalesce(score, 0.0),"
    " coalesce(random_score, 0.0), m0, m1, m2, m3"
)
_ALL = f"SELECT {_FACTS} FROM entries WHERE campaign_id = ?"  # noqa: S608 - constant
_CHANGED = (
    f"SELECT {_FACTS} FROM entries WHERE id IN (SELECT entry FROM entry_changes WHERE seq > ?) AND +campaign_id = ?"  # noqa: S608
)
_CHANGED_IDS = "SELECT DISTINCT entry FROM entry_changes WHERE seq > ?"
# Two subqueries: SQLite reads a min() or a max() off the key only when it is the query's one aggregate; together in one
# SELECT they scan the log (measured: 50 ms at 1,000,000 changes, on every question, against 0.04 ms).
_LAST = "SELECT (SELECT max(seq) FROM entry_changes), (SELECT min(seq) FROM entry_changes)"
TAGGED = "SELECT entry FROM entry_tags WHERE campaign_id = ? AND tag = ? AND value = 1"
_KEPT_COPIES = 4  # campaigns whose copy a process keeps (least recently asked about dropped first)
KEEP_EVERY = 1.0  # seconds between the keeper's catch-ups
log = logging.getLogger(__name__)

Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]


@attrs.define(eq=False)
class CampaignColumns:
    """One campaign's entries as arrays in id order (``ids`` ascending). A removed entry stays, not ``alive``."""

    seq: int  # the last change of the log this copy holds
    ids: Ints
    alive: Bools
    confirmed: Bools
    scored: Bools  # has a scoring record and is not blocked: what selection reads (SCR-008)
    state: npt.NDArray[np.int8]  # 2 * verdict + has codes, -1 without a record
    intl: Bools  # the phone does not start with +1
    score: npt.NDArray[np.float64]
    random_score: npt.NDArray[np.float64]
    ranks: npt.NDArray[np.int32]  # (MAX_RANKS, n): the market code at each rank, -1 for none
    markets: list[str]  # code -> market id
    codes: dict[str, int]  # market id -> code

    # questions

    def matching(self, conn: sqlite3.Connection, campaign_id: str, criteria: EligibilityCriteria) -> Bools:
        """SCR-003: the scored, unblocked entries matching the market, score, tag and phone criteria (the tags read
        in ``conn``'s transaction: cost the tagged records)."""
        mask = self.scored.copy()
        if criteria.market_ids:
            wanted = self._codes(criteria.market_ids)
            ranks = self.ranks[:1] if criteria.single_market_selection else self.ranks
            mask &= np.isin(ranks, wanted).any(axis=0)
        if criteria.min_score is not None:
            mask &= self.score >= criteria.min_score
        if criteria.max_score is not None:
            mask &= self.score <= criteria.max_score
        if criteria.exclude_intl_phone:
            mask &= ~self.intl
        if criteria.tag is not None:
            mask &= np.isin(self.ids, _tagged(conn, campaign_id, criteria.tag), assume_unique=True)
        if criteria.exclude_tag is not None:
            mask &= ~np.isin(self.ids, _tagged(conn, campaign_id, criteria.exclude_tag), assume_unique=True)
        return mask

    def listed(self, matching: Bools, states: Sequence[int]) -> Bools:
        """Of ``matching``, those in the listed ``states`` (SCR-005)."""
        return matching & np.isin(self.state, np.asarray(states, np.int8))

    def eligibility_groups(self, matching: Bools, listed: Bools) -> tuple[dict[int, int], dict[tuple[int, str], int]]:
        """``({state: how many matching}, {(rank, market): how many listed})`` (SCR-004)."""
        states = np.bincount(self.state[matching], minlength=4)
        return {state: int(n) for state, n in enumerate(states) if n}, self._by_rank(listed)

    def registration_groups(self) -> tuple[int, int, list[tuple[str, int, bool, int]]]:
        """``(entries, confirmed ones, [(market, rank, confirmed, how many)])`` (SCR-010)."""
        alive = self.alive
        groups = []
        for rank in range(MAX_RANKS):
            codes = self.ranks[rank]
            present = alive & (codes >= 0)
            counts = np.bincount(codes[present] * 2 + self.confirmed[present], minlength=2 * len(self.markets))
            groups += [
                (self.markets[key // 2], rank, bool(key % 2), int(counts[key])) for key in np.flatnonzero(counts)
            ]
        return int(alive.sum()), int((alive & self.confirmed).sum()), groups

    def ordered(self, listed: Bools, criteria: EligibilityCriteria) -> tuple[Ints, Ints]:
        """The ids of ``listed`` in SCR-005's order but for the last tie-break (user id), and where each run of
        equal keys starts (ascending, the first 0): the caller orders a run by user id once it has the records."""
        keys: list[npt.NDArray[Any]]
        if criteria.random_selection:
            keys = [self.random_score[listed]]
        elif criteria.order_by_preference:
            keys = [self._best_rank(listed, criteria.market_ids), -self.score[listed]]
        else:
            keys = [-self.score[listed]]
        order = np.lexsort(keys[::-1])
        ids = self.ids[listed][order]
        if not ids.size:
            return ids, np.zeros(0, np.int64)
        same = np.ones(ids.size - 1, np.bool_)
        for key in keys:
            sorted_key = key[order]
            same &= sorted_key[1:] == sorted_key[:-1]
        return ids, np.concatenate(([0], np.flatnonzero(~same) + 1)).astype(np.int64)

    # helpers

    def _codes(self, markets: Sequence[str]) -> npt.NDArray[np.int32]:
        return np.asarray([self.codes[m] for m in dict.fromkeys(markets) if m in self.codes], np.int32)

    def _by_rank(self, listed: Bools) -> dict[tuple[int, str], int]:
        groups: dict[tuple[int, str], int] = {}
        for rank in range(MAX_RANKS):
            codes = self.ranks[rank][listed]
            counts = np.bincount(codes[codes >= 0], minlength=len(self.markets))
            groups.update(((rank, self.markets[code]), int(counts[code])) for code in np.flatnonzero(counts))
        return groups

    def _best_rank(self, listed: Bools, market_ids: Sequence[str]) -> npt.NDArray[np.int64]:
        """entrycore.eligibility.best_rank per listed entry: the lowest rank holding one of ``market_ids`` (any
        market when none), MAX_RANKS when none does."""
        ranks = self.ranks[:, listed]
        hits = np.isin(ranks, self._codes(market_ids)) if market_ids else ranks >= 0
        return np.where(hits.any(axis=0), hits.argmax(axis=0), MAX_RANKS).astype(np.int64)

    # upkeep

    def _positions(self, ids: Ints) -> tuple[Ints, Bools]:
        """Where each of ``ids`` (ascending) is or would go in the copy, and whether the copy holds it there."""
        at = np.searchsorted(self.ids, ids)
        held = at < self.ids.size
        held[held] = self.ids[at[held]] == ids[held]
        return at, held

    def apply(self, rows: sqlite3.Cursor, changed: Ints, seq: int) -> None:
        """The changed entries' current rows (those still in this campaign) over the copy; ``changed`` is every id
        the log names since the copy's ``seq``: one with no row here is gone."""
        fresh = _arrays(rows, self.codes, self.markets)
        at, held = self._positions(np.setdiff1d(changed, fresh.ids, assume_unique=True))
        self.alive[at[held]] = self.scored[at[held]] = False
        at, held = self._positions(fresh.ids)
        for name in _ARRAYS:
            getattr(self, name)[..., at[held]] = getattr(fresh, name)[..., held]
        if not held.all():  # new entries: appended (ids only grow), sorted only if one is not past the others
            in_order = not self.ids.size or fresh.ids[~held][0] > self.ids[-1]
            for name in ("ids", *_ARRAYS):
                joined = np.concatenate((getattr(self, name), getattr(fresh, name)[..., ~held]), axis=-1)
                setattr(self, name, joined)
            if not in_order:
                order = np.argsort(self.ids, kind="stable")
                for name in ("ids", *_ARRAYS):
                    setattr(self, name, getattr(self, name)[..., order])
        self.seq = seq


_ARRAYS = ("alive", "confirmed", "scored", "state", "intl", "score", "random_score", "ranks")


def _arrays(cursor: sqlite3.Cursor, codes: dict[str, int], markets: list[str], seq: int = 0) -> CampaignColumns:
    """The rows ``cursor`` reads (as _FACTS), as a copy in id order sharing ``codes`` and ``markets`` (which it
    extends). Read _READ_ROWS at a time into arrays: never a million row tuples at once, whose allocation (and the
    garbage collector's passes over them) would hold the GIL from the fans' threads for seconds."""
    parts: list[list[npt.NDArray[Any]]] = []
    lookup: dict[str | None, int] = {None: -1}
    lookup.update(codes)
    while rows := cursor.fetchmany(_READ_ROWS):
        n = len(rows)
        columns = list(zip(*rows, strict=True))
        part: list[npt.NDArray[Any]] = [
            np.fromiter(column, dtype, n) for column, dtype in zip(columns[:7], _DTYPES, strict=True)
        ]
        for column in columns[7:]:
            for market in set(column).difference(lookup):
                lookup[market] = codes[market] = len(markets)
                markets.append(market)
            part.append(np.fromiter(map(lookup.__getitem__, column), np.int32, n))
        parts.append(part)
    if parts:
        joined = [np.concatenate(arrays) for arrays in zip(*parts, strict=True)]
    else:
        joined = [np.zeros(0, dtype) for dtype in (*_DTYPES, *(np.int32,) * MAX_RANKS)]
    order = np.argsort(joined[0], kind="stable")
    ids, confirmed, scored, state, intl, score, random_score, *ranks = (array[order] for array in joined)
    return CampaignColumns(
        seq=seq,
        ids=ids,
        alive=np.ones(ids.size, np.bool_),
        confirmed=confirmed,
        scored=scored,
        state=state,
        intl=intl,
        score=score,
        random_score=random_score,
        ranks=np.stack(ranks) if ranks[0].size else np.zeros((MAX_RANKS, 0), np.int32),
        markets=markets,
        codes=codes,
    )


_READ_ROWS = 20_000
_DTYPES = (np.int64, np.bool_, np.bool_, np.int8, np.bool_, np.float64, np.float64)


def _tagged(conn: sqlite3.Connection, campaign_id: str, tag: str) -> Ints:
    return np.unique(np.fromiter((entry for (entry,) in conn.execute(TAGGED, (campaign_id, tag))), np.int64))


class Columns:
    """The copies of one ``Database``'s campaigns in this process (``columns_of``)."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._reset()
        database.on_close(self.stop)

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._copies: OrderedDict[str, CampaignColumns] = OrderedDict()
        self._stopping = threading.Event()
        self._keeper: threading.Thread | None = None

    @contextmanager
    def of(self, campaign_id: str) -> Iterator[tuple[sqlite3.Connection, CampaignColumns]]:
        """The campaign's copy, up to date, with the connection of the read transaction it is current in: every
        read made on it sees the same committed state. One question at a time per process (admin work only)."""
        if self._pid != os.getpid():  # a forked child: the parent's copies, lock and keeper are not its own
            self._reset()
        with self._lock:
            if self._keeper is None:
                self._keeper = threading.Thread(target=self._keep, name="columns-keeper", daemon=True)
                self._keeper.start()
            with self._db.snapshot() as conn:
                yield conn, self._current(conn, campaign_id)

    def stop(self) -> None:
        """Stops the keeper (Database.close: before the connections close); the next question starts another."""
        keeper = self._keeper
        if keeper is None or self._pid != os.getpid():
            return
        self._stopping.set()
        keeper.join()
        with self._lock:
            self._keeper, self._stopping = None, threading.Event()

    def _keep(self) -> None:
        stopping = self._stopping
        while not stopping.wait(KEEP_EVERY):
            with self._lock:  # questions add and drop copies meanwhile
                campaigns = list(self._copies)
            for campaign_id in campaigns:
                try:
                    with self._lock:
                        if campaign_id in self._copies and not stopping.is_set():
                            with self._db.snapshot() as conn:
                                self._current(conn, campaign_id)
                except Exception:  # the next round, or the next question, tries again
                    log.warning("the columnar copy of %s could not be kept up", campaign_id, exc_info=True)

    def _current(self, conn: sqlite3.Connection, campaign_id: str) -> CampaignColumns:
        last, first = conn.execute(_LAST).fetchone()
        last = last or 0
        copy = self._copies.pop(campaign_id, None)
        if copy is not None and copy.seq < last:
            behind = last - copy.seq
            if (first is not None and first > copy.seq + 1) or behind > max(copy.ids.size // 2, 10_000):
                copy = None  # the log no longer holds what the copy misses, or reading afresh is cheaper
            else:
                changed = np.fromiter((e for (e,) in conn.execute(_CHANGED_IDS, (copy.seq,))), np.int64)
                copy.apply(conn.execute(_CHANGED, (copy.seq, campaign_id)), np.unique(changed), last)
        if copy is None:
            copy = _arrays(conn.execute(_ALL, (campaign_id,)), {}, [], last)
        self._copies[campaign_id] = copy
        while len(self._copies) > _KEPT_COPIES:
            self._copies.popitem(last=False)
        return copy


_REGISTRY: weakref.WeakKeyDictionary[Database, Columns] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def columns_of(database: Database) -> Columns:
    """The one Columns of ``database`` in this process (scoring and selection share it)."""
    with _REGISTRY_LOCK:
        found = _REGISTRY.get(database)
        if found is None:
            found = _REGISTRY[database] = Columns(database)
        return found
