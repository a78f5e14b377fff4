"""One camera's analysis chain without I/O: motion gate -> detector -> tracker -> rules.

Kept free of threads, sources and storage so the accuracy benchmark and the tests drive exactly the code
that runs in production, frame by frame.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import supervision as sv

from safecity.analytics.grid import OccupancySampler
from safecity.config.models import CameraConfig, Settings
from safecity.rules import CameraRules, RuleHit
from safecity.types import Event, Frame
from safecity.vision.detector import Detector, RegionDetector
from safecity.vision.motion import MotionGate
from safecity.vision.regions import mask_boxes, plan_regions
from safecity.vision.tracker import Tracker


@dataclass(slots=True)
class StageTimes:
    """Cumulative seconds per stage and counts, for metrics and the throughput benchmark."""

    frames: int = 0
    detector_runs: int = 0
    motion_skips: int = 0
    gate_s: float = 0.0
    detect_s: float = 0.0
    track_s: float = 0.0
    rules_s: float = 0.0
    last_detect_ms: float = 0.0
    region_runs: int = 0  # detector runs on motion regions (motion.regions)
    full_frames: int = 0  # whole frames while motion.regions is on (periodic refresh, or regions too large)


@dataclass(frozen=True, slots=True)
class Analysis:
    frame: Frame
    tracks: sv.Detections
    hits: list[RuleHit]
    detected: bool


@dataclass
class FrameAnalyzer:
    camera: CameraConfig
    settings: Settings
    detector: Detector
    times: StageTimes = field(default_factory=StageTimes)

    def __post_init__(self) -> None:
        m = self.settings.motion
        self.gate = MotionGate(
            pixel_threshold=m.pixel_threshold,
            min_changed_fraction=m.min_changed_fraction,
            max_skip_s=m.max_skip_s,
            enabled=m.enabled,
        )
        self.tracker = Tracker(self.settings.tracker, fps=self.camera.fps)
        self.rules = CameraRules(self.camera, self.settings.camera_classes(self.camera))
        grid = self.settings.analytics.grid
        self.occupancy = (
            OccupancySampler(self.camera.id, grid, self.settings.camera_classes(self.camera))
            if grid.enabled
            else None
        )
        self._last_detections = sv.Detections.empty()
        self._last_full_pts = float("-inf")

    def analyse(self, frame: Frame) -> Analysis:
        t0 = time.perf_counter()
        detect = self.gate.should_detect(frame.image, frame.pts)
        t1 = time.perf_counter()
        if detect:
            self._last_detections = self._detect(frame)
            self.times.detector_runs += 1
        else:
            # still scene: the last detections still describe it, so tracks stay alive without inference
            self.times.motion_skips += 1
        t2 = time.perf_counter()
        tracks = self.tracker.update(self._last_detections, frame.pts)
        t3 = time.perf_counter()
        hits = self.rules.update(tracks, frame.ts)
        if self.occupancy is not None:  # aggregated occupancy grid, one sample per period (analytics)
            samples = self.occupancy.update(tracks, frame.ts, frame.width, frame.height)
            hits.extend(RuleHit(event, None) for event in samples)
        t4 = time.perf_counter()
        self._account(t0, t1, t2, t3, t4, detect)
        return Analysis(frame, tracks, hits, detect)

    def _detect(self, frame: Frame) -> sv.Detections:
        """The whole frame, or only the regions that moved or hold a tracked object (motion.regions)."""
        m = self.settings.motion
        mask = self.gate.last_mask
        # the whole frame at least every max_skip_s finds objects that neither moved nor were tracked
        refresh = frame.pts - self._last_full_pts >= m.max_skip_s
        if not m.regions or mask is None or refresh or not isinstance(self.detector, RegionDetector):
            self._last_full_pts = frame.pts
            self.times.full_frames += m.regions
            return self.detector.detect(frame.image)
        shape = (frame.height, frame.width)
        boxes = np.concatenate([mask_boxes(mask, shape), self._last_detections.xyxy.astype(np.float32)])
        size = self.settings.detector_for(self.camera.id).input_size
        regions = plan_regions(boxes, shape, size, margin=m.region_margin, max_area=m.region_max_area)
        if regions is None:
            self.times.full_frames += 1
            self._last_full_pts = frame.pts
            return self.detector.detect(frame.image)
        self.times.region_runs += len(regions)
        return self.detector.detect_regions(frame.image, regions)

    def _account(self, t0: float, t1: float, t2: float, t3: float, t4: float, detected: bool) -> None:
        t = self.times
        t.frames += 1
        t.gate_s += t1 - t0
        t.detect_s += t2 - t1
        t.track_s += t3 - t2
        t.rules_s += t4 - t3
        if detected:
            t.last_detect_ms = (t2 - t1) * 1000

    def finish(self) -> list[Event]:
        """Events still held when the stream ends (the current occupancy sample, partial)."""
        return self.occupancy.flush() if self.occupancy is not None else []

    def reset_tracks(self) -> None:
        """After a reconnect the old tracks describe a stream that is gone."""
        self.tracker.reset()
        self._last_detections = sv.Detections.empty()
        self._last_full_pts = float("-inf")
