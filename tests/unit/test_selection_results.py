"""Selection's batch changes and entry lists answer typed values (SPEC SCR-007…009), refused to fans."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entrycore.caller import Caller
from entrycore.choices import FilterType
from entrycore.errors import Forbidden
from entrycore.selection import BlockItem, CodeAssignment, EntryFilter
from entrycore.usecases.results import BlocksSaved, CodesAssigned
from entrycore.usecases.selection import Selection
from entrywire.answers import answers
from tests.builders import VALID_FIELDS
from tests.fakes import FakeAudit, FakeScoring, FakeSelection
from tests.unit.conftest import World

ADMIN = Caller("ops-1", is_supreme=True)
START = datetime(2026, 11, 1, tzinfo=UTC)


def selection(world: World) -> tuple[Selection, FakeAudit]:
    audit = FakeAudit()
    scoring = FakeScoring(world.entries)
    views = FakeSelection(world.entries, scoring)
    return Selection(world.campaigns, world.entries, scoring, views, audit, world.clock, world.ids), audit


def test_codes_answer_a_typed_result_whose_document_is_api_md_s(world: World) -> None:
    world.register("u1")
    world.register("u2", {**VALID_FIELDS, "phone": "+12125550124"})
    service, audit = selection(world)
    items = [CodeAssignment("u1", "A", None, START), CodeAssignment("u1", "B", "cfg", START)]
    items += [CodeAssignment("u2", "C", None, START), CodeAssignment("nobody", "D", None, START)]

    answer = service.assign_codes(ADMIN, "c1", items)

    assert answer == CodesAssigned(received=4, assigned=3, scoring=0, unmatched=("nobody",))
    assert answers.unstructure(answer) == {"input": 4, "assigned": 3, "scoring": 0, "unmatched": ["nobody"]}
    assert audit.kept[-1].counts == {"input": 4, "assigned": 3, "scoring": 0, "unmatched": 1}


def test_blocks_answer_a_typed_result(world: World) -> None:
    world.register("u1")
    service, audit = selection(world)

    answer = service.set_blocks(ADMIN, "c1", [BlockItem("u1", True), BlockItem("ghost", True)])

    assert answer == BlocksSaved(received=2, saved=1, unmatched=("ghost",))
    assert answers.unstructure(answer) == {"input": 2, "saved": 1, "unmatched": ["ghost"]}
    assert audit.kept[-1].counts == {"input": 2, "saved": 1, "unmatched": 1}


def test_an_entry_list_carries_its_campaign_and_fans_are_refused(world: World) -> None:
    world.register("u1")
    service, _ = selection(world)

    page = service.entry_list(ADMIN, "c1", EntryFilter(FilterType.CODELESS), 10, 0)

    assert page.total == 1 and [(e.entry.user_id, e.campaign) for e in page.entries] == [
        ("u1", world.campaigns.get("c1"))
    ]
    for refused in (
        lambda: service.entry_list(Caller("u1"), "c1", EntryFilter(FilterType.CODELESS), 10, 0),
        lambda: service.assign_codes(Caller("u1"), "c1", []),
        lambda: service.set_blocks(Caller("u1"), "c1", []),
    ):
        with pytest.raises(Forbidden):
            refused()
