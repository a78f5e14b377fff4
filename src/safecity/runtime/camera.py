"""One camera's runtime, and the one factory that builds it on every kind of node.

`CameraRuntime` owns what a camera does here: its `CameraWorker` (ingest, analysis, events with redacted
snapshots, the latest frame for live view, metrics), the face step under an authorized watchlist, and its
recorder. `CameraFactory.build(camera)` composes it from the node's shared parts (detector, bus, media,
biometrics, recording service); `serve`/`run` (`safecity.app.App`) and `worker` (`safecity.cluster`) call
the same method, so a camera is the same camera wherever it runs. A cluster worker passes a `Gate` (its
lease): nothing leaves the camera (events, face observations) once the gate has closed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from safecity.biometrics.runtime import Biometrics
from safecity.bus.base import Bus, Handler, Unsubscribe
from safecity.config.models import CameraConfig, Settings
from safecity.media.storage import MediaStorage
from safecity.pipeline.analyzer import Analysis, FrameAnalyzer
from safecity.pipeline.worker import CameraMetrics, CameraWorker
from safecity.plates.runtime import Plates
from safecity.recording.config import RecordingPolicy, recording_policy
from safecity.recording.service import RecordingService
from safecity.runtime.health import CameraHealth, camera_health
from safecity.types import Event, Frame, empty_tracks
from safecity.vision.detector import Detector

log = logging.getLogger(__name__)


class Gate(Protocol):
    """Whether a camera may still produce output here (a cluster lease); thread-safe."""

    def is_open(self) -> bool: ...

    def analysed(self, seq: int) -> None:
        """A frame's analysis counted (the cluster's activity log)."""


class GatedAnalyzer(FrameAnalyzer):
    """A `FrameAnalyzer` whose results only count while its gate is open: checked before and after the
    analysis, so a gate that closes mid-frame lets no event of that frame out."""

    def __init__(self, camera: CameraConfig, settings: Settings, detector: Detector, gate: Gate) -> None:
        super().__init__(camera, settings, detector)
        self.output_gate = gate  # (`self.gate` is the motion gate)

    def analyse(self, frame: Frame) -> Analysis:
        if not self.output_gate.is_open():
            return Analysis(frame, empty_tracks(), [], detected=False)
        result = super().analyse(frame)
        if not self.output_gate.is_open():
            return Analysis(frame, result.tracks, [], detected=result.detected)
        self.output_gate.analysed(frame.seq)
        return result


class GatedBus:
    """The shared bus as one camera sees it: publishes only while the camera's gate is open."""

    def __init__(self, bus: Bus, gate: Gate) -> None:
        self.bus = bus
        self.gate = gate
        self.dropped = 0

    def publish(self, event: Event) -> None:
        if self.gate.is_open():
            self.bus.publish(event)
        else:
            self.dropped += 1

    def subscribe(self, handler: Handler, durable: str | None = None) -> Unsubscribe:
        return self.bus.subscribe(handler, durable)

    def close(self) -> None:
        """The shared bus belongs to the node, which closes it."""


class CameraRuntime:
    """Everything one camera does on this node; `start()` once, `stop()` once."""

    def __init__(
        self,
        camera: CameraConfig,
        worker: CameraWorker,
        recording: RecordingService | None,
        policy: RecordingPolicy,
    ) -> None:
        self.camera = camera
        self.worker = worker
        self.recording = recording
        self.policy = policy
        self.started_at: float | None = None  # wall clock
        self._lock = threading.Lock()

    @property
    def camera_id(self) -> str:
        return self.camera.id

    @property
    def metrics(self) -> CameraMetrics:
        return self.worker.metrics

    @property
    def done(self) -> bool:
        return self.worker.done

    @property
    def recording_active(self) -> bool:
        return self.recording is not None and self.camera.id in self.recording.recorders

    def latest(self) -> Analysis | None:
        """The last analysed frame (live view, latest snapshot)."""
        return self.worker.latest

    def health(self, dark_after_s: float, now: float | None = None) -> CameraHealth:
        return camera_health(self.worker, self.started_at, dark_after_s, now)

    def start(self) -> None:
        with self._lock:
            self.started_at = time.time()
            if self.recording is not None:
                try:
                    self.recording.start_camera(self.policy)
                except Exception:  # the analysis must run even when the recorder cannot
                    log.exception("camera %s: recorder not started", self.camera.id)
            self.worker.start()

    def stop(self) -> None:
        with self._lock:
            self.worker.stop()
            if self.recording is not None:
                self.recording.stop_camera(self.camera.id)


@dataclass
class CameraFactory:
    """The node's shared parts, and the one way a camera runtime is made from them."""

    settings: Settings
    detector: Detector
    bus: Bus
    media: MediaStorage
    biometrics: Biometrics | None = None  # the face step and snapshot redaction
    recording: RecordingService | None = None  # None: this node does not record (an API-only node)
    plates: Plates | None = None  # plate reads and plate redaction in snapshots
    detectors: dict[str, Detector] = field(default_factory=dict)  # `settings.detectors` by id

    def detector_for(self, camera_id: str) -> Detector:
        """The detector of `settings.detectors` that lists the camera, else the node's detector."""
        chosen = next((d.id for d in self.settings.detectors if camera_id in d.cameras), None)
        return self.detector if chosen is None else self.detectors[chosen]

    def build(self, camera: CameraConfig, gate: Gate | None = None) -> CameraRuntime:
        detector = self.detector_for(camera.id)
        if gate is None:
            analyzer = FrameAnalyzer(camera, self.settings, detector)
            bus: Bus = self.bus
        else:
            analyzer = GatedAnalyzer(camera, self.settings, detector, gate)
            bus = GatedBus(self.bus, gate)
        bio = self.biometrics
        observe: Callable[[Analysis], None] | None = None
        if bio is not None:
            observe = bio.stage_for(camera.id).observe
        plate_step = self.plates.step_for(camera.id, bus.publish) if self.plates else None
        if plate_step is not None:
            observe = _both(observe, plate_step.observe)
        if observe is not None and gate is not None:
            observe = _gated(observe, gate)
        worker = CameraWorker(
            camera,
            analyzer,
            bus,
            self.media,
            observe=observe,
            redact=_chain(
                bio.redact_snapshot if bio else None, self.plates.redact_snapshot if self.plates else None
            ),
            publish_while=None if gate is None else gate.is_open,
        )
        policy = recording_policy(
            self.settings.recording, camera.id, camera.source, camera.recording, loop=camera.loop
        )
        return CameraRuntime(camera, worker, self.recording, policy)


def _gated(observe: Callable[[Analysis], None], gate: Gate) -> Callable[[Analysis], None]:
    def gated(result: Analysis) -> None:
        if gate.is_open():
            observe(result)

    return gated


def _both(
    first: Callable[[Analysis], None] | None, second: Callable[[Analysis], None]
) -> Callable[[Analysis], None]:
    if first is None:
        return second

    def both(result: Analysis) -> None:
        first(result)
        second(result)

    return both


Redact = Callable[[np.ndarray, Analysis, str], np.ndarray]


def _chain(*steps: Redact | None) -> Redact | None:
    """Snapshot redaction steps applied in turn (faces, then plates)."""
    present = [s for s in steps if s is not None]
    if not present:
        return None

    def chain(image: np.ndarray, result: Analysis, key: str) -> np.ndarray:
        for step in present:
            image = step(image, result, key)
        return image

    return chain
