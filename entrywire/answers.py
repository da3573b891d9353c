"""What the admin edges answer (API.md §4): the HTTP routes and the CLI print these same objects.

``answers.unstructure(value)`` gives the JSON object of an ``UploadSummary``, ``EligibilityCounts``,
``RegistrationCounts``, ``TimelinePoint``, ``CodesAssigned``, ``BlocksSaved``, ``ScoringRecord`` (API.md's shape,
no block), ``DeadLetter`` or ``DataExport``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cattrs import Converter

from entrycore.eligibility import EligibilityCounts, MarketCounts
from entrycore.outbox import DeadLetter
from entrycore.scoring import Rejected, ScoringRecord, UploadSummary
from entrycore.selection import RegistrationCounts, TimelinePoint
from entrycore.timefmt import iso
from entrycore.usecases.results import BlocksSaved, CodesAssigned, DataExport
from entrywire.documents import documents, scoring_document
from entrywire.names import register_camel


def upload_summary(summary: UploadSummary) -> dict[str, Any]:
    return {
        **summary.counts(),
        "rejected": [{"index": r.index, "reason": r.reason} for r in summary.rejected],
        # More rows were rejected than the list shows (SCR-002 lists 100): invalid + unmatched says how many.
        "rejectedTruncated": summary.invalid + summary.unmatched > len(summary.rejected),
    }


def dead_letter(letter: DeadLetter) -> dict[str, Any]:
    """A parked message without its body (``outbox dead-letters``): what it is, when and why it was parked."""
    message = letter.message
    return {
        "id": message.id,
        "kind": message.kind,
        "campaignId": message.campaign_id,
        "userId": message.user_id,
        "createdAt": iso(message.created_at),
        "attempts": message.attempts,
        "parkedAt": iso(letter.parked_at),
        "error": letter.error,
        "heldBack": letter.held_back,
    }


def make_converter() -> Converter:
    converter = Converter(unstruct_collection_overrides={tuple: list})
    converter.register_unstructure_hook(datetime, iso)
    register_camel(converter, Rejected, MarketCounts, EligibilityCounts, TimelinePoint, structure=False)
    converter.register_unstructure_hook(UploadSummary, upload_summary)
    converter.register_unstructure_hook(
        RegistrationCounts,
        lambda c: {
            "total": c.total,
            "confirmed": c.confirmed,
            "byMarket": [{"marketId": m, "counts": list(counts)} for m, counts in c.by_market],
        },
    )
    # ``input``: how many items the request held (API.md §4), ``received`` in the result.
    converter.register_unstructure_hook(
        CodesAssigned,
        lambda a: {"input": a.received, "assigned": a.assigned, "scoring": a.scoring, "unmatched": [*a.unmatched]},
    )
    converter.register_unstructure_hook(
        BlocksSaved, lambda b: {"input": b.received, "saved": b.saved, "unmatched": [*b.unmatched]}
    )
    converter.register_unstructure_hook(ScoringRecord, scoring_document)
    converter.register_unstructure_hook(DeadLetter, dead_letter)
    # A fan's data as the stores keep it (USR-003): the entries' and scoring records' stored documents.
    converter.register_unstructure_hook(
        DataExport,
        lambda d: {
            "userId": d.user_id,
            "entries": [documents.unstructure(e) for e in d.entries],
            "scoring": [documents.unstructure(r) for r in d.scoring],
        },
    )
    return converter


answers = make_converter()
