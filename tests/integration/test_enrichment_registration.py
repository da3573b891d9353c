"""Registrations with real httpx enrichment clients against loopback Nudetect and fanscore services: a
failing, slow or garbled source never fails or holds a registration, and queues one retry (PUB-003…007)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import httpx
import pytest

from adapters_files.sources import FileCampaignSource, FileUserSource
from adapters_http.clients import HttpxFanscoreSource, HttpxFraudCheck
from adapters_sqlite import SqliteEntryStore, open_sqlite
from entry_service.background import ThreadRunner
from entrycore.caller import Caller
from entrycore.model import Entry, FraudResult, Origin
from entrycore.outbox import RETRY, RetryRequest
from entrycore.system import RandomIds, SystemClock
from entrycore.usecases.enrichment import Enrichment
from entrycore.usecases.registrations import Registrations, Submission
from entrywire.documents import documents
from tests.builders import VALID_FIELDS, campaign_doc
from tests.loopback import Answer, LoopbackServer, unused_url

TIMEOUT = 0.5  # the bound asserted is 2 x this: generous enough for a loaded CI machine
NUDETECT = "/nudetect"
GRAPHQL = "/graphql"
SCORE = 412.0
FANSCORE = 0.87
SCORED = FraudResult(score=SCORE, status="scored")
UNKNOWN = FraudResult(score=None, status="unknown")
ORIGIN = Origin(ip="198.51.100.9", user_agent="FanApp/1.0")
CALLER = Caller("u1", authorization="Bearer fan-token", origin=ORIGIN)

# How a peer behaves; "refused" is no peer at all.
NORMAL, SLOW, ERROR, MALFORMED, REFUSED = "normal", "slow", "500", "malformed", "refused"
BEHAVIOURS = [NORMAL, SLOW, ERROR, MALFORMED, REFUSED]

NUDETECT_ANSWERS: dict[str, Answer] = {
    NORMAL: Answer(body=b'{"score": 412}'),
    SLOW: Answer(body=b'{"score": 412}', delay=2.0),
    ERROR: Answer(status=500, body=b'{"message": "boom"}'),
    MALFORMED: Answer(body=b'{"score": NaN}'),
}
FANSCORE_ANSWERS: dict[str, Answer] = {
    NORMAL: Answer(body=b'{"data": {"accountFanscore": {"rawScore": 0.87}}}'),
    SLOW: Answer(body=b'{"data": {"accountFanscore": {"rawScore": 0.87}}}', delay=2.0),
    ERROR: Answer(status=500, body=b'{"errors": [{"message": "boom"}]}'),
    MALFORMED: Answer(body=b'{"data": {"accountFanscore": {"rawScore": "high"}}}'),
}


@attrs.define
class Wiring:
    """The Registrations use case on the real embedded parts (a SQLite store, the file campaign and user
    sources in ``folder``), enriched by ``enrichment``."""

    enrichment: Enrichment
    folder: Path
    entries: SqliteEntryStore = attrs.field(init=False)
    registrations: Registrations = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "campaigns.json").write_text(json.dumps({"campaigns": [campaign_doc(id="c1")]}))
        (self.folder / "users.json").write_text(json.dumps({"users": []}))
        self.entries = SqliteEntryStore(self.folder / "entries.db")
        self.registrations = Registrations(
            campaigns=FileCampaignSource(self.folder / "campaigns.json", default_region="US"),
            users=FileUserSource(self.folder / "users.json"),
            entries=self.entries,
            invites=self.entries,
            clock=SystemClock(),
            ids=RandomIds(),
            enrichment=self.enrichment,
        )

    def register(self, **fields: object) -> tuple[Entry, bool, float]:
        """``(entry, is_new, seconds it took)``."""
        started = time.monotonic()
        registered = self.registrations.register(CALLER, "c1", Submission({**VALID_FIELDS, **fields}))
        return registered.entry, registered.is_new, time.monotonic() - started

    def stored(self) -> Entry:
        entry = self.entries.get("c1", "u1")
        assert entry is not None
        return entry

    def retries(self) -> list[RetryRequest]:
        """The retry requests pending in the store's outbox (looked at with a lease that ends at once)."""
        pending = open_sqlite(self.entries).outbox.claim(
            "inspector", 10_000, datetime.now(UTC) + timedelta(days=1), timedelta(0)
        )
        return [documents.structure(m.body, RetryRequest) for m in pending if m.kind == RETRY]


def script(loopback: LoopbackServer, nudetect: str, fanscore: str) -> tuple[str, str]:
    """Makes the Nudetect and fanscore peers behave as named; returns their URLs."""
    urls: list[str] = []
    for path, behaviour, answers in ((NUDETECT, nudetect, NUDETECT_ANSWERS), (GRAPHQL, fanscore, FANSCORE_ANSWERS)):
        if behaviour == REFUSED:
            urls.append(unused_url() + path)
        else:
            loopback.answer(path, answers[behaviour], method="POST")
            urls.append(loopback.url + path)
    return urls[0], urls[1]


def wired(loopback: LoopbackServer, client: httpx.Client, nudetect: str, fanscore: str, folder: Path) -> Wiring:
    """Registrations whose Nudetect and fanscore peers behave as named."""
    fraud_url, fanscore_url = script(loopback, nudetect, fanscore)
    enrichment = Enrichment(
        fraud=HttpxFraudCheck(fraud_url, timeout=TIMEOUT, client=client),
        fanscore=HttpxFanscoreSource(fanscore_url, timeout=TIMEOUT, client=client),
        runner=ThreadRunner(),  # as the composition root wires it: the fraud check beside the fanscore
    )
    return Wiring(enrichment, folder)


