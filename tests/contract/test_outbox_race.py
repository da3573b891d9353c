"""Relays racing each other and the fans' writes: each message is leased once, in order per entry (PUB-002)."""

from __future__ import annotations

import threading
from datetime import timedelta

import attrs
import pytest

from entrycore.outbox import EVENT, OutboxMessage
from tests.contract.conftest import Stores
from tests.contract.entries import T0, an_entry

FANS = 24
WRITES = 4  # per fan: one create, then replaces, each with one or two messages
RELAYS = 4


def test_racing_relays_lease_each_message_once_and_in_order(stores: Stores) -> None:
    if stores.kind == "mongomock":
        pytest.skip("mongomock's updates are not atomic: its races prove nothing (DESIGN.md)")
    order: dict[str, tuple[str, int]] = {}  # message id -> (fan, position in the fan's commit order)
    log: list[tuple[str, list[str]]] = []
    lock = threading.Lock()
    writers_done = threading.Event()
    failures: list[BaseException] = []

    def write(fan: str) -> None:
        entry = an_entry("c1", fan, phone=None)
        position = 0
        for version in range(1, WRITES + 1):
            outbox = []
            for _ in range(1 + version % 2):
                message_id = f"{fan}-{position}"
                outbox.append(OutboxMessage(message_id, EVENT, "c1", fan, fan, {"n": position}, T0))
                order[message_id] = (fan, position)
                position += 1
            if version == 1:
                stores.entries.create(entry, outbox)
            else:
                stores.entries.replace(attrs.evolve(entry, version=version), version - 1, outbox)

    def relay(owner: str) -> None:
        while True:
            finished = writers_done.is_set()  # read first: a backlog seen empty after it is final
            claimed = stores.outbox.claim(owner, 5, T0, timedelta(hours=1))
            ids = [m.id for m in claimed]
            with lock:
                log.append(("claim", ids))
                log.append(("delivered", ids))  # logged before the store hears it: conservative
            stores.outbox.delivered(owner, ids, T0)
            if not claimed and finished and stores.outbox.outbox_status().backlog == 0:
                return

    def guarded(target: object, *args: str) -> threading.Thread:
        def run() -> None:
            try:
                target(*args)  # type: ignore[operator]
            except BaseException as failure:  # reported below
                failures.append(failure)

        return threading.Thread(target=run)

    writers = [guarded(write, f"fan-{n:02d}") for n in range(FANS)]
    relays = [guarded(relay, f"relay-{n}") for n in range(RELAYS)]
    for thread in writers + relays:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    for thread in relays:
        thread.join(timeout=60)

    assert failures == []
    claimed = [i for kind, ids in log if kind == "claim" for i in ids]
    assert sorted(claimed) == sorted(order)  # every message, once
    delivered: set[str] = set()
    for kind, ids in log:
        if kind == "delivered":
            delivered |= set(ids)
            continue
        for index, message_id in enumerate(ids):
            fan, position = order[message_id]
            before = f"{fan}-{position - 1}"
            assert position == 0 or before in delivered or before in ids[:index], (message_id, ids)
