"""HttpxCampaignSource against a real loopback campaign-service: answers, failures, timeouts and the cache."""

from __future__ import annotations

import json
import operator
import threading
import time
from collections.abc import Iterator
from functools import partial

import httpx
import pytest

from adapters_http.clients import HttpxCampaignSource, http_timeout
from adapters_http.clients.cache import ExpiringCache
from entrycore.errors import DependencyUnavailable
from entrycore.model import Campaign
from entrywire.services import read_campaign
from tests.builders import campaign_doc
from tests.loopback import Answer, LoopbackServer, unused_url

pytestmark = pytest.mark.usefixtures("no_thread_leaks")

TIMEOUT = 0.3


@pytest.fixture
def source(loopback: LoopbackServer, http_client: httpx.Client) -> Iterator[HttpxCampaignSource]:
    """No caching, so every call reaches the server."""
    with HttpxCampaignSource(loopback.url, timeout=TIMEOUT, cache_seconds=0, client=http_client) as campaigns:
        yield campaigns


def unavailable(source: HttpxCampaignSource, campaign_id: str = "c1") -> DependencyUnavailable:
    started = time.monotonic()
    with pytest.raises(DependencyUnavailable) as caught:
        source.get(campaign_id)
    assert time.monotonic() - started < 2 * TIMEOUT
    assert type(caught.value) is DependencyUnavailable  # never an httpx exception
    assert "campaign-service" in caught.value.message
    assert caught.value.code == "DEPENDENCY_UNAVAILABLE"
    return caught.value


