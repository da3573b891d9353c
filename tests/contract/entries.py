"""Entries for the contract suite: complete, with every optional part, millisecond UTC timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import attrs

from entrycore.model import AssignedCode, Entry, FraudResult, Origin, Referrer, Review

T0 = datetime(2026, 11, 27, 12, 0, 0, 123000, tzinfo=UTC)


def an_entry(
    campaign_id: str = "c1",
    user_id: str = "u1",
    *,
    code: str | None = None,
    phone: str | None = "+12125550123",
    confirmed: bool = False,
    created: datetime = T0,
    version: int = 1,
    **changes: Any,
) -> Entry:
    """A plain entry; ``code`` defaults to one derived from the key, so entries differ unless told."""
    return Entry(
        campaign_id=campaign_id,
        user_id=user_id,
        fields={"email": "ana@example.com", "phone": phone, "market": "nyc", "optional_markets": ["bos"]},
        markets=("nyc", "bos"),
        locale="en-US",
        code=code or f"{campaign_id}-{user_id}".upper(),
        link=None,
        date_created=created,
        date_updated=created,
        email="ana@example.com",
        phone=phone,
        phone_confirmed=confirmed,
        date_phone_confirmed=created if confirmed else None,
        version=version,
        **changes,
    )


def a_full_entry() -> Entry:
    """An entry using every part of the model, to prove the stores keep all of it."""
    later = T0 + timedelta(minutes=1, milliseconds=250)
    return attrs.evolve(
        an_entry(confirmed=True),
        fields={
            "email": "ana@example.com",
            "phone": "+12125550123",
            "first_name": "Ana",
            "market": "nyc",
            "optional_markets": ["bos", "phl"],
            "tickets": 2,
            "allow_marketing": False,
            "why": "ñandú ✓",
            "genres": ["rock"],
            "score_hint": 0.25,
        },
        markets=("nyc", "bos", "phl"),
        link="https://share.example/C1-U1",
        first_name="Ana",
        last_name="Lee",
        referrer=Referrer(code="ZZ12AB", user_id="u0"),
        date_updated=later,
        date_receipt=later,
        codes=(
            AssignedCode(
                code="PRESALE1",
                code_config_id="cfg-1",
                start=T0 + timedelta(days=1),
                end=T0 + timedelta(days=2),
                reveal_code=T0 + timedelta(hours=20),
                assigned_at=later,
            ),
            AssignedCode(code="PRESALE2", code_config_id=None, start=T0, end=None, reveal_code=None, assigned_at=later),
        ),
        review=Review(is_blocked=True, date=later),
        attributes={
            "invite": "vip-001",
            "linkedAccount": "SPOTIFY",
            "card": {"brand": "VISA", "issuer": "CHASE"},
        },
        fraud=FraudResult(score=0.12, status="scored"),
        fanscore=0.87,
        origin=Origin(ip="203.0.113.7", user_agent="Mozilla/5.0"),
        version=3,
    )
