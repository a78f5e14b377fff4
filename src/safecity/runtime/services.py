"""The shared parts of a node that camera runtimes use, built in one place for `serve`, `run` and `worker`.

`build_camera_services(...)` returns the `CameraFactory` with the node's detector (one ONNX session for
every camera: its `run()` is thread-safe), biometrics (face step, redaction) and data center (recording
service, clips, retention). `build_detector` is the single place the shared detector is made, so another
`Detector` implementation (a batching scheduler) plugs in here.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from safecity.biometrics.runtime import Biometrics, attach_biometrics
from safecity.bus.base import Bus
from safecity.config.models import DetectorConfig, Settings, coco_ids
from safecity.media.storage import MediaStorage
from safecity.operations.conditions import ConditionAlerts, StorageFullAlert
from safecity.operations.live import LiveSink
from safecity.plates.runtime import attach_plates
from safecity.recording.runtime import DataCenter, attach_data_center
from safecity.runtime.camera import CameraFactory
from safecity.runtime.memory import cap_malloc_arenas
from safecity.vision.detector import Detector, OnnxDetector
from safecity.vision.models import default_cache_dir, model_path
from safecity.vision.scheduler import scheduled


def resolve_model(settings: Settings, config: DetectorConfig | None = None) -> Path:
    name = (config or settings.detector).model
    if name.endswith(".onnx"):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"detector.model: no ONNX file at {path}")
        return path
    return model_path(settings.models.cache_dir or default_cache_dir(), name)


def build_detector(settings: Settings, config: DetectorConfig | None = None) -> Detector:
    """The node's detector (`config`: one of `settings.detectors` instead)."""
    d = config or settings.detector
    layout = "nanodet" if d.type == "nanodet" else d.layout
    # one session serves all cameras: ONNX Runtime's run() is thread-safe; one copy of the weights is enough
    detector = OnnxDetector(
        resolve_model(settings, d),
        layout=layout,
        input_size=d.input_size,
        class_ids=coco_ids(settings.classes),
        confidence=d.confidence,
        nms_iou=d.nms_iou,
        threads=d.threads,
        provider=d.provider,
    )
    # one place decides what the detector runs next (oldest deadline first): docs/performance.md
    return scheduled(detector, d.batch.enabled, d.batch.max_size, d.batch.max_wait_ms / 1000, d.batch.lanes)


def session_factory(engine: Engine) -> Callable[[], Session]:
    """New ORM sessions on `engine` (the caller commits and closes them)."""

    def session() -> Session:
        return Session(engine, expire_on_commit=False)

    return session


def node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass
class CameraServices:
    factory: CameraFactory
    data_center: DataCenter
    biometrics: Biometrics
    closers: list[Callable[[], None]] = field(default_factory=list)  # in order, after the cameras stopped

    def close(self) -> None:
        for close in self.closers:
            close()


def build_camera_services(
    settings: Settings,
    *,
    engine: Engine,
    bus: Bus,
    media: MediaStorage,
    live: LiveSink,
    detector: Detector | None = None,
    record: bool = True,
    retention: bool = True,
    clips_durable: str | None = "clips",
) -> CameraServices:
    """What camera runtimes share on one node. `record=False` (an API-only node): no camera is recorded;
    `retention=False`: this node never purges (see `safecity.recording.runtime`)."""
    cap_malloc_arenas()  # before the camera threads exist (safecity.runtime.memory)
    detector = detector or build_detector(settings)
    center = attach_data_center(
        settings, engine, media, bus, retention=retention, clips_durable=clips_durable, node_id=node_id()
    )
    # a full media store is a critical alert row (open while it lasts, closed when recording resumes)
    center.recording.storage_full.notify = StorageFullAlert(ConditionAlerts(session_factory(engine), live))
    bio = attach_biometrics(settings, session_factory(engine), live)  # face step only under a watchlist
    factory = CameraFactory(
        settings,
        detector,
        bus,
        media,
        biometrics=bio,
        recording=center.recording if record else None,
        plates=attach_plates(
            settings.plates,
            settings.models.cache_dir or default_cache_dir(),
            session_factory(engine),
            media,
            live,
        ),
        detectors={d.id: build_detector(settings, d) for d in settings.detectors},
    )
    closers = [center.close, bio.close] + ([factory.plates.close] if factory.plates else [])
    return CameraServices(factory, center, bio, closers)
