"""The outbox relay with fakes: order per entry, retries with backoff, nothing lost (SPEC PUB-002, PUB-006)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

import attrs

from entrycore.errors import DeliveryFailed
from entrycore.outbox import EVENT, RECEIPT, OutboxMessage, RetryRequest, receipt, retry
from entrycore.usecases.relay import Relay
from tests.fakes import FakeClock, FakeEntryStore, FakeRetryQueue
from tests.unit.conftest import World


@attrs.define
class FlakySink:
    fail_ids: set[str] = attrs.field(factory=set)
    down: bool = False
    published: list[str] = attrs.field(factory=list)
    calls: int = 0

    def publish(self, events: Sequence[OutboxMessage]) -> dict[str, str]:
        self.calls += 1
        if self.down:
            raise DeliveryFailed("down")
        failed = {e.id: "refused" for e in events if e.id in self.fail_ids}
        self.published += [e.id for e in events if e.id not in self.fail_ids]
        return failed


@attrs.define
class FlakySender:
    down: bool = False
    sent: list[Mapping[str, Any]] = attrs.field(factory=list)
    tries: int = 0

    def send(self, receipt: Mapping[str, Any]) -> None:
        self.tries += 1
        if self.down:
            raise DeliveryFailed("down")
        self.sent.append(receipt)


def event(store: FakeEntryStore, clock: FakeClock, user: str, n: int) -> OutboxMessage:
    message = OutboxMessage(f"{user}-{n}", EVENT, "c1", user, f"c1:{user}", {"n": n}, clock.now())
    store._enqueue([message])
    return message


def relay(store: FakeEntryStore, clock: FakeClock, sink: FlakySink, sender: FlakySender) -> Relay:
    return Relay(
        outbox=store,
        events=sink,
        receipts=sender,
        retries=FakeRetryQueue(),
        clock=clock,
        owner="r1",
        jitter=lambda: 1.0,
    )


def test_PUB_002_delivers_in_commit_order_and_empties_the_backlog() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(), FlakySender()
    for n in range(3):
        for user in ("a", "b"):
            event(store, clock, user, n)
    report = relay(store, clock, sink, sender).run_once()
    assert report.delivered == 6
    assert [i for i in sink.published if i.startswith("a")] == ["a-0", "a-1", "a-2"]
    assert store.outbox_status().backlog == 0 and store.outbox_status().last_delivered_at == clock.now()


def test_PUB_002_a_failed_event_holds_back_its_entry_only_and_is_retried_with_backoff() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(fail_ids={"a-0"}), FlakySender()
    for n in range(2):
        event(store, clock, "a", n)
        event(store, clock, "b", n)
    r = relay(store, clock, sink, sender)
    report = r.run_once()
    assert sink.published == ["b-0", "b-1"] and report.retried == 2
    assert r.run_once().claimed == 0  # not due yet (backoff 0.5 s)
    sink.fail_ids.clear()
    clock.advance(seconds=1)
    r.run_once()
    assert sink.published == ["b-0", "b-1", "a-0", "a-1"]
    assert store.outbox_status().backlog == 0


def test_PUB_002_outage_loses_nothing() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(down=True), FlakySender(down=True)
    world = World(entries=store, clock=clock)
    world.add_campaign()
    entries = []
    for i in range(20):
        entry, _ = world.register(
            f"u{i}", {"email": "a@example.com", "phone": f"+1212555{i:04d}", "first_name": "A", "market": "nyc"}
        )
        entries.append(entry)  # each registration wrote its entry.created event and its receipt
    r = relay(store, clock, sink, sender)
    for _ in range(5):
        r.run_once()
        clock.advance(minutes=10)
    assert sender.sent == [] and store.outbox_status().backlog == 40
    sink.down = sender.down = False
    assert r.drain() == 40
    assert len(sender.sent) == 20 and len(sink.published) == 20
    assert store.outbox_status().backlog == 0


def test_backoff_grows_exponentially_up_to_a_cap() -> None:
    r = relay(FakeEntryStore(), FakeClock(), FlakySink(), FlakySender())
    delays = [r._backoff(a).total_seconds() for a in range(12)]
    assert delays[:3] == [0.5, 1.0, 2.0] and delays[-1] == 300.0
    assert all(b >= a for a, b in itertools.pairwise(delays))


def test_receipt_shape_has_the_idempotency_key() -> None:
    world = World()
    world.add_campaign()
    entry, _ = world.register()
    message = receipt(entry, "m1", entry.date_created)
    assert set(message.body) == {"kind", "idempotencyKey", "campaignId", "userId", "email", "locale"}
    assert message.body["kind"] == "receipt"  # offer notices share the channel (API.md §6)
    assert message.partition_key == "c1:+12125550123"
    assert timedelta(0) == message.created_at - entry.date_created


def test_PUB_005_retry_messages_go_to_the_retry_queue_and_wait_while_it_is_down() -> None:
    store, clock = FakeEntryStore(), FakeClock()
    queue = FakeRetryQueue(down=True)
    world = World(entries=store, clock=clock)
    world.add_campaign()
    entry, _ = world.register()
    store._enqueue([retry(entry, "r-1", clock.now())])
    r = Relay(outbox=store, events=FlakySink(), receipts=FlakySender(), retries=queue, clock=clock, owner="r1")
    r.run_once()
    assert queue.queued == {} and store.outbox_status().backlog == 1
    queue.down = False
    clock.advance(minutes=10)
    r.drain()
    assert list(queue.queued.values()) == [RetryRequest("c1", "u1")]


def test_a_polling_relay_goes_again_at_once_only_after_a_batch_of_a_tenth_that_went_out() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(), FlakySender()
    pacer = attrs.evolve(relay(store, clock, sink, sender), batch=20)
    for user in "abcdefghijkl":
        event(store, clock, user, 0)
    shared = attrs.evolve(pacer, batch=10).run_once()  # e.g. a share of a backlog split between relays
    assert (shared.delivered, pacer.keep_going(shared)) == (10, True)  # more may be waiting: no pause
    trickle = pacer.run_once()
    assert (trickle.delivered, pacer.keep_going(trickle)) == (2, True)  # 2 = a tenth of 20: still goes
    assert not pacer.keep_going(pacer.run_once())  # idle: waits
    event(store, clock, "m", 0)
    assert not pacer.keep_going(pacer.run_once())  # one message: drained, wait and batch up
    sink.down = True
    for user in "nopq":
        event(store, clock, user, 0)
    failed = pacer.run_once()
    assert (failed.claimed, failed.delivered, pacer.keep_going(failed)) == (4, 0, False)  # sink down: back off


@attrs.define
class BuggySink:
    """A sink with a bug on one message: it raises something other than DeliveryFailed for it."""

    bad: str
    published: list[str] = attrs.field(factory=list)

    def publish(self, events: Sequence[OutboxMessage]) -> dict[str, str]:
        if any(e.id == self.bad for e in events):
            raise UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed")
        self.published += [e.id for e in events]
        return {}


def test_PUB_002_a_refused_message_fails_alone_is_retried_then_parked_and_holds_back_only_its_entry() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(fail_ids={"a-0"}), FlakySender()
    for n in range(2):
        event(store, clock, "a", n)
        event(store, clock, "b", n)
    r = attrs.evolve(relay(store, clock, sink, sender), max_attempts=3)
    first = r.run_once()
    assert sink.published == ["b-0", "b-1"] and (first.delivered, first.retried, first.parked) == (2, 2, 0)
    for _ in range(2):
        clock.advance(minutes=10)
        r.run_once()
    status = store.outbox_status()
    assert (status.dead_letters, status.backlog) == (1, 1)  # a-0 parked; a-1 waits behind it
    (dead,) = store.dead_letters(10)
    assert (dead.message.id, dead.message.attempts, dead.error, dead.held_back) == ("a-0", 3, "refused", 1)
    event(store, clock, "b", 2)
    clock.advance(days=365)
    r.run_once()
    assert sink.published == ["b-0", "b-1", "b-2"]  # other entries go on; a-1 stays behind a-0
    sink.fail_ids.clear()
    assert store.requeue_dead_letters(None, clock.now()) == 1
    assert r.drain() == 2 and sink.published[-2:] == ["a-0", "a-1"]
    assert store.outbox_status().backlog == store.outbox_status().dead_letters == 0


def test_PUB_002_a_sink_down_as_a_whole_never_parks_a_message() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(down=True), FlakySender(down=True)
    event(store, clock, "a", 0)
    store._enqueue([OutboxMessage("a-r", RECEIPT, "c1", "a", "c1:a", {"email": "a@example.com"}, clock.now())])
    r = attrs.evolve(relay(store, clock, sink, sender), max_attempts=2)
    for _ in range(20):
        assert r.run_once().parked == 0
        clock.advance(minutes=1)
    assert store.outbox_status().dead_letters == 0 and store.pending[0].attempts == 0
    sink.down = sender.down = False
    assert r.drain() == 2


def test_PUB_002_a_sink_down_is_asked_once_per_run_and_tried_again_within_30_seconds() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(), FlakySender(down=True)
    for user in "abcde":
        store._enqueue([OutboxMessage(f"{user}-r", RECEIPT, "c1", user, "k", {"u": user}, clock.now())])
    r = relay(store, clock, sink, sender)
    for _ in range(10):
        r.run_once()
        clock.advance(seconds=30)
    assert sender.tries == 10  # one receipt tried per run while the service is down, not all five
    assert store.outbox_status().backlog == 5


def test_PUB_002_a_sink_bug_on_one_event_isolates_it() -> None:
    store, clock, sender = FakeEntryStore(), FakeClock(), FlakySender()
    sink = BuggySink(bad="b-0")
    for user in "abc":
        event(store, clock, user, 0)
    r = Relay(outbox=store, events=sink, receipts=sender, retries=FakeRetryQueue(), clock=clock, owner="r1")
    report = r.run_once()
    assert sink.published == ["a-0", "c-0"] and (report.delivered, report.retried) == (2, 1)
    assert "UnicodeEncodeError" in (store.pending[0].error or "")


def test_PUB_002_a_sink_that_fails_part_way_keeps_what_landed() -> None:
    store, clock, sender = FakeEntryStore(), FakeClock(), FlakySender()

    class PartWay:
        def publish(self, events: Sequence[OutboxMessage]) -> dict[str, str]:
            raise DeliveryFailed("stream gone", delivered=[events[0].id], refused={events[1].id: "too large"})

    for user in "abc":
        event(store, clock, user, 0)
    r = Relay(outbox=store, events=PartWay(), receipts=sender, retries=FakeRetryQueue(), clock=clock, owner="r1")
    report = r.run_once()
    assert [m.id for m in store.delivered_messages] == ["a-0"] and report.retried == 2
    attempts = {p.message.id: (p.attempts, p.error) for p in store.pending}
    assert attempts == {"b-0": (1, "too large"), "c-0": (0, "stream gone")}


def test_PUB_002_an_event_stream_outage_never_delays_a_receipt_and_a_dead_email_service_never_delays_events() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(down=True), FlakySender()
    for user in "ab":
        event(store, clock, user, 0)
        store._enqueue([OutboxMessage(f"{user}-r", RECEIPT, "c1", user, "k", {"u": user}, clock.now())])
        event(store, clock, user, 1)
    r = relay(store, clock, sink, sender)
    r.run_once()
    assert [s["u"] for s in sender.sent] == ["a", "b"] and sink.published == []  # receipts went at once
    sink.down, sender.down = False, True
    for user in "cd":
        store._enqueue([OutboxMessage(f"{user}-r", RECEIPT, "c1", user, "k", {"u": user}, clock.now())])
        event(store, clock, user, 0)
    clock.advance(seconds=1)
    r.run_once()
    assert sorted(sink.published) == ["a-0", "a-1", "b-0", "b-1", "c-0", "d-0"]  # events despite the email outage
    assert [p.message.id for p in store.pending] == ["c-r", "d-r"]


def test_a_sink_that_is_back_gets_every_waiting_message_at_once_not_after_each_ones_backoff() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(down=True), FlakySender()
    for n in range(30):
        event(store, clock, f"u{n}", 0)
    r = relay(store, clock, sink, sender)
    for _ in range(20):  # a long outage: probes every few seconds at most, nothing counted
        r.run_once()
        clock.advance(seconds=6)
        event(store, clock, f"late{clock.now().second}", 0)
    assert store.outbox_status().dead_letters == 0 and all(p.attempts == 0 for p in store.pending)
    sink.down = False
    clock.advance(seconds=6)  # the next probe is due
    total = r.drain()
    assert total == len(sink.published) == 50 and store.outbox_status().backlog == 0  # no message waited on


def test_a_down_sink_is_probed_at_most_every_five_seconds() -> None:
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(down=True), FlakySender()
    r = relay(store, clock, sink, sender)
    for second in range(60):  # a registration a second, a relay run every 0.2 s
        event(store, clock, f"u{second}", 0)
        for _ in range(5):
            r.run_once()
            clock.advance(seconds=0.2)
    assert 10 <= sink.calls <= 20  # about one probe per 5 s once backed off, not one per run (300)


def test_PUB_002_a_long_event_outage_under_load_never_starves_the_receipts() -> None:
    """A backlog of waiting events is not claimed again at every probe: receipts keep flowing all along."""
    store, clock, sink, sender = FakeEntryStore(), FakeClock(), FlakySink(down=True), FlakySender()
    r = attrs.evolve(relay(store, clock, sink, sender), batch=50)
    for second in range(120):  # two minutes of outage, 20 registrations a second (an event and a receipt each)
        for n in range(20):
            user = f"u{second}-{n}"
            event(store, clock, user, 0)
            store._enqueue([OutboxMessage(f"{user}-r", RECEIPT, "c1", user, "k", {"u": user}, clock.now())])
        for _ in range(5):
            while r.keep_going(r.run_once()):
                pass
            clock.advance(seconds=0.2)
        assert len(sender.sent) == 20 * (second + 1), f"receipts fell behind at second {second}"
    assert sink.calls <= 120 / 5 * 2 + 5  # about one probe per 5 s
    sink.down = False
    clock.advance(seconds=6)
    r.drain()
    assert len(sink.published) == 2400 and store.outbox_status().backlog == 0


def test_a_stopping_relay_sends_nothing_more_and_releases_the_rest_of_its_batch() -> None:
    """API.md §6: after a clean stop the relay's claimed messages are delivered or released — none waits out its
    lease (here the stop comes while the first of three receipts is being sent)."""
    store, clock = FakeEntryStore(), FakeClock()
    for user in ("a", "b", "c"):
        message = OutboxMessage(f"r-{user}", RECEIPT, "c1", user, f"c1:{user}", {"userId": user}, clock.now())
        store._enqueue([message])
    stopping = []

    @attrs.define
    class StopsAfterOne(FlakySender):
        def send(self, receipt: Mapping[str, Any]) -> None:
            super().send(receipt)
            stopping.append(True)  # SIGTERM arrives while this email goes out

    sender = StopsAfterOne()
    stopped = attrs.evolve(relay(store, clock, FlakySink(), sender), stopping=lambda: bool(stopping))
    report = stopped.run_once()
    assert (report.claimed, report.delivered) == (3, 1) and len(sender.sent) == 1
    # the other two are free at once: another relay (the next start) takes them without waiting for a lease
    again = relay(store, clock, FlakySink(), FlakySender())
    assert again.run_once().delivered == 2
