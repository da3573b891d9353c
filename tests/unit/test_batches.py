"""entrycore.batches.batched: the one way the stores and sinks cut work into bounded pieces."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from entrycore.batches import batched


@given(st.lists(st.integers()), st.integers(min_value=1, max_value=7), st.booleans())
def test_batches_keep_order_and_bound_their_size(items: list[int], size: int, as_stream: bool) -> None:
    batches = list(batched(iter(items) if as_stream else items, size))
    assert [x for batch in batches for x in batch] == items
    assert all(len(batch) == size for batch in batches[:-1])
    assert all(1 <= len(batch) <= size for batch in batches)
    assert len(batches) == -(-len(items) // size)


def test_a_stream_is_read_one_batch_at_a_time() -> None:
    read = []

    def stream() -> Iterator[int]:
        for x in range(10):
            read.append(x)
            yield x

    first = next(batched(stream(), 3))
    assert first == [0, 1, 2] and read == [0, 1, 2]


def test_a_size_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        list(batched([1], 0))
