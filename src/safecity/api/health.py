"""Camera health: what each worker is doing, a camera that goes dark, and the Prometheus collector.

Statuses: `starting` (running, no frame yet), `ok`, `dark` (running but no frame for
`api.camera_dark_after_s`), `error` (the source or the analysis gave up), `stopped` (the worker ended:
a file that is not looped). `CameraStatusMonitor` polls them and publishes a `camera_status` live message
on every change:

    {"type": "camera_status", "data": {"camera_id": "gate-1", "status": "dark", "previous": "ok",
     "last_frame_at": "2025-...Z" | null, "seconds_since_frame": 12.4 | null, "error": null,
     "at": "2025-...Z"}}
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from safecity.app import App
from safecity.pipeline.worker import CameraWorker

Status = Literal["starting", "ok", "dark", "error", "stopped"]
STATUSES: tuple[Status, ...] = ("starting", "ok", "dark", "error", "stopped")
POLL_S = 1.0


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


@dataclass(frozen=True, slots=True)
class CameraHealth:
    camera_id: str
    status: Status
    running: bool
    analysed_fps: float
    frames_analysed: int
    frames_dropped: int
    events: int
    detector_latency_ms: float
    detector_runs: int
    detector_seconds: float
    reconnects: int
    last_frame_ts: float | None
    seconds_since_frame: float | None
    error: str | None
    last_error: str | None = None  # the source's last failure (open, connection, decode), while not ok

    @property
    def last_frame_at(self) -> str | None:
        return _iso(self.last_frame_ts)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["last_frame_at"] = self.last_frame_at
        return out


def _status(worker: CameraWorker, since_frame: float | None, dark_after_s: float) -> Status:
    m = worker.metrics
    if m.error:
        return "error"
    if worker.done or not m.running:
        return "stopped" if worker.done else "starting"
    if since_frame is None:
        return "starting"
    return "dark" if since_frame > dark_after_s else "ok"


def camera_health(
    worker: CameraWorker, started_at: float | None, dark_after_s: float, now: float | None = None
) -> CameraHealth:
    """A point-in-time reading of one worker (thread-safe: it only reads counters)."""
    now = time.time() if now is None else now
    m, stats, times = worker.metrics, worker.source.stats, worker.analyzer.times
    last = stats.last_frame_wall
    since = now - last if last is not None else None
    status = _status(worker, since, dark_after_s)
    if status == "starting" and started_at is not None and now - started_at > dark_after_s:
        status = "dark"  # never delivered a frame within the grace period
    return CameraHealth(
        camera_id=worker.camera.id,
        status=status,
        running=m.running and not worker.done,
        analysed_fps=round(m.analysed_fps, 3),
        frames_analysed=m.frames_analysed,
        frames_dropped=m.frames_dropped + stats.frames_dropped,
        events=m.events,
        detector_latency_ms=round(times.last_detect_ms, 3),
        detector_runs=times.detector_runs,
        detector_seconds=times.detect_s,
        reconnects=stats.reconnects,
        last_frame_ts=last,
        seconds_since_frame=None if since is None else round(since, 3),
        error=m.error,
        last_error=None if status == "ok" else stats.last_error,
    )


def node_health(node: App, now: float | None = None) -> list[CameraHealth]:
    dark_after = node.settings.api.camera_dark_after_s
    return [
        camera_health(w, node.started_at.get(cid), dark_after, now)
        for cid, w in sorted(dict(node.workers).items())
    ]


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
                "error": h.error,
                "last_error": h.last_error,
                "at": _iso(time.time() if now is None else now),
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
