"""The wire shapes (entrywire): the document both stores keep, written out key by key so that renaming an
attribute of the domain can never change silently what a datastore holds (OPS-006 reads old datastores)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from entrycore.audit import AuditRecord
from entrycore.eligibility import EligibilityCounts, MarketCounts
from entrycore.model import AssignedCode, Entry, FraudResult, Origin, Referrer, Review
from entrycore.outbox import DeadLetter, OutboxMessage, RetryRequest
from entrycore.selection import RegistrationCounts, TimelinePoint
from entrywire.answers import answers
from entrywire.documents import documents

AT = datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=UTC)
Z = "2026-01-02T03:04:05.123Z"
FULL = Entry(
    campaign_id="c1",
    user_id="u1",
    fields={"opt_in": True, "zip": "10001"},
    markets=("nyc", "bos"),
    locale="en-us",
    code="REF1",
    link="https://x/r/REF1",
    date_created=AT,
    date_updated=AT,
    email="ana@example.com",
    phone="+12125550123",
    first_name="Ana",
    last_name="Lee",
    referrer=Referrer("REF0", "u0"),
    phone_confirmed=True,
    date_phone_confirmed=AT,
    date_receipt=AT,
    codes=(AssignedCode("K1", "presale", AT, None, AT, AT),),
    review=Review(True, AT),
    attributes={"replicated": True},
    fraud=FraudResult(0.25, "scored"),
    fanscore=3.5,
    origin=Origin("203.0.113.9", "UA"),
    version=4,
)
FULL_DOCUMENT = {
    "campaignId": "c1",
    "userId": "u1",
    "fields": {"opt_in": True, "zip": "10001"},
    "markets": ["nyc", "bos"],
    "locale": "en-us",
    "code": "REF1",
    "link": "https://x/r/REF1",
    "email": "ana@example.com",
    "phone": "+12125550123",
    "firstName": "Ana",
    "lastName": "Lee",
    "referrer": {"code": "REF0", "userId": "u0"},
    "phoneConfirmed": True,
    "dateCreated": Z,
    "dateUpdated": Z,
    "datePhoneConfirmed": Z,
    "dateReceipt": Z,
    "codes": [{"code": "K1", "codeConfigId": "presale", "start": Z, "end": None, "revealCode": Z, "assignedAt": Z}],
    "review": {"isBlocked": True, "date": Z},
    "attributes": {"replicated": True},
    "fraud": {"score": 0.25, "status": "scored"},
    "fanscore": 3.5,
    "origin": {"ip": "203.0.113.9", "userAgent": "UA"},
    "version": 4,
}


def test_an_entry_is_stored_as_exactly_this_document_and_reads_back_equal() -> None:
    assert documents.unstructure(FULL) == FULL_DOCUMENT
    assert documents.structure(FULL_DOCUMENT, Entry) == FULL


def test_a_document_written_before_the_later_fields_existed_reads_with_their_defaults() -> None:
    old = {k: v for k, v in FULL_DOCUMENT.items() if k not in {"attributes", "fraud", "fanscore", "origin", "version"}}
    entry = documents.structure(old, Entry)
    assert (entry.attributes, entry.fraud, entry.fanscore, entry.origin, entry.version) == ({}, None, None, None, 1)


def test_outbox_audit_and_retry_documents() -> None:
    message = OutboxMessage("m1", "event", "c1", "u1", "c1:+1212", {"type": "entry.created"}, AT, 2)
    doc = documents.unstructure(message)
    assert doc == {
        "id": "m1",
        "kind": "event",
        "campaignId": "c1",
        "userId": "u1",
        "partitionKey": "c1:+1212",
        "body": {"type": "entry.created"},
        "createdAt": Z,
        "attempts": 2,
    }
    assert documents.structure(doc, OutboxMessage) == message
    record = AuditRecord(AT, "boss", "entries.codes", "c1", {"by": "phone"}, {"input": 3})
    audit = documents.unstructure(record)
    assert audit == {
        "at": Z,
        "actor": "boss",
        "action": "entries.codes",
        "campaignId": "c1",
        "parameters": {"by": "phone"},
        "counts": {"input": 3},
    }
    assert documents.structure(audit, AuditRecord) == record
    assert list(documents.unstructure(RetryRequest("c1", "u1"))) == ["campaignId", "userId"]  # a MongoDB key


@pytest.mark.parametrize("body", [{"campaignId": "c1"}, {"campaignId": "", "userId": "u"}, ["c1", "u1"], None])
def test_a_retry_body_that_is_not_a_request_is_refused(body: object) -> None:
    with pytest.raises(ValueError, match="campaignId and userId"):
        documents.structure(body, RetryRequest)


def test_the_answers_are_api_md_shapes_with_lists_for_json() -> None:
    counts = EligibilityCounts(3, 2, 1, 1, (MarketCounts("nyc", (2, 1, 0, 0)),))
    assert answers.unstructure(counts) == {
        "total": 3,
        "verified": 2,
        "selected": 1,
        "available": 1,
        "byMarket": [{"marketId": "nyc", "counts": [2, 1, 0, 0]}],
    }
    assert answers.unstructure(RegistrationCounts(4, 2, (("nyc", (1, 2, 0, 0)),))) == {
        "total": 4,
        "confirmed": 2,
        "byMarket": [{"marketId": "nyc", "counts": [1, 2, 0, 0]}],
    }
    assert answers.unstructure([TimelinePoint(AT, 3, 1)], list[TimelinePoint]) == [
        {"at": Z, "created": 3, "confirmed": 1}
    ]
    message = OutboxMessage("m1", "receipt", "c1", "u1", "c1:u1", {"email": "secret@x"}, AT, 10)
    letter = answers.unstructure(DeadLetter(message, AT, "refused", 2))
    assert letter == {
        "id": "m1",
        "kind": "receipt",
        "campaignId": "c1",
        "userId": "u1",
        "createdAt": Z,
        "attempts": 10,
        "parkedAt": Z,
        "error": "refused",
        "heldBack": 2,
    }  # never the body: an operator's listing shows no fan's address
