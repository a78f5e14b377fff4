"""MemoryBus: ordered delivery on its own thread, isolation of failing handlers, bounded queue that holds
publishers back instead of dropping events."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from safecity.bus import Bus, MemoryBus
from safecity.types import Event, EventKind

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def ev(i: int = 0) -> Event:
    return Event(camera_id="cam1", kind=EventKind.LINE_CROSSING, start=T0, end=T0, track_id=i)


@pytest.fixture
def bus() -> Iterator[MemoryBus]:
    b = MemoryBus(maxsize=1000)
    yield b
    b.close()


def test_is_a_bus(bus: MemoryBus) -> None:
    assert isinstance(bus, Bus)


def test_delivers_in_order_to_every_subscriber(bus: MemoryBus) -> None:
    got_a: list[Event] = []
    got_b: list[Event] = []
    bus.subscribe(got_a.append)
    bus.subscribe(got_b.append)
    events = [ev(i) for i in range(200)]
    for e in events:
        bus.publish(e)
    assert bus.drain(timeout=5)
    assert got_a == events and got_b == events
    assert (bus.published, bus.dropped, bus.delivered) == (200, 0, 400)


def test_handlers_run_off_the_publisher_thread(bus: MemoryBus) -> None:
    threads: list[threading.Thread] = []
    bus.subscribe(lambda _e: threads.append(threading.current_thread()))
    bus.publish(ev())
    assert bus.drain(timeout=5)
    assert threads and threads[0] is not threading.current_thread()


def test_unsubscribe_stops_delivery_and_is_idempotent(bus: MemoryBus) -> None:
    got: list[Event] = []
    unsubscribe = bus.subscribe(got.append)
    bus.publish(ev(1))
    assert bus.drain(timeout=5)
    unsubscribe()
    unsubscribe()
    bus.publish(ev(2))
    assert bus.drain(timeout=5)
    assert [e.track_id for e in got] == [1]


def test_failing_handler_is_logged_and_isolated(bus: MemoryBus, caplog: pytest.LogCaptureFixture) -> None:
    got: list[Event] = []

    def broken(_e: Event) -> None:
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(got.append)
    with caplog.at_level(logging.ERROR, logger="safecity.bus.memory"):
        bus.publish(ev(1))
        bus.publish(ev(2))
        assert bus.drain(timeout=5)
    assert [e.track_id for e in got] == [1, 2]  # the second handler and the worker kept going
    assert bus.handler_errors == 2
    assert sum("boom" in (r.exc_text or "") for r in caplog.records) == 2


def test_full_queue_holds_the_publisher_back_and_drops_nothing() -> None:
    bus = MemoryBus(maxsize=2)
    release = threading.Event()
    entered = threading.Event()
    got: list[Event] = []

    def slow(e: Event) -> None:
        entered.set()
        release.wait(5)
        got.append(e)

    bus.subscribe(slow)
    publisher_done = threading.Event()

    def publish_rest() -> None:
        for i in range(1, 6):  # 2 fit in the queue; the 3rd waits for room (backpressure)
            bus.publish(ev(i))
        publisher_done.set()

    try:
        bus.publish(ev(0))  # taken by the worker, which then blocks in `slow`
        assert entered.wait(5)
        threading.Thread(target=publish_rest, daemon=True).start()
        assert not publisher_done.wait(0.5)  # held back while the consumer is stuck
        assert bus.blocked == 1 and bus.published == 3
        with pytest.raises(queue.Full):  # a bounded wait says so; it never drops silently
            bus.publish(ev(99), timeout=0.1)
        release.set()
        assert publisher_done.wait(5)
    finally:
        release.set()
        assert bus.drain(timeout=5)
        bus.close()
    assert [e.track_id for e in got] == [0, 1, 2, 3, 4, 5]
    assert (bus.published, bus.dropped) == (6, 0)


def test_close_delivers_what_is_queued_then_refuses(bus: MemoryBus) -> None:
    got: list[Event] = []
    bus.subscribe(got.append)
    for i in range(50):
        bus.publish(ev(i))
    bus.close()
    bus.close()  # idempotent
    assert len(got) == 50
    with pytest.raises(RuntimeError, match="closed"):
        bus.publish(ev())


def test_concurrent_publishers_lose_nothing(bus: MemoryBus) -> None:
    got: list[Event] = []
    bus.subscribe(got.append)

    def produce(n: int) -> None:
        for _ in range(n):
            bus.publish(ev())

    threads = [threading.Thread(target=produce, args=(100,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bus.drain(timeout=5)
    assert len(got) == 800 and len({e.id for e in got}) == 800
    assert bus.dropped == 0


def test_subscribe_during_delivery_is_safe(bus: MemoryBus) -> None:
    late: list[Event] = []
    subscribed = threading.Event()

    def first(_e: Event) -> None:
        if not subscribed.is_set():
            subscribed.set()
            bus.subscribe(late.append)

    bus.subscribe(first)
    bus.publish(ev(1))
    assert bus.drain(timeout=5)
    bus.publish(ev(2))
    assert bus.drain(timeout=5)
    assert [e.track_id for e in late] == [2]


def test_invalid_maxsize() -> None:
    with pytest.raises(ValueError):
        MemoryBus(maxsize=0)
