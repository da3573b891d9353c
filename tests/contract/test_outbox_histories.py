"""Every store answers a random history of writes and relay calls exactly as the fake does (SPEC PUB-002).

The hand-written cases in test_outbox.py name the rules; these histories mix them (several relays, short
leases, retries, limits smaller than the backlog, entries written while their messages are leased) and
compare every answer of each store with the fake's, step by step.
"""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from entrycore.errors import StaleEntry
from entrycore.model import Entry
from entrycore.outbox import EVENT, RECEIPT, RETRY, OutboxMessage
from tests.contract.conftest import KINDS, Stores, open_stores
from tests.contract.entries import T0, an_entry

USERS = [f"fan-{n}" for n in range(12)]
OWNERS = ["relay-a", "relay-b", "relay-c"]
STEPS = 150
CHANNELS = [EVENT, RECEIPT, RETRY]


def history(stores: Stores, seed: int) -> list[Any]:
    """Runs the history of ``seed``; returns everything the store answered, step by step."""
    rng = random.Random(seed)
    now = T0
    stored: dict[str, Entry] = {}
    held: dict[str, list[str]] = {owner: [] for owner in OWNERS}
    numbers = iter(range(1, 1_000_000))
    answers: list[Any] = []
    for _ in range(STEPS):
        step = rng.choices(
            ["write", "claim", "delivered", "retry", "park", "requeue", "release", "tick"],
            weights=[4, 3, 2, 1, 0.5, 0.3, 0.5, 2],
        )[0]
        owner = rng.choice(OWNERS)
        if step == "write":
            user = rng.choice(USERS)
            entry = stored.get(user) or an_entry("c1", user, phone=None, created=now)
            outbox = [_message(entry, next(numbers), now) for _ in range(rng.choice([0, 1, 1, 2, 3]))]
            if user not in stored:
                stores.entries.create(entry, outbox)
                stored[user] = entry
                answers.append(("create", user))
            else:
                stale = rng.random() < 0.1
                changed = attrs.evolve(entry, version=entry.version + 1, date_updated=now)
                try:
                    stores.entries.replace(changed, entry.version - stale, outbox)
                except StaleEntry:
                    answers.append(("stale", user))
                else:
                    stored[user] = changed
                    answers.append(("replace", user))
        elif step == "claim":
            limit, lease = rng.randint(1, 5), timedelta(seconds=rng.randint(1, 30))
            claimed = stores.outbox.claim(owner, limit, now, lease)
            held[owner] = [m.id for m in claimed]
            answers.append(("claim", owner, [(m.id, m.attempts) for m in claimed]))
        elif step == "requeue":
            answers.append(("requeue", stores.outbox.requeue_dead_letters(None, now)))
        elif step == "release":
            channel = rng.choice(CHANNELS)
            answers.append(("release", channel, stores.outbox.release_waiting(channel, now)))
        elif step in ("delivered", "retry", "park"):
            others = [i for o, mine in held.items() if o != owner for i in mine]
            chosen = rng.sample(held[owner], k=rng.randint(0, len(held[owner]))) + rng.sample(
                others, k=min(len(others), rng.randint(0, 1))
            )
            if step == "delivered":
                stores.outbox.delivered(owner, chosen, now)
            elif step == "park":
                stores.outbox.park(owner, chosen, now, "refused")
                answers.append([(d.message.id, d.held_back) for d in stores.outbox.dead_letters(100)])
            else:
                counted = rng.random() < 0.7  # else the sink was down: uncounted, waiting for it
                at = now + timedelta(seconds=rng.randint(0, 20))
                stores.outbox.retry_later(owner, chosen, at, error="down", counted=counted)
            answers.append((step, owner, chosen))
        else:
            now += timedelta(milliseconds=rng.choice([0, 1, 500, 5_000, 20_000]))
        answers.append(stores.outbox.outbox_status())
    return answers


def _message(entry: Entry, number: int, now: Any) -> OutboxMessage:
    body = {"campaignId": entry.campaign_id, "userId": entry.user_id, "n": number}
    kind = CHANNELS[number % 5 % 3]  # mostly events, some receipts and retry requests: one order per channel
    return OutboxMessage(f"m{number:06d}", kind, entry.campaign_id, entry.user_id, entry.user_id, body, now)


@pytest.mark.parametrize("seed", range(3))
def test_every_store_answers_a_random_history_as_the_fake(seed: int, tmp_path: Path) -> None:
    answers = {}
    for kind in KINDS:
        with open_stores(kind, tmp_path / kind) as stores:
            answers[kind] = history(stores, seed)
            leftover = stores.outbox.claim("sweeper", 1000, T0 + timedelta(days=1), timedelta(seconds=1))
            answers[kind].append([(m.id, m.attempts) for m in leftover])
    assert any(a[0] == "claim" and a[2] for a in answers["fake"] if isinstance(a, tuple))  # it did claim
    for kind in KINDS:
        assert answers[kind] == answers["fake"], kind
