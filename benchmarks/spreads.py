"""How fans' ranked markets spread over the 40 markets of the benchmark campaign (issue 22, SPEC §10).

SPEC §10's admin figures must hold whatever the spread of fans' ranked lists, so the benchmarks build their
fans under one of these spreads (``--spread``) and print every figure labelled with it:

  near   each fan ranks 1 to 4 markets near its primary one (``RANK_MIX``), the primary drawn with popularity
         falling off as 1/rank of the city: a million fans share a few thousand ranked lists (the benchmarks'
         original data set; the biggest market ``m00`` is ranked by about a third of the fans)
  free   each fan's 1 to 4 markets (as many of each count) drawn uniformly at random from the 40: nearly every
         fan with 4 markets has its own list
  worst  the worst case for a layout that stores the ranked markets as four rank columns m0..m3 per entry and
         counts by (market, rank) with one indexed pass per rank: every fan ranks exactly 4 markets (every rank
         column filled), every list distinct (as long as the lists allow it), and the biggest market ``m00``
         held by exactly a quarter of the fans at ranks spread evenly over 0..3 (the transfer of SPEC §10)

Every spread is deterministic (a seed), cheap to generate (no memory per fan), and the same for every script.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Sequence

MARKETS = tuple(f"m{i:02d}" for i in range(40))
WEIGHTS = [1 / (i + 1) for i in range(len(MARKETS))]
RANK_MIX = (1, 1, 2, 2, 2, 3, 3, 4)  # near: how many markets a fan ranks
SPREADS = ("near", "free", "worst")


def parse_spreads(text: str) -> tuple[str, ...]:
    """``--spread``'s value: one spread, a comma list of them, or ``all``."""
    chosen = SPREADS if text.strip() == "all" else tuple(s.strip() for s in text.split(",") if s.strip())
    unknown = [s for s in chosen if s not in SPREADS]
    if unknown or not chosen:
        raise ValueError(f"unknown spread {', '.join(unknown) or text!r}: choose among {', '.join(SPREADS)} or all")
    return tuple(dict.fromkeys(chosen))


def _nth_arrangement(index: int, pool: Sequence[int], size: int) -> tuple[int, ...]:
    """The ``index``-th ordered choice of ``size`` distinct items of ``pool`` (mixed radix): a bijection from
    ``range(perm(len(pool), size))`` onto the arrangements."""
    left = list(pool)
    out = []
    for _ in range(size):
        index, pick = divmod(index, len(left))
        out.append(left.pop(pick))
    return tuple(out)


class _Distinct:
    """Distinct arrangements of ``size`` items of ``pool`` in a scrambled order: the j-th is arrangement
    ``(a * j + b) mod M`` with ``gcd(a, M) = 1`` — all different for j < M, without remembering any."""

    def __init__(self, pool: Sequence[int], size: int, seed: int) -> None:
        self.pool, self.size = tuple(pool), size
        self.space = math.perm(len(pool), size)
        rng = random.Random(seed)
        self.step = rng.randrange(self.space // 3, self.space)
        while math.gcd(self.step, self.space) != 1:
            self.step += 1
        self.offset = rng.randrange(self.space)
        self.taken = 0

    def next(self) -> tuple[int, ...]:
        index = (self.step * self.taken + self.offset) % self.space  # repeats only once the space is used up
        self.taken += 1
        return _nth_arrangement(index, self.pool, self.size)


def ranked_lists(spread: str, count: int, seed: int = 7) -> Iterator[tuple[str, ...]]:
    """The ranked markets of fans ``0 … count-1`` under ``spread``."""
    rng = random.Random(seed)
    everywhere = range(len(MARKETS))
    if spread == "near":
        for _ in range(count):
            primary = rng.choices(everywhere, WEIGHTS)[0]
            chosen = [primary]
            wanted = rng.choice(RANK_MIX)
            while len(chosen) < wanted:
                near = (primary + rng.randint(-3, 3)) % len(MARKETS)
                if near not in chosen:
                    chosen.append(near)
            yield tuple(MARKETS[i] for i in chosen)
    elif spread == "free":
        for _ in range(count):
            yield tuple(MARKETS[i] for i in rng.sample(everywhere, rng.randint(1, 4)))
    elif spread == "worst":
        others = range(1, len(MARKETS))
        with_biggest = [_Distinct(others, 3, seed * 10 + rank) for rank in range(4)]  # m00 at rank 0..3
        without = _Distinct(others, 4, seed)
        for k in range(count):
            if k % 4 == 0:
                rank = (k // 4) % 4
                rest = with_biggest[rank].next()
                chosen = (*rest[:rank], 0, *rest[rank:])
            else:
                chosen = without.next()
            yield tuple(MARKETS[i] for i in chosen)
    else:
        raise ValueError(f"unknown spread {spread!r}")


class Tally:
    """What a data set's ranked lists look like: how many distinct lists, how many fans rank each market."""

    def __init__(self) -> None:
        self.fans = 0
        self.lists: set[int] = set()
        self.ranking = dict.fromkeys(MARKETS, 0)

    def add(self, markets: Sequence[str]) -> None:
        self.fans += 1
        self.lists.add(hash(tuple(markets)))
        for market in markets:
            self.ranking[market] += 1

    def biggest(self, skip: Sequence[str] = ()) -> str:
        """The market ranked by most fans (the first in campaign order on a tie), leaving out ``skip``."""
        return max((m for m in MARKETS if m not in skip), key=lambda m: (self.ranking[m], -MARKETS.index(m)))

    def share(self, market: str) -> float:
        return self.ranking[market] / max(self.fans, 1)

    def describe(self) -> str:
        top = self.biggest()
        return (
            f"{len(self.lists):,} distinct ranked lists; biggest market {top} ranked by "
            f"{self.ranking[top]:,} fans ({self.share(top):.0%})"
        )