def expect(nudetect: str, fanscore: str) -> tuple[FraudResult, float | None, int]:
    """``(fraud, fanscore, retry requests)`` stored after one write with peers behaving as named."""
    fraud = SCORED if nudetect == NORMAL else UNKNOWN
    score = FANSCORE if fanscore == NORMAL else None
    return fraud, score, int(nudetect != NORMAL or fanscore != NORMAL)  # one retry whatever failed


def placements(loopback: LoopbackServer) -> list[str]:
    return [r.json()["placement"] for r in loopback.requests_to(NUDETECT, method="POST")]


@pytest.mark.parametrize("fanscore", BEHAVIOURS)
@pytest.mark.parametrize("nudetect", BEHAVIOURS)
def test_a_create_succeeds_in_time_whatever_the_sources_do(
    loopback: LoopbackServer, tmp_path: Path, http_client: httpx.Client, nudetect: str, fanscore: str
) -> None:
    wiring = wired(loopback, http_client, nudetect, fanscore, tmp_path)
    entry, is_new, took = wiring.register()
    assert is_new
    assert took < 2 * TIMEOUT  # both sources are asked at once: two slow ones cost one timeout
    fraud, score, retries = expect(nudetect, fanscore)
    assert (entry.fraud, entry.fanscore) == (fraud, score)
    assert (wiring.stored().fraud, wiring.stored().fanscore) == (fraud, score)
    assert wiring.retries() == [RetryRequest("c1", "u1")] * retries
    if nudetect != REFUSED:
        assert placements(loopback) == ["VerifiedFanSignUp"]


@pytest.mark.parametrize(
    ("nudetect", "fanscore"), [(NORMAL, NORMAL), (SLOW, SLOW), (ERROR, NORMAL), (NORMAL, MALFORMED)]
)
def test_an_update_is_enriched_as_an_edit(
    loopback: LoopbackServer, tmp_path: Path, http_client: httpx.Client, nudetect: str, fanscore: str
) -> None:
    wiring = wired(loopback, http_client, NORMAL, NORMAL, tmp_path)
    wiring.register()
    assert wiring.retries() == []
    script(loopback, nudetect, fanscore)  # the same peers now behave so
    entry, is_new, took = wiring.register(first_name="Anna")
    assert not is_new and entry.first_name == "Anna"
    assert took < 2 * TIMEOUT
    before = wiring.stored()
    fraud, score, retries = expect(nudetect, fanscore)
    if fanscore != NORMAL:  # a failed fanscore keeps the account's previous one; a failed fraud check is unknown
        score = before.fanscore
    assert (wiring.stored().fraud, wiring.stored().fanscore) == (fraud, score)
    assert wiring.retries() == [RetryRequest("c1", "u1")] * retries
    assert placements(loopback) == ["VerifiedFanSignUp", "VerifiedFanEdit"]


def test_the_peers_receive_the_origin_and_the_fans_authorization(
    loopback: LoopbackServer, tmp_path: Path, http_client: httpx.Client
) -> None:
    wired(loopback, http_client, NORMAL, NORMAL, tmp_path).register()
    (check,) = loopback.requests_to(NUDETECT, method="POST")
    body = check.json()
    assert (body["placement"], body["ip"], body["userAgent"]) == ("VerifiedFanSignUp", ORIGIN.ip, ORIGIN.user_agent)
    assert (body["entry"]["campaignId"], body["entry"]["userId"], body["entry"]["markets"]) == (
        "c1",
        "u1",
        ["nyc", "bos", "phl"],
    )
    (query,) = loopback.requests_to(GRAPHQL, method="POST")
    assert query.headers["authorization"] == CALLER.authorization
    assert query.json()["variables"] == {"userId": "u1"}


def test_an_account_without_fanscore_is_null_and_queues_nothing(
    loopback: LoopbackServer, tmp_path: Path, http_client: httpx.Client
) -> None:
    wiring = wired(loopback, http_client, NORMAL, NORMAL, tmp_path)
    loopback.json(GRAPHQL, {"data": {"accountFanscore": None}}, method="POST")
    entry, _, _ = wiring.register()
    assert (entry.fraud, entry.fanscore) == (SCORED, None)
    assert wiring.retries() == []


def test_sources_off_give_null_and_queue_nothing(loopback: LoopbackServer, tmp_path: Path) -> None:
    wiring = Wiring(Enrichment(fraud=None, fanscore=None), tmp_path)
    entry, _, _ = wiring.register()
    assert (entry.fraud, entry.fanscore) == (None, None)
    assert (wiring.stored().fraud, wiring.stored().fanscore) == (None, None)
    assert wiring.retries() == []
    assert loopback.requests == []


@pytest.mark.parametrize("behaviour", [SLOW, ERROR, MALFORMED, REFUSED])
@pytest.mark.parametrize("configured", ["fraud", "fanscore"])
def test_one_failing_source_with_the_other_off_queues_one_retry(
    loopback: LoopbackServer, tmp_path: Path, http_client: httpx.Client, configured: str, behaviour: str
) -> None:
    both = wired(loopback, http_client, behaviour, behaviour, tmp_path / "both").enrichment
    wiring = Wiring(attrs.evolve(both, **{"fanscore" if configured == "fraud" else "fraud": None}), tmp_path)
    entry, _, took = wiring.register()
    assert took < 2 * TIMEOUT
    assert (entry.fraud, entry.fanscore) == ((UNKNOWN if configured == "fraud" else None), None)
    assert wiring.retries() == [RetryRequest("c1", "u1")]
