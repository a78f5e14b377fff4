"""The camera worker's memory bounds: a snapshot backlog keeps at most SNAPSHOT_FRAMES pictures as arrays
(the rest as one JPEG per frame, decoded again for redaction), and every event still gets its redacted
snapshot; the worker's frames come from its pool."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import supervision as sv

from safecity.config.models import CameraConfig
from safecity.pipeline import worker as worker_module
from safecity.pipeline.analyzer import Analysis
from safecity.pipeline.worker import SNAPSHOT_FRAMES, CameraWorker
from safecity.rules import RuleHit
from safecity.types import Event, EventKind, Frame

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
TUD = DATA / "video" / "tud-campus.mp4"
FRAMES_WITH_EVENTS = 6
EVENTS_PER_FRAME = 2


class HitsOnFirstFrames:
    """An analyzer whose first frames each raise two events; keeps a copy of those pictures."""

    def __init__(self) -> None:
        self.pictures: dict[int, np.ndarray] = {}

    def analyse(self, frame: Frame) -> Analysis:
        hits = []
        if frame.seq < FRAMES_WITH_EVENTS:
            self.pictures[frame.seq] = frame.image.copy()
            now = datetime.now(UTC)
            hits = [
                RuleHit(Event(frame.camera_id, EventKind.LINE_CROSSING, now, now, count=frame.seq), None)
                for _ in range(EVENTS_PER_FRAME)
            ]
        return Analysis(frame, sv.Detections.empty(), hits, detected=True)

    def reset_tracks(self) -> None:
        pass

    def finish(self) -> list[Event]:
        return []


class Media:
    def __init__(self) -> None:
        self.stored: dict[str, bytes] = {}

    def put(self, key: str, data: bytes) -> None:
        self.stored[key] = data


class Bus:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def publish(self, event: Event) -> None:
        self.events.append(event)


def test_a_snapshot_backlog_keeps_few_arrays_and_every_snapshot() -> None:
    if not TUD.is_file():
        pytest.skip(f"shared test data not found: {TUD.resolve()}")
    analyzer, media, bus = HitsOnFirstFrames(), Media(), Bus()
    release = threading.Event()
    redacted: list[tuple[int, np.ndarray]] = []

    def slow_redact(image: np.ndarray, result: Analysis, key: str) -> np.ndarray:
        release.wait(30)  # redaction is slow: the events of the next frames pile up behind it
        redacted.append((result.frame.seq, image.copy()))
        return image

    camera = CameraConfig(id="cam", source=str(TUD))
    worker = CameraWorker(camera, analyzer, bus, media, pace=False, redact=slow_redact)  # type: ignore[arg-type]
    worker.start()
    deadline = time.monotonic() + 60
    # one frame past the last with events: the analysis thread has queued all of their events by then
    while worker.metrics.frames_analysed <= FRAMES_WITH_EVENTS and time.monotonic() < deadline:
        time.sleep(0.02)
    # the first frame is in redaction and holds its slot, the second waits as an array, the rest as JPEG
    assert worker.snapshots_as_jpeg == FRAMES_WITH_EVENTS - SNAPSHOT_FRAMES
    release.set()
    worker.join(60)
    assert worker.done and worker.metrics.error is None
    assert len(bus.events) == FRAMES_WITH_EVENTS * EVENTS_PER_FRAME
    assert all(e.snapshot in media.stored for e in bus.events)  # no event lost its picture
    assert len(redacted) == FRAMES_WITH_EVENTS * EVENTS_PER_FRAME  # and each was redacted
    for seq, image in redacted:  # from the array, or from its JPEG (quality 95): the same picture
        original = analyzer.pictures[seq]
        assert image.shape == original.shape
        assert np.abs(image.astype(np.int16) - original).mean() < 3.0
    for _ in range(SNAPSHOT_FRAMES):  # every array slot was given back
        assert worker._snapshot_frames.acquire(blocking=False)
    # frames came from the worker's pool: a few buffers for the whole file
    assert worker.pool.stats.allocated <= worker_module.POOL_SIZE
    assert worker.pool.stats.reused > 0
