"""NatsBus against the real NATS JetStream server: dedup, durable and live consumers, redelivery.

Each test gets its own stream (and subject prefix) and deletes it afterwards.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from safecity.bus.config import BusConfig
from safecity.bus.nats import NatsBus, subject_for
from safecity.bus.nats_loop import LoopThread, connect
from safecity.types import Event, EventKind

pytestmark = pytest.mark.nats
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


def make_events(n: int, camera: str = "cam-1") -> list[Event]:
    return [
        Event(
            camera_id=camera,
            kind=EventKind.LINE_CROSSING,
            start=T0 + timedelta(seconds=i),
            end=T0 + timedelta(seconds=i),
            label="person",
            line_id="door",
            direction="in",
            count=i + 1,
        )
        for i in range(n)
    ]


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class Collector:
    def __init__(self) -> None:
        self.ids: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, event: Event) -> None:
        with self._lock:
            self.ids.append(event.id)

    def __len__(self) -> int:
        return len(self.ids)


@pytest.fixture
def bus_cfg(nats_url: str) -> Iterator[BusConfig]:
    tag = uuid.uuid4().hex[:10]
    cfg = BusConfig(
        type="nats", url=nats_url, stream=f"TEST_{tag}", subject_prefix=f"test{tag}.events", max_age_s=600
    )
    yield cfg
    delete_streams(nats_url, [cfg.stream])


def delete_streams(url: str, names: list[str]) -> None:
    """Clean up on a loop thread of our own (another test may leave a loop running in this thread)."""
    loop = LoopThread("cleanup")
    try:
        nc = loop.call(connect(url, "cleanup", 5), 10)
        for name in names:
            with contextlib.suppress(Exception):
                loop.call(nc.jetstream().delete_stream(name), 5)
        loop.call(nc.close(), 5)
    finally:
        loop.stop()


@pytest.fixture
def bus(bus_cfg: BusConfig) -> Iterator[NatsBus]:
    b = NatsBus(bus_cfg, name="test-publisher")
    yield b
    b.close()


def test_events_go_to_camera_and_kind_subjects(bus: NatsBus) -> None:
    event = make_events(1, camera="gate.1")[0]
    assert subject_for(bus.cfg.subject_prefix, event) == f"{bus.cfg.subject_prefix}.gate_1.line_crossing"
    bus.publish(event)
    assert bus.drain(10)
    info = bus.stream_info()
    assert info.config.subjects == [f"{bus.cfg.subject_prefix}.>"]
    assert str(getattr(info.config.storage, "value", info.config.storage)) == "file"
    assert info.config.duplicate_window == bus.cfg.duplicate_window_s
    assert info.state.messages == 1


def test_duplicate_publishes_are_stored_once(bus: NatsBus) -> None:
    events = make_events(300)
    for e in events + events[:100]:  # the first 100 twice, as a retry after a lost ack would
        bus.publish(e)
    assert bus.drain(20)
    assert (bus.published, bus.duplicates, bus.failed, bus.dropped) == (300, 100, 0, 0)
    assert bus.stream_info().state.messages == 300
    got = Collector()
    bus.subscribe(got, durable="store")
    wait_until(lambda: len(got) >= 300, 20, "300 events")
    time.sleep(0.3)
    assert sorted(got.ids) == sorted(e.id for e in events)


def test_durable_consumers_each_get_everything_and_replay_what_they_missed(bus: NatsBus) -> None:
    events = make_events(200)
    for e in events[:100]:
        bus.publish(e)
    assert bus.drain(10)
    store, alerts = Collector(), Collector()
    bus.subscribe(store, durable="store")  # subscribes after 100 events: a durable replays them
    bus.subscribe(alerts, durable="alerts")
    for e in events[100:]:
        bus.publish(e)
    wait_until(lambda: len(store) >= 200 and len(alerts) >= 200, 20, "both durables")
    assert sorted(store.ids) == sorted(alerts.ids) == sorted(e.id for e in events)


def test_one_durable_shared_by_two_processes_splits_the_work(bus_cfg: BusConfig, bus: NatsBus) -> None:
    a, b = NatsBus(bus_cfg, name="writer-a"), NatsBus(bus_cfg, name="writer-b")
    try:
        got_a, got_b = Collector(), Collector()
        a.subscribe(got_a, durable="store")
        b.subscribe(got_b, durable="store")
        events = make_events(2000)
        for e in events:
            bus.publish(e)
        wait_until(lambda: len(set(got_a.ids) | set(got_b.ids)) >= 2000, 30, "2000 events")
    finally:
        a.close()
        b.close()
    assert set(got_a.ids) | set(got_b.ids) == {e.id for e in events}
    assert got_a.ids and got_b.ids  # both writers took a part


def test_every_api_node_receives_every_event(bus_cfg: BusConfig, bus: NatsBus) -> None:
    """Issue item 4 at the bus level: two nodes, two connections, live (non-durable) subscriptions."""
    node1, node2 = NatsBus(bus_cfg, name="api-1"), NatsBus(bus_cfg, name="api-2")
    try:
        old = make_events(50)
        for e in old:
            bus.publish(e)
        assert bus.drain(10)
        live1, live2 = Collector(), Collector()
        node1.subscribe(live1)
        node2.subscribe(live2)
        new = make_events(500, camera="cam-2")
        for e in new:
            bus.publish(e)
        wait_until(lambda: len(live1) >= 500 and len(live2) >= 500, 20, "both nodes")
        time.sleep(0.3)
    finally:
        node1.close()
        node2.close()
    want = [e.id for e in new]  # live subscribers see what comes after they subscribed, in order
    assert live1.ids == want and live2.ids == want


def test_a_failing_handler_gets_the_event_again(bus_cfg: BusConfig, bus: NatsBus) -> None:
    cfg = bus_cfg.model_copy(update={"ack_wait_s": 5.0})
    consumer = NatsBus(cfg, name="flaky")
    attempts: Counter[str] = Counter()
    done: list[str] = []

    def flaky(event: Event) -> None:
        attempts[event.id] += 1
        if attempts[event.id] < 3:
            raise RuntimeError("database briefly away")
        done.append(event.id)

    try:
        consumer.subscribe(flaky, durable="flaky")
        events = make_events(5)
        for e in events:
            bus.publish(e)
        wait_until(lambda: len(done) == 5, 30, "redelivered events")
        info = consumer.consumer_info("flaky")
        wait_until(lambda: consumer.consumer_info("flaky").num_ack_pending == 0, 10, "acks")
    finally:
        consumer.close()
    assert sorted(done) == sorted(e.id for e in events)
    assert all(attempts[e.id] == 3 for e in events)
    assert consumer.handler_errors == 10 and consumer.delivered == 5
    assert info.num_redelivered >= 0


def test_outbox_full_drops_and_counts(bus_cfg: BusConfig) -> None:
    small = NatsBus(bus_cfg.model_copy(update={"outbox_size": 1, "max_in_flight": 1}), name="tiny")
    try:
        for e in make_events(2000):
            small.publish(e)
        assert small.drain(20)
        assert small.dropped > 0
        assert small.published + small.dropped == 2000
    finally:
        small.close()


def test_unreachable_server_fails_fast() -> None:
    cfg = BusConfig(type="nats", url="nats://127.0.0.1:1", connect_timeout_s=1)
    with pytest.raises(ConnectionError, match="cannot connect to NATS"):
        NatsBus(cfg)


def test_a_batch_that_fails_is_retried_event_by_event(bus_cfg: BusConfig, bus: NatsBus) -> None:
    """A `BatchHandler` (the store writer) gets whole batches; one bad event does not block the rest."""
    events = make_events(300)
    poison = events[123].id
    batches: list[int] = []
    singles: Counter[str] = Counter()

    class Writer:
        def handle_batch(self, batch: Sequence[Event]) -> None:
            if any(e.id == poison for e in batch):
                raise ValueError("constraint violated")
            batches.append(len(batch))

        def __call__(self, event: Event) -> None:
            singles[event.id] += 1
            if event.id == poison:
                raise ValueError("constraint violated")

    for e in events:
        bus.publish(e)
    assert bus.drain(10)
    consumer = NatsBus(bus_cfg.model_copy(update={"max_deliver": 2, "fetch_batch": 50}), name="writer")
    try:
        consumer.subscribe(Writer(), durable="store")
        wait_until(
            lambda: sum(batches) + sum(n for k, n in singles.items() if k != poison) >= 299, 20, "events"
        )
        wait_until(lambda: singles[poison] == 2, 20, "the second and last delivery of the bad event")
        time.sleep(0.5)
    finally:
        consumer.close()
    assert max(batches) > 1  # the rest went in batches
    assert sum(batches) + len(singles) - 1 == 299  # every good event exactly once, one way or the other
    assert all(n == 1 for k, n in singles.items() if k != poison)
    assert singles[poison] == 2  # max_deliver: then the server stops offering it
