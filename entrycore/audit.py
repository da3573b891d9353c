"""The audit trail of admin operations (SPEC OPS-002): who, what, when, parameters without personal data, counts."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs


@attrs.frozen
class AuditRecord:
    """One admin write: ``actor`` is the token's subject, ``action`` names the operation (``scoring.upload``,
    ``invites.add``…), ``parameters`` what was asked (criteria, tag names, modes: never phones, emails or
    tokens), ``counts`` what it answered."""

    at: datetime
    actor: str
    action: str
    campaign_id: str | None
    parameters: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    counts: Mapping[str, int] = attrs.field(factory=dict, hash=False)
