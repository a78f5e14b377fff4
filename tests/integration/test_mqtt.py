"""MQTT out against the real Mosquitto broker, read back by a real paho subscriber."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import paho.mqtt.client as paho
import pytest

from safecity.bus.config import MqttConfig
from safecity.bus.memory import MemoryBus
from safecity.bus.mqtt import MqttPublisher
from safecity.types import Event, EventKind

pytestmark = pytest.mark.mqtt
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


class Subscriber:
    """A plain paho client that records (topic, payload, retain) of everything under a prefix."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: list[tuple[str, str, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *_: self._subscribed.set()
        self.client.connect(host, port)
        self.client.subscribe(topic, qos=1)
        self.client.loop_start()
        assert self._subscribed.wait(5), "subscription not acknowledged"

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self._lock:
            self.messages.append((msg.topic, msg.payload.decode(), bool(msg.retain)))

    def last(self, topic: str) -> str | None:
        with self._lock:
            values = [p for t, p, _ in self.messages if t == topic]
        return values[-1] if values else None

    def on(self, topic: str) -> list[str]:
        with self._lock:
            return [p for t, p, _ in self.messages if t == topic]

    def wait_for(self, topic: str, payload: str | None = None, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.last(topic)
            if last is not None and (payload is None or last == payload):
                return
            time.sleep(0.02)
        raise AssertionError(f"{topic} never became {payload!r}; got {self.last(topic)!r}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def prefix(mqtt_broker: tuple[str, int]) -> Iterator[str]:
    p = f"safecity-test-{uuid.uuid4().hex[:8]}"
    yield p
    # clear the retained messages this test left on the broker
    cleaner = Subscriber(*mqtt_broker, f"{p}/#")
    time.sleep(0.3)
    for topic, _, retain in list(cleaner.messages):
        if retain:
            cleaner.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)
    cleaner.close()


def crossing(label: str, direction: str, count: int, camera: str = "gate-1") -> Event:
    t = T0 + timedelta(seconds=count)
    return Event(
        camera_id=camera,
        kind=EventKind.LINE_CROSSING,
        start=t,
        end=t,
        label=label,
        track_id=count,
        line_id="door",
        direction=direction,
        count=count,
    )


def test_events_counts_and_availability(mqtt_broker: tuple[str, int], prefix: str) -> None:
    host, port = mqtt_broker
    sub = Subscriber(host, port, f"{prefix}/#")
    cfg = MqttConfig(enabled=True, host=host, port=port, topic_prefix=prefix)
    publisher = MqttPublisher(cfg)
    bus = MemoryBus()
    bus.subscribe(publisher, durable="mqtt")
    sub.wait_for(f"{prefix}/available", "online")
    events = [
        crossing("person", "entering", 1),
        crossing("person", "entering", 2),
        crossing("bicycle", "entering", 1),
        crossing("person", "leaving", 1),
    ]
    zone = [
        Event(camera_id="gate-1", kind=EventKind.ZONE_ENTER, start=T0, end=T0, zone_id="plaza", track_id=7),
        Event(camera_id="gate-1", kind=EventKind.ZONE_ENTER, start=T0, end=T0, zone_id="plaza", track_id=8),
        Event(camera_id="gate-1", kind=EventKind.ZONE_EXIT, start=T0, end=T0, zone_id="plaza", track_id=7),
    ]
    for e in events + zone:
        bus.publish(e)
    assert bus.drain(5)
    base = f"{prefix}/gate-1/door"
    sub.wait_for(f"{base}/entering/count", "3")  # 2 people + 1 bicycle
    sub.wait_for(f"{base}/entering/person/count", "2")
    sub.wait_for(f"{base}/entering/bicycle/count", "1")
    sub.wait_for(f"{base}/leaving/count", "1")
    sub.wait_for(f"{prefix}/gate-1/plaza/occupancy", "1")
    assert sub.on(f"{prefix}/gate-1/plaza/occupancy") == ["1", "2", "1"]
    everything = [json.loads(p) for p in sub.on(f"{prefix}/events")]
    assert [e["id"] for e in everything] == [e.id for e in events + zone]
    crossings = [json.loads(p) for p in sub.on(f"{prefix}/gate-1/line_crossing")]
    assert [c["id"] for c in crossings] == [e.id for e in events]
    assert crossings[0]["kind"] == "line_crossing" and crossings[0]["direction"] == "entering"
    bus.close()
    publisher.close()
    sub.wait_for(f"{prefix}/available", "offline")
    sub.close()

    # a late subscriber (Home Assistant starting) finds the retained state
    late = Subscriber(host, port, f"{prefix}/#")
    late.wait_for(f"{base}/entering/count", "3")
    late.wait_for(f"{prefix}/available", "offline")
    assert all(retain for _, _, retain in late.messages)
    late.close()


def test_restarted_publisher_keeps_the_other_classes_in_the_total(
    mqtt_broker: tuple[str, int], prefix: str
) -> None:
    host, port = mqtt_broker
    cfg = MqttConfig(enabled=True, host=host, port=port, topic_prefix=prefix)
    first = MqttPublisher(cfg)
    first(crossing("person", "in", 4))
    first(crossing("car", "in", 2))
    first.close()
    second = MqttPublisher(cfg)  # reads the retained per-class counts back at connect
    time.sleep(0.5)
    second(crossing("person", "in", 5))
    second.close()
    sub = Subscriber(host, port, f"{prefix}/#")
    sub.wait_for(f"{prefix}/gate-1/door/in/count", "7")  # 5 people + 2 cars, not 5
    sub.close()


def test_broker_down_raises_so_the_bus_redelivers(mqtt_broker: tuple[str, int], prefix: str) -> None:
    host, port = mqtt_broker
    publisher = MqttPublisher(MqttConfig(enabled=True, host=host, port=port, topic_prefix=prefix))
    publisher.client.disconnect()  # as if the broker went away
    time.sleep(0.3)
    with pytest.raises(ConnectionError, match="not connected"):
        publisher(crossing("person", "in", 1))
    publisher.client.loop_stop()
    with pytest.raises(ConnectionError, match="cannot connect"):
        MqttPublisher(MqttConfig(enabled=True, host="127.0.0.1", port=1, topic_prefix=prefix))
