"""The API fuzzed from its own OpenAPI document (schemathesis), on the real wiring (SQLite): every operation, with a
fan's token, an administrator's and a forged one. No answer is a 5xx, every answer conforms to its documented
status, headers and schema (4xx in the error envelope), and ``Allow`` matches the document. A bounded run here
(``ENTRY_FUZZ_EXAMPLES``, default 10 per operation); ``python3 run.py fuzz`` runs many more and prints the totals.
``schemathesis.toml`` (repository root): 413 is a right answer to a body past its limits (API.md §2); a
schema-valid request a campaign's own rules refuse (an unknown market, say) is no defect."""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import schemathesis
from hypothesis import HealthCheck, settings

from tests.http_app import make_api, make_token

EXAMPLES = int(os.environ.get("ENTRY_FUZZ_EXAMPLES", "10"))
API = make_api(Path(tempfile.mkdtemp(prefix="entry-fuzz-")))
schema = schemathesis.openapi.from_wsgi("/openapi.json", API.client.application)
TOKENS = {
    "fan": make_token("fuzz-fan"),
    "supreme": make_token("fuzz-admin", True),
    "forged": "eyJhbGciOiJub25lIn0.e30.",
}


CALLS: Counter[str] = Counter()  # operation -> requests made
STATUSES: Counter[int] = Counter()


def summary() -> str:
    """What was run (printed at the end by tests/integration/conftest.py; failures are pytest's own)."""
    statuses = ", ".join(f"{status}: {count}" for status, count in sorted(STATUSES.items()))
    return (
        f"fuzzing: {len(CALLS)} operations, {sum(CALLS.values())} requests ({EXAMPLES} examples per operation and "
        f"token, in each of schemathesis's phases); answers by status: {statuses}"
    )


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: Any) -> None:
    supreme = bool((case.operation.definition.raw or {}).get("x-supreme"))
    for token in (TOKENS["supreme" if supreme else "fan"], TOKENS["forged"]):
        answer = case.call_and_validate(headers={"Authorization": f"Bearer {token}"})
        CALLS[case.operation.label] += 1
        STATUSES[answer.status_code] += 1
