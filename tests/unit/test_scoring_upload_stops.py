"""SCR-002 when the rows of an upload stop coming (a streamed file unreadable half-way, issue 21 item 8): the whole
batches written stay and are counted, the audit trail records the upload as incomplete, the error goes on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from entrycore.caller import Caller
from entrycore.usecases.scoring import UPLOAD_BATCH, Scoring
from tests.builders import campaign
from tests.fakes import FakeAudit, FakeCampaignSource, FakeClock, FakeEntryStore, FakeScoring


class Unreadable(Exception):
    """What a file reader raises half-way."""


def rows_then_failure(count: int) -> Iterator[Any]:
    for n in range(count):
        yield {"phone": f"+1312555{n:04d}", "score": 1}
    raise Unreadable


def test_SCR_002_rows_that_stop_half_way_leave_the_whole_batches_and_an_incomplete_audit_record() -> None:
    campaigns, audit = FakeCampaignSource(), FakeAudit()
    campaigns.campaigns["c1"] = campaign()
    scoring = Scoring(campaigns=campaigns, store=FakeScoring(FakeEntryStore()), audit=audit, clock=FakeClock())
    seen: list[int] = []
    with pytest.raises(Unreadable):
        scoring.upload(
            Caller("admin", is_supreme=True),
            "c1",
            rows_then_failure(UPLOAD_BATCH + 10),
            lambda s: seen.append(s.received),
        )
    (record,) = audit.kept
    assert record.action == "scoring.upload" and record.parameters == {"complete": False}
    assert record.counts["received"] == UPLOAD_BATCH + 10  # read; only the first batch was written (and counted)
    assert record.counts["unmatched"] == UPLOAD_BATCH and seen == [UPLOAD_BATCH + 10]
