"""A camera's health, read from its runtime: `starting` (running, no frame yet), `ok`, `dark` (running
but no frame for `api.camera_dark_after_s`), `error` (the source or the analysis gave up), `stopped` (the
worker ended: a file that is not looped). The API's status page, live `camera_status` messages, the
Prometheus collector and the camera-dark alert all read this one definition.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from safecity.pipeline.worker import CameraWorker

Status = Literal["starting", "ok", "dark", "error", "stopped"]
STATUSES: tuple[Status, ...] = ("starting", "ok", "dark", "error", "stopped")


def iso_time(ts: float | None) -> str | None:
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
        return iso_time(self.last_frame_ts)

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
