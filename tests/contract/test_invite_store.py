"""InviteStore contract: invite lists per campaign, on every implementation."""

from __future__ import annotations

from tests.contract.conftest import Stores


def test_add_counts_only_new_values(stores: Stores) -> None:
    assert stores.invites.add("c1", ["vip-001", "ana@example.com", "vip-001"]) == 2
    assert stores.invites.add("c1", ["vip-001", "vip-002"]) == 1
    assert stores.invites.add("c1", []) == 0
    assert stores.invites.add("c2", ["vip-001"]) == 1  # lists are per campaign


def test_contains_is_exact_and_per_campaign(stores: Stores) -> None:
    stores.invites.add("c1", ["vip-001"])
    assert stores.invites.contains("c1", "vip-001")
    assert not stores.invites.contains("c1", "VIP-001")
    assert not stores.invites.contains("c1", "vip-00")
    assert not stores.invites.contains("c2", "vip-001")


def test_add_takes_a_large_iterable_at_once(stores: Stores) -> None:
    values = (f"member-{n % 2500:05d}" for n in range(5000))  # a generator, each value twice
    assert stores.invites.add("c1", values) == 2500
    assert stores.invites.contains("c1", "member-00000")
    assert stores.invites.contains("c1", "member-02499")
    assert stores.invites.add("c1", [f"member-{n:05d}" for n in range(2490, 2510)]) == 10
