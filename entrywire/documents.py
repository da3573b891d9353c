"""What the stores keep (DESIGN.md "Storage"): SQLite and MongoDB write and read exactly these documents.

``documents.unstructure(value)`` gives the document of an ``Entry``, ``AuditRecord``, ``OutboxMessage``,
``RetryRequest`` or ``ScoringRecord``; ``documents.structure(doc, Entry)`` reads one back. Attribute names are
camelCase (``datePhoneConfirmed``), times ISO-8601 UTC with milliseconds. A store's own documents are trusted
and read without validation; a retry request, which also arrives from a queue, is checked.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cattrs import Converter

from entrycore.audit import AuditRecord
from entrycore.draws.allocation import Mechanism, Rules
from entrycore.draws.model import BeaconRound, Cancellation, Draw, DrawStatus, MarketUnits, Reveal
from entrycore.model import AssignedCode, Entry, FraudResult, Origin, Referrer, Review
from entrycore.outbox import OutboxMessage, RetryRequest
from entrycore.scoring import ScoringRecord
from entrycore.timefmt import iso, parse_iso, parse_iso_opt
from entrywire.names import register_camel


def scoring_document(record: ScoringRecord) -> dict[str, Any]:
    """API.md §4's scoring record (``name`` nested, ``marketIds``, codes as objects), without the entry's block."""
    return {
        "userId": record.user_id,
        "campaignId": record.campaign_id,
        "name": {"first": record.first_name, "last": record.last_name},
        "email": record.email,
        "phone": record.phone,
        "score": record.score,
        "randomScore": record.random_score,
        "verdict": record.verdict,
        "locale": record.locale,
        "marketIds": list(record.markets),
        "codes": [{"code": code, "codeConfigId": config} for code, config in record.codes],
        "tags": dict(record.tags),
    }


def scoring_record(doc: Mapping[str, Any]) -> ScoringRecord:
    """The record of a stored scoring document (API.md's shape and the entry's ``blocked``)."""
    name = doc.get("name") or {}
    return ScoringRecord(
        campaign_id=doc["campaignId"],
        user_id=doc["userId"],
        phone=doc["phone"],
        score=float(doc["score"]),
        random_score=float(doc["randomScore"]),
        verdict=bool(doc.get("verdict", True)),
        first_name=name.get("first"),
        last_name=name.get("last"),
        email=doc.get("email"),
        locale=doc.get("locale"),
        markets=tuple(doc.get("marketIds") or ()),
        codes=tuple((c["code"], c.get("codeConfigId")) for c in doc.get("codes") or ()),
        tags=dict(doc.get("tags") or {}),
        blocked=bool(doc.get("blocked", False)),
    )


def make_converter() -> Converter:
    # Trusted documents: no detailed validation, and strings as they are (cattrs would call str() on each).
    converter = Converter(unstruct_collection_overrides={tuple: list}, detailed_validation=False)
    # The optional scalars the hot paths read and write most, without cattrs' general Optional dispatch.
    converter.register_structure_hook(str, lambda text, _: text)
    for words in (Mechanism, DrawStatus):  # a StrEnum is a str: without its own hook, read as plain text above
        converter.register_structure_hook(words, lambda value, cls: cls(value))
    converter.register_structure_hook_func(lambda t: t == str | None, lambda text, _: text)
    converter.register_structure_hook_func(lambda t: t == tuple[str, ...], lambda texts, _: tuple(texts))
    converter.register_unstructure_hook_func(lambda t: t in (str | None, float | None), lambda value: value)
    converter.register_unstructure_hook(datetime, iso)
    converter.register_unstructure_hook_func(lambda t: t == datetime | None, iso)
    converter.register_structure_hook(datetime, lambda text, _: parse_iso(text))
    converter.register_structure_hook_func(lambda t: t == datetime | None, lambda text, _: parse_iso_opt(text))
    register_camel(converter, Referrer, Origin, FraudResult, Review, AssignedCode, Entry, AuditRecord, OutboxMessage)
    # A draw as the stores keep it (its secret seed too, which only the service reads before the reveal).
    register_camel(converter, Rules, MarketUnits, BeaconRound, Reveal, Cancellation, Draw)
    converter.register_unstructure_hook(RetryRequest, lambda request: request.body)
    converter.register_structure_hook(RetryRequest, lambda body, _: RetryRequest.read(body))
    converter.register_unstructure_hook(ScoringRecord, lambda r: {**scoring_document(r), "blocked": r.blocked})
    converter.register_structure_hook(ScoringRecord, lambda doc, _: scoring_record(doc))
    return converter


documents = make_converter()
