"""MQTT out: a bus consumer that publishes events to a broker, in the spirit of Frigate's topics.

Topics (`<p>` is `mqtt.topic_prefix`, default `safecity`; levels taken from ids and direction names have
`/`, `+` and `#` replaced by `_`):

| topic | payload | retained |
|---|---|---|
| `<p>/available` | `online` / `offline` (last will: `offline` when the connection dies) | yes |
| `<p>/events` | every event as JSON (the bus codec: id, camera_id, kind, start, end, ...) | no |
| `<p>/<camera>/<kind>` | the same JSON, per camera and kind (`line_crossing`, `crowding`, ...) | no |
| `<p>/<camera>/<line>/<direction>/<label>/count` | running count of that class across the line | yes |
| `<p>/<camera>/<line>/<direction>/count` | running count over all classes of that line and direction | yes |
| `<p>/<camera>/<zone>/occupancy` | tracks inside the zone (only zones with `enter_exit_events`) | yes |

Counts are the camera worker's own running counts, carried in each `line_crossing` event; they start
again from zero when a camera's analysis restarts (a new process, or a failover to another worker).
The all-classes count is the sum of the latest per-class counts; at connect the publisher reads the
retained per-class counts back from the broker, so a restart of the publisher does not forget classes.
Run one MQTT publisher per deployment (bus durable name `mqtt`): occupancy is kept in its memory.

Delivery: QoS `mqtt.qos` (default 1). While the broker is unreachable the handler raises, so the NATS
bus redelivers the event later (at-least-once); on the in-process bus the event is logged and skipped.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import uuid
from collections import defaultdict
from typing import Any

from safecity.bus.codec import event_to_dict
from safecity.bus.config import MqttConfig
from safecity.types import Event, EventKind

log = logging.getLogger(__name__)
CONNECT_TIMEOUT_S = 10.0
_BAD = str.maketrans({"/": "_", "+": "_", "#": "_"})


def level(value: str) -> str:
    """One topic level from a free-form name (ids, direction names)."""
    return value.translate(_BAD) or "_"


class MqttPublisher:
    """Bus handler: `bus.subscribe(MqttPublisher(cfg), durable="mqtt")`."""

    def __init__(self, cfg: MqttConfig) -> None:
        try:
            import paho.mqtt.client as paho
        except ImportError as exc:  # pragma: no cover - depends on the installation
            raise ImportError("mqtt.enabled needs paho-mqtt: pip install 'safecity[scaleout]'") from exc
        self.cfg = cfg
        self.prefix = cfg.topic_prefix.rstrip("/")
        self.available_topic = f"{self.prefix}/available"
        self._lock = threading.Lock()
        self._label_counts: dict[tuple[str, str, str], dict[str, int]] = defaultdict(dict)
        self._occupants: dict[tuple[str, str], set[int]] = defaultdict(set)
        self._connected = threading.Event()
        self.published = 0
        client_id = cfg.client_id or f"safecity-{uuid.uuid4().hex[:12]}"
        self.client: Any = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id)
        self._configure(self.client)
        try:
            self.client.connect(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        except OSError as exc:
            raise ConnectionError(
                f"cannot connect to the MQTT broker at {cfg.host}:{cfg.port}: {exc}"
            ) from exc
        self.client.loop_start()
        if not self._connected.wait(CONNECT_TIMEOUT_S):
            self.client.loop_stop()
            raise ConnectionError(f"MQTT broker at {cfg.host}:{cfg.port} did not accept the connection")

    def _configure(self, client: Any) -> None:
        cfg = self.cfg
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls is not None:
            client.tls_set(
                ca_certs=cfg.tls.ca_certs,
                certfile=cfg.tls.certfile,
                keyfile=cfg.tls.keyfile,
                cert_reqs=ssl.CERT_REQUIRED,
            )
            client.tls_insecure_set(cfg.tls.insecure)
        client.will_set(self.available_topic, "offline", qos=1, retain=True)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_retained_count

    def _on_connect(self, client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            log.error("MQTT broker refused the connection: %s", reason)
            return
        client.subscribe(f"{self.prefix}/+/+/+/+/count", qos=1)  # read back retained per-class counts
        client.publish(self.available_topic, "online", qos=1, retain=True)
        self._connected.set()
        log.info("MQTT connected to %s:%d", self.cfg.host, self.cfg.port)

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self._connected.clear()
        log.warning("MQTT disconnected: %s", reason)

    def _on_retained_count(self, _client: Any, _userdata: Any, msg: Any) -> None:
        # only messages stored on the broker arrive with the retain flag; our own live ones do not
        if not msg.retain:
            return
        parts = msg.topic.split("/")[-6:]
        try:
            value = int(msg.payload)
        except ValueError:
            return
        key = (parts[1], parts[2], parts[3])
        with self._lock:
            self._label_counts[key].setdefault(parts[4], value)

    def messages(self, event: Event) -> list[tuple[str, str, bool]]:
        """(topic, payload, retain) for `event`; updates the running counts and occupancy."""
        payload = json.dumps(event_to_dict(event), separators=(",", ":"))
        cam = level(event.camera_id)
        out = [
            (f"{self.prefix}/events", payload, False),
            (f"{self.prefix}/{cam}/{event.kind.value}", payload, False),
        ]
        if (
            event.kind == EventKind.LINE_CROSSING
            and event.line_id
            and event.direction
            and event.count is not None
        ):
            base = f"{self.prefix}/{cam}/{level(event.line_id)}/{level(event.direction)}"
            label = level(event.label or "object")
            with self._lock:
                counts = self._label_counts[(cam, level(event.line_id), level(event.direction))]
                counts[label] = event.count
                total = sum(counts.values())
            out += [(f"{base}/{label}/count", str(event.count), True), (f"{base}/count", str(total), True)]
        elif (
            event.kind in (EventKind.ZONE_ENTER, EventKind.ZONE_EXIT)
            and event.zone_id
            and event.track_id is not None
        ):
            with self._lock:
                inside = self._occupants[(cam, event.zone_id)]
                if event.kind == EventKind.ZONE_ENTER:
                    inside.add(event.track_id)
                else:
                    inside.discard(event.track_id)
                occupancy = len(inside)
            out.append((f"{self.prefix}/{cam}/{level(event.zone_id)}/occupancy", str(occupancy), True))
        return out

    def __call__(self, event: Event) -> None:
        if not self._connected.is_set():
            raise ConnectionError("MQTT broker not connected; the event will be delivered again")
        for topic, payload, retain in self.messages(event):
            info = self.client.publish(topic, payload, qos=self.cfg.qos, retain=retain)
            if info.rc != 0:
                raise ConnectionError(f"MQTT publish to {topic} failed (rc={info.rc})")
        self.published += 1

    def close(self, timeout: float = 5.0) -> None:
        """Say `offline` (retained), flush, disconnect."""
        if self._connected.is_set():
            info = self.client.publish(self.available_topic, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError) as exc:
                log.warning("MQTT offline message not sent: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()
