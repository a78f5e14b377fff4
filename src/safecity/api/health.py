"""Camera health on the API: live `camera_status` messages and the Prometheus collector.

The statuses are defined by the camera runtime (`safecity.runtime.health`). `CameraStatusMonitor` polls
them and publishes a `camera_status` live message on every change:

    {"type": "camera_status", "data": {"camera_id": "gate-1", "status": "dark", "previous": "ok",
     "last_frame_at": "2025-...Z" | null, "seconds_since_frame": 12.4 | null, "error": null,
     "at": "2025-...Z"}}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from safecity.app import App
from safecity.runtime.health import STATUSES, CameraHealth, Status, camera_health, iso_time

GENERIC_SOURCE_ERROR = "the source or the analysis failed (details in the server log)"
# why a camera is dark, in words that name no file, host or service (the details are in the server log)
SOURCE_ERROR_KINDS = (
    (("refused",), "connection refused"),
    (("timed out", "timeout"), "no answer (timed out)"),
    (("401", "403", "unauthorized", "authentication", "forbidden"), "the camera refused the credentials"),
    (("no such file", "not found", "404"), "no such stream"),
    (("invalid data", "decode", "codec"), "the stream could not be decoded"),
    (("unreachable", "resolve", "name or service"), "address unreachable"),
    (("ended", "eof", "end of file"), "the stream ended"),
)


def public_source_error(text: str | None) -> str | None:
    """The kind of a source failure, safe to show to operators (never the raw text: it may name a path)."""
    if not text:
        return None
    lowered = text.lower()
    kind = next(
        (k for needles, k in SOURCE_ERROR_KINDS if any(n in lowered for n in needles)), "source failed"
    )
    return f"{kind} (details in the server log)"


def public_health(h: CameraHealth) -> dict[str, Any]:
    """`h` as the API and the live push show it: error texts replaced by what is safe to show."""
    data = h.to_dict()
    data["error"] = GENERIC_SOURCE_ERROR if h.error else None
    data["last_error"] = public_source_error(h.last_error)
    return data


__all__ = [
    "GENERIC_SOURCE_ERROR",
    "STATUSES",
    "CameraHealth",
    "CameraStatusMonitor",
    "NodeCollector",
    "Status",
    "camera_health",
    "public_health",
    "public_source_error",
]  # fmt: skip
POLL_S = 1.0


def node_health(node: App, now: float | None = None) -> list[CameraHealth]:
    return node.health(now)


class CameraStatusMonitor:
    """Publishes `camera_status` live messages when a camera's status changes (see module docstring)."""

    def __init__(self, node: App) -> None:
        self.node = node
        self.last: dict[str, Status] = {}

    def poll(self, now: float | None = None) -> list[dict[str, Any]]:
        """Compare with the previous poll; broadcast and return the changes."""
        changes = []
        seen = set()
        for h in node_health(self.node, now):
            seen.add(h.camera_id)
            previous = self.last.get(h.camera_id)
            self.last[h.camera_id] = h.status
            if previous == h.status or (previous is None and h.status in ("starting", "ok")):
                continue
            data = {
                "camera_id": h.camera_id,
                "status": h.status,
                "previous": previous,
                "last_frame_at": h.last_frame_at,
                "seconds_since_frame": h.seconds_since_frame,
                "error": GENERIC_SOURCE_ERROR if h.error else None,  # the details are in the log
                "last_error": public_source_error(h.last_error),
                "at": iso_time(time.time() if now is None else now),
            }
            self.node.live.broadcast("camera_status", data, h.camera_id)
            changes.append(data)
        for gone in set(self.last) - seen:
            del self.last[gone]
        return changes

    async def run(self, interval_s: float = POLL_S) -> None:
        log = logging.getLogger(__name__)
        while True:
            try:
                self.poll()
            except Exception:  # a bad reading must not end the monitor
                log.exception("camera status poll failed")
            await asyncio.sleep(interval_s)


class NodeCollector(Collector):
    """Prometheus metrics of one node, read at scrape time (no background updating, no global state)."""

    def __init__(self, node: App) -> None:
        self.node = node

    def collect(self) -> Iterator[Metric]:
        cams = node_health(self.node)
        yield from self._camera_metrics(cams)
        yield from self._node_metrics()

    def _camera_metrics(self, cams: list[CameraHealth]) -> Iterator[Metric]:
        def gauge(name: str, doc: str) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"safecity_camera_{name}", doc, labels=["camera"])

        def counter(name: str, doc: str) -> CounterMetricFamily:
            return CounterMetricFamily(f"safecity_camera_{name}", doc, labels=["camera"])

        fps = gauge("analysed_fps", "Frames analysed per second (last 2 s window)")
        analysed = counter("frames_analysed", "Frames analysed")
        dropped = counter("frames_dropped", "Frames dropped because analysis fell behind")
        events = counter("events", "Events published")
        latency = gauge("detector_latency_seconds", "Duration of the last detector run")
        det_s = counter("detector_seconds", "Time spent in the detector")
        det_runs = counter("detector_runs", "Detector runs (frames not skipped by the motion gate)")
        reconnects = counter("reconnects", "Reconnect attempts of the video source")
        last = gauge("last_frame_timestamp_seconds", "Wall-clock time of the last decoded frame")
        up = gauge("up", "1 when the camera delivers frames (status ok), else 0")
        status = GaugeMetricFamily(
            "safecity_camera_status", "1 for the camera's current status", labels=["camera", "status"]
        )
        for h in cams:
            c = [h.camera_id]
            fps.add_metric(c, h.analysed_fps)
            analysed.add_metric(c, h.frames_analysed)
            dropped.add_metric(c, h.frames_dropped)
            events.add_metric(c, h.events)
            latency.add_metric(c, h.detector_latency_ms / 1000)
            det_s.add_metric(c, h.detector_seconds)
            det_runs.add_metric(c, h.detector_runs)
            reconnects.add_metric(c, h.reconnects)
            if h.last_frame_ts is not None:
                last.add_metric(c, h.last_frame_ts)
            up.add_metric(c, 1.0 if h.status == "ok" else 0.0)
            for s in STATUSES:
                status.add_metric([h.camera_id, s], 1.0 if h.status == s else 0.0)
        yield from (fps, analysed, dropped, events, latency, det_s, det_runs, reconnects, last, up, status)

    def _node_metrics(self) -> Iterator[Metric]:
        bus = self.node.bus
        for attr, doc in (("published", "Events accepted by the bus"), ("dropped", "Events the bus dropped")):
            value = getattr(bus, attr, None)
            if isinstance(value, int):
                m = CounterMetricFamily(f"safecity_bus_{attr}", doc)
                m.add_metric([], value)
                yield m
        stored = CounterMetricFamily("safecity_store_events_written", "Events written to the store")
        stored.add_metric([], self.node.writer.written)
        failed = CounterMetricFamily("safecity_store_events_failed", "Events the store could not write")
        failed.add_metric([], self.node.writer.failed)
        clients = GaugeMetricFamily("safecity_live_clients", "Connected WebSocket clients")
        clients.add_metric([], self.node.live.clients)
        slow = CounterMetricFamily("safecity_live_dropped_clients", "WebSocket clients dropped as too slow")
        slow.add_metric([], self.node.live.dropped_clients)
        yield from (stored, failed, clients, slow)
