"""Receipt senders and the JSONL sinks against real peers: a loopback email service, real files (PUB-006)."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from adapters_files.sinks import FileEventSink, FileReceiptSender
from adapters_http.clients import HttpxReceiptSender
from entrycore.errors import DeliveryFailed, MessageRejected
from entrycore.outbox import EVENT, OutboxMessage
from entrycore.timefmt import parse_iso
from tests.loopback import LoopbackServer, unused_url

RECEIPT = {
    "idempotencyKey": "c1:u1:2026-11-27T12:00:00.123Z",
    "campaignId": "c1",
    "userId": "u1",
    "email": "a@example.com",
    "locale": "en-US",
}


def test_httpx_receipt_sender_posts_json_with_idempotency_key(
    loopback: LoopbackServer, http_client: httpx.Client
) -> None:
    loopback.json("/receipts", {"ok": True}, status=202, method="POST")
    HttpxReceiptSender(f"{loopback.url}/receipts", client=http_client).send(RECEIPT)
    (request,) = loopback.requests_to("/receipts", method="POST")
    assert request.headers["idempotency-key"] == RECEIPT["idempotencyKey"]
    body = request.json()
    assert {k: body[k] for k in RECEIPT} == RECEIPT and parse_iso(body["sentAt"])


@pytest.mark.parametrize("status", [401, 403, 404, 408, 429, 500, 503])
def test_httpx_receipt_sender_failures_of_the_service_are_delivery_failures(
    loopback: LoopbackServer, http_client: httpx.Client, status: int
) -> None:
    loopback.fail("/receipts", status=status, method="POST")
    with pytest.raises(DeliveryFailed):
        HttpxReceiptSender(f"{loopback.url}/receipts", client=http_client).send(RECEIPT)


@pytest.mark.parametrize("status", [400, 413, 415, 422])
def test_httpx_receipt_sender_a_receipt_the_service_refuses_is_rejected_alone(
    loopback: LoopbackServer, http_client: httpx.Client, status: int
) -> None:
    loopback.fail("/receipts", status=status, method="POST")
    with pytest.raises(MessageRejected, match=str(status)):
        HttpxReceiptSender(f"{loopback.url}/receipts", client=http_client).send(RECEIPT)


def test_receipt_senders_reject_a_receipt_that_is_not_valid_unicode(
    loopback: LoopbackServer, http_client: httpx.Client, tmp_path: Path
) -> None:
    broken = {**RECEIPT, "email": "\ud800@example.com"}
    loopback.json("/receipts", {"ok": True}, status=202, method="POST")
    with pytest.raises(MessageRejected, match="UTF-8"):
        HttpxReceiptSender(f"{loopback.url}/receipts", client=http_client).send(broken)
    assert loopback.requests_to("/receipts", method="POST") == []
    sender = FileReceiptSender(tmp_path / "receipts.jsonl")
    with pytest.raises(MessageRejected, match="UTF-8"):
        sender.send(broken)
    sender.send(RECEIPT)
    assert [json.loads(line)["email"] for line in (tmp_path / "receipts.jsonl").read_text().splitlines()] == [
        RECEIPT["email"]
    ]


def test_httpx_receipt_sender_slow_or_down(loopback: LoopbackServer) -> None:
    loopback.json("/receipts", {}, method="POST", delay=2.0)
    sender = HttpxReceiptSender(f"{loopback.url}/receipts", timeout=0.3)
    started = time.monotonic()
    with pytest.raises(DeliveryFailed):
        sender.send(RECEIPT)
    assert time.monotonic() - started < 0.6
    sender.close()
    down = HttpxReceiptSender(unused_url())
    with pytest.raises(DeliveryFailed):
        down.send(RECEIPT)
    down.close()


def test_file_receipt_sender_writes_api_lines_privately(tmp_path: Path) -> None:
    path = tmp_path / "data" / "receipts.jsonl"
    sender = FileReceiptSender(path)
    sender.send(RECEIPT)
    sender.send({**RECEIPT, "userId": "u2"})
    sender.close()
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["userId"] for line in lines] == ["u1", "u2"]
    assert set(lines[0]) == {*RECEIPT, "sentAt"}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_file_event_sink_appends_event_bodies_from_several_writers(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    first, second = FileEventSink(path), FileEventSink(path)  # as two worker processes would
    message = OutboxMessage(
        "e1", EVENT, "c1", "u1", "c1:u1", {"eventId": "e1", "type": "entry.created"}, parse_iso("2026-11-27T12:00:00Z")
    )
    assert first.publish([message]) == {}
    second.publish([message, message])
    first.publish([message])
    first.close()
    second.close()
    assert [json.loads(line)["eventId"] for line in path.read_text().splitlines()] == ["e1"] * 4


def test_file_sinks_report_unwritable_paths(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(DeliveryFailed):
        FileReceiptSender(blocker / "receipts.jsonl").send(RECEIPT)


def test_file_event_sink_refuses_an_event_that_is_not_valid_unicode_and_writes_the_others(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    sink = FileEventSink(path)
    at = parse_iso("2026-11-27T12:00:00Z")
    good = [OutboxMessage(f"e{n}", EVENT, "c1", f"u{n}", f"c1:u{n}", {"eventId": f"e{n}"}, at) for n in (1, 3)]
    bad = OutboxMessage("e2", EVENT, "c1", "u2", "c1:u2", {"eventId": "e2", "name": "\ud800"}, at)
    refused = sink.publish([good[0], bad, good[1]])
    assert list(refused) == ["e2"] and "UTF-8" in refused["e2"]
    assert [json.loads(line)["eventId"] for line in path.read_text().splitlines()] == ["e1", "e3"]
    sink.close()


def test_a_receipt_key_with_control_characters_is_sent_percent_encoded(
    loopback: LoopbackServer, http_client: httpx.Client
) -> None:
    loopback.json("/receipts", {"ok": True}, status=202, method="POST")
    odd = {**RECEIPT, "idempotencyKey": "c1:evil\r\nX-Injected: 1:2026"}
    HttpxReceiptSender(f"{loopback.url}/receipts", client=http_client).send(odd)
    (request,) = loopback.requests_to("/receipts", method="POST")
    assert request.headers["idempotency-key"] == "c1:evil%0D%0AX-Injected:%201:2026"
    assert "x-injected" not in request.headers and request.json()["idempotencyKey"] == odd["idempotencyKey"]
