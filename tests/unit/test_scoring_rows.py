"""Reading scoring upload rows and adding up the upload's answer (SPEC SCR-001, SCR-002)."""

from __future__ import annotations

import pytest

from entrycore.scoring import (
    INVALID_PHONE,
    INVALID_SCORE,
    INVALID_TAGS,
    NO_CONFIRMED_ENTRY,
    Rejected,
    ScoreRow,
    ScoringRecord,
    UploadSummary,
    read_row,
)
from entrywire.answers import answers
from entrywire.documents import documents


def test_SCR_001_a_valid_row_is_read_with_its_phone_normalised_and_what_was_given() -> None:
    row = {"phone": "(212) 555-0123", "score": 87.5, "verdict": False, "randomScore": 0.42, "tags": {"vip": True}}
    assert read_row(3, row) == ScoreRow(3, "+12125550123", 87.5, False, 0.42, {"vip": True})
    assert read_row(0, {"phone": "+52 1 55 1234 5678", "score": 1}) == ScoreRow(0, "+525512345678", 1.0)  # PHN-006


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ({"phone": "not a phone", "score": 1}, INVALID_PHONE),
        ({"score": 1}, INVALID_PHONE),
        ("a string", INVALID_PHONE),
        ({"phone": "+12125550123"}, INVALID_SCORE),
        ({"phone": "+12125550123", "score": "87"}, INVALID_SCORE),
        ({"phone": "+12125550123", "score": True}, INVALID_SCORE),
        ({"phone": "+12125550123", "score": float("nan")}, INVALID_SCORE),
        ({"phone": "+12125550123", "score": 10**400}, INVALID_SCORE),
        ({"phone": "+12125550123", "score": 1, "verdict": "yes"}, INVALID_SCORE),
        ({"phone": "+12125550123", "score": 1, "randomScore": 1.0}, INVALID_SCORE),
        # tags that are not an object of tag names to booleans: INVALID_TAGS, never INVALID_SCORE (issue 21, item 6)
        ({"phone": "+12125550123", "score": 1, "tags": {"vip": "yes"}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"vip": 1}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": ["vip"]}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": "vip"}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"vip": {"a": True}}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"": True}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"  ": True}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"x" * 101: True}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"x" * 10_000: True}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"v\u0000ip": True}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"\u202evip": True}}, INVALID_TAGS),
        ({"phone": "+12125550123", "score": 1, "tags": {"signal:voip_phone": True}}, INVALID_TAGS),
    ],
)
def test_SCR_002_a_bad_row_is_rejected_with_its_reason(row: object, reason: str) -> None:
    assert read_row(7, row) == Rejected(7, reason)


def test_SCR_002_the_summary_counts_invalid_and_unmatched_rows_and_shows_at_most_100() -> None:
    summary = UploadSummary(received=250, matched=100, inserted=60, updated=40)
    for n in range(120):
        summary.reject(Rejected(n, INVALID_PHONE if n % 2 else NO_CONFIRMED_ENTRY))
    document = answers.unstructure(summary)
    assert (document["invalid"], document["unmatched"], len(document["rejected"])) == (60, 60, 100)
    assert document["rejected"][:2] == [
        {"index": 0, "reason": NO_CONFIRMED_ENTRY},
        {"index": 1, "reason": INVALID_PHONE},
    ]
    fields = {"received", "matched", "inserted", "updated", "unmatched", "invalid", "rejected", "rejectedTruncated"}
    assert set(document) == fields
    assert document["rejectedTruncated"] is True  # 120 rejected, 100 listed: the answer says the list is cut
    assert answers.unstructure(UploadSummary(received=1))["rejectedTruncated"] is False


def test_a_scoring_record_has_the_api_shape_and_reads_back_equal() -> None:
    record = ScoringRecord(
        campaign_id="c1",
        user_id="u1",
        phone="+12125550123",
        score=87.5,
        random_score=0.42,
        verdict=False,
        first_name="Ana",
        email="ana@example.com",
        locale="en-US",
        markets=("nyc", "bos"),
        codes=(("CODE-1", "presale"), ("CODE-2", None)),
        tags={"vip": True},
    )
    document = answers.unstructure(record)
    assert document == {
        "userId": "u1",
        "campaignId": "c1",
        "name": {"first": "Ana", "last": None},
        "email": "ana@example.com",
        "phone": "+12125550123",
        "score": 87.5,
        "randomScore": 0.42,
        "verdict": False,
        "locale": "en-US",
        "marketIds": ["nyc", "bos"],
        "codes": [{"code": "CODE-1", "codeConfigId": "presale"}, {"code": "CODE-2", "codeConfigId": None}],
        "tags": {"vip": True},
    }
    assert documents.unstructure(record) == {**document, "blocked": False}
    assert documents.structure(documents.unstructure(record), ScoringRecord) == record