def test_a_campaign_is_read_with_the_shared_reading(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    loopback.json("/campaigns/c1", campaign_doc(extraKey="ignored"))
    assert source.get("c1") == read_campaign(campaign_doc())


def test_a_campaign_without_region_gets_the_default_region(loopback: LoopbackServer) -> None:
    loopback.json("/campaigns/c1", campaign_doc(region=None))
    with HttpxCampaignSource(loopback.url, cache_seconds=0, default_region="GB") as campaigns:
        campaign = campaigns.get("c1")
    assert campaign is not None
    assert campaign.region == "GB"


def test_404_is_an_unknown_campaign(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    assert source.get("nope") is None
    assert loopback.hits("/campaigns/nope") == 1


def test_the_list_keeps_the_service_order(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    loopback.json("/campaigns", {"campaigns": [campaign_doc(id="b"), campaign_doc(id="a")]})
    assert [c.id for c in source.list()] == ["b", "a"]


@pytest.mark.parametrize("body", [[], {"campaigns": {}}, {"campaigns": [{"id": "x"}]}, {}])
def test_a_malformed_list_is_unavailable(loopback: LoopbackServer, source: HttpxCampaignSource, body: object) -> None:
    loopback.json("/campaigns", body)
    with pytest.raises(DependencyUnavailable, match="campaign-service"):
        source.list()


def test_the_callers_authorization_is_forwarded(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    loopback.json("/campaigns/c1", campaign_doc())
    loopback.json("/campaigns", {"campaigns": []})
    source.get("c1", authorization="Bearer abc")
    source.list(authorization="Bearer def")
    source.get("c1")
    got = [r.headers.get("authorization") for r in loopback.requests]
    assert got == ["Bearer abc", "Bearer def", None]


@pytest.mark.parametrize(
    ("campaign_id", "path"),
    [("a/b c", "/campaigns/a%2Fb%20c"), ("..", "/campaigns/%2E%2E"), ("x?y#z", "/campaigns/x%3Fy%23z")],
)
def test_the_id_is_one_encoded_path_segment(
    loopback: LoopbackServer, source: HttpxCampaignSource, campaign_id: str, path: str
) -> None:
    assert source.get(campaign_id) is None
    assert [r.path for r in loopback.requests] == [path]


def test_an_empty_id_is_unknown_without_a_call(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    assert source.get("") is None
    assert loopback.requests == []


def test_a_server_slower_than_the_timeout_is_unavailable(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    loopback.json("/campaigns/c1", campaign_doc(), delay=5)
    assert "timed out" in unavailable(source).message


def test_a_body_trickling_past_the_timeout_is_unavailable(
    loopback: LoopbackServer, source: HttpxCampaignSource
) -> None:
    # Each byte arrives well within the read timeout; only the total deadline stops it.
    loopback.answer("/campaigns/c1", Answer(body=json.dumps(campaign_doc()).encode(), drip=0.02))
    assert "timed out" in unavailable(source).message


@pytest.mark.parametrize("status", [500, 503, 401, 302, 204])
def test_an_unexpected_status_is_unavailable(
    loopback: LoopbackServer, source: HttpxCampaignSource, status: int
) -> None:
    loopback.answer("/campaigns/c1", Answer(status=status, headers={"Location": "/campaigns/c2"}))
    loopback.json("/campaigns/c2", campaign_doc(id="c2"))
    assert f"HTTP {status}" in unavailable(source).message


def test_an_answer_that_is_not_json_is_unavailable(loopback: LoopbackServer, source: HttpxCampaignSource) -> None:
    loopback.garbage("/campaigns/c1")
    unavailable(source)


@pytest.mark.parametrize(
    "doc",
    [["a list"], "text", campaign_doc(status="LIVE"), campaign_doc(markets=None), campaign_doc(id="other")],
)
def test_a_document_of_the_wrong_shape_is_unavailable(
    loopback: LoopbackServer, source: HttpxCampaignSource, doc: object
) -> None:
    loopback.json("/campaigns/c1", doc)
    assert "malformed" in unavailable(source).message


def test_a_refused_connection_is_unavailable() -> None:
    with HttpxCampaignSource(unused_url(), timeout=TIMEOUT) as campaigns:
        assert "unreachable" in unavailable(campaigns).message


def test_a_campaign_is_cached_for_cache_seconds_for_every_caller(loopback: LoopbackServer) -> None:
    loopback.json("/campaigns/c1", campaign_doc())
    with HttpxCampaignSource(loopback.url, timeout=TIMEOUT, cache_seconds=0.3) as campaigns:
        first = campaigns.get("c1", authorization="Bearer fan-1")
        assert campaigns.get("c1", authorization="Bearer fan-2") == first
        assert loopback.hits("/campaigns/c1") == 1
        time.sleep(0.35)
        assert campaigns.get("c1") == first
        assert loopback.hits("/campaigns/c1") == 2


def test_an_unknown_campaign_is_cached_for_a_shorter_time(loopback: LoopbackServer) -> None:
    loopback.json("/campaigns/c1", campaign_doc())
    with HttpxCampaignSource(loopback.url, cache_seconds=5, unknown_cache_seconds=0.2) as campaigns:
        assert campaigns.get("new") is None
        assert campaigns.get("c1") is not None
        loopback.json("/campaigns/new", campaign_doc(id="new"))
        assert campaigns.get("new") is None  # still the cached 404
        time.sleep(0.25)
        assert campaigns.get("new") is not None
        assert campaigns.get("c1") is not None
        assert loopback.hits("/campaigns/new") == 2
        assert loopback.hits("/campaigns/c1") == 1


def test_failures_are_not_cached(loopback: LoopbackServer) -> None:
    loopback.fail("/campaigns/c1")
    with HttpxCampaignSource(loopback.url, timeout=TIMEOUT, cache_seconds=5) as campaigns:
        unavailable(campaigns)
        loopback.json("/campaigns/c1", campaign_doc())
        assert campaigns.get("c1") is not None


def test_concurrent_misses_of_one_campaign_make_one_call(loopback: LoopbackServer) -> None:
    loopback.json("/campaigns/c1", campaign_doc(), delay=0.2)
    results: list[Campaign | None] = []
    with HttpxCampaignSource(loopback.url, timeout=2.0, cache_seconds=5) as campaigns:
        threads = [threading.Thread(target=lambda: results.append(campaigns.get("c1"))) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(results) == 8
    assert all(r is not None and r.id == "c1" for r in results)
    assert loopback.hits("/campaigns/c1") == 1


def test_an_injected_client_is_used_and_left_open(loopback: LoopbackServer) -> None:
    loopback.json("/campaigns/c1", campaign_doc())
    with httpx.Client(headers={"X-Client": "injected"}) as client:
        HttpxCampaignSource(loopback.url, client=client).close()
        campaigns = HttpxCampaignSource(loopback.url, client=client)
        assert campaigns.get("c1") is not None
        campaigns.close()
        assert not client.is_closed
    assert loopback.requests[0].headers["x-client"] == "injected"


@pytest.mark.parametrize("base_url", ["ftp://host", "not a url", "http://host/api?x=1", "http:///campaigns"])
def test_a_bad_base_url_is_refused_at_construction(base_url: str) -> None:
    with pytest.raises(ValueError, match="campaign-service"):
        HttpxCampaignSource(base_url)


def test_a_base_url_with_a_path_and_trailing_slash(loopback: LoopbackServer) -> None:
    with HttpxCampaignSource(loopback.url + "/api/", cache_seconds=0) as campaigns:
        campaigns.get("c1")
    assert [r.path for r in loopback.requests] == ["/api/campaigns/c1"]


def test_timeouts_follow_pub_007() -> None:
    assert http_timeout(3.0) == httpx.Timeout(3.0, connect=1.0)
    assert http_timeout(0.5) == httpx.Timeout(0.5, connect=0.5)


def test_the_cache_stays_within_its_bound() -> None:
    cache: ExpiringCache[int, int] = ExpiringCache(max_entries=100)
    for key in range(1000):
        assert cache.get_or_load(key, partial(operator.mul, key, 2), lambda _: 60, wait=1) == key * 2
    assert len(cache) <= 100
    assert cache.get_or_load(999, lambda: -1, lambda _: 60, wait=1) == 1998  # the newest are kept
