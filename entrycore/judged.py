"""Answers of a pure rule over text, remembered: the entry's email and phone are judged again with every update
of the entry (ENT-004: the merged entry is validated as a whole), by rules costing ~100 µs each (email-validator,
phonenumbers) — measured, about half of a replicated update's CPU. A rule's answer is a function of its
arguments alone, so a remembered one is the rule's own. Bounded: emptied when full. A refused text is not
remembered (the rule raises again)."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
SIZE = 32_768  # answers kept per rule (~10 MB at most)


class Judged(Generic[K]):
    """``rule`` with its answers remembered by argument; ``fixed_point(answer)`` says the answer is its own answer
    (normalising a normalised text changes nothing), so it is remembered for that key too (``key_of(answer,
    key)``): the stored form an update judges again is then known from the create that produced it."""

    def __init__(
        self,
        rule: Callable[[K], str],
        fixed_point: Callable[[str], bool],
        key_of: Callable[[str, K], K],
        size: int = SIZE,
    ) -> None:
        self._rule, self._fixed_point, self._key_of, self._size = rule, fixed_point, key_of, size
        self._known: dict[K, str] = {}

    def __call__(self, key: K) -> str:
        answer = self._known.get(key)
        if answer is None:
            answer = self._rule(key)
            if len(self._known) >= self._size:
                self._known.clear()  # dict operations are atomic under the GIL: a racing thread only judges again
            self._known[key] = answer
            if self._fixed_point(answer):
                self._known[self._key_of(answer, key)] = answer
        return answer
