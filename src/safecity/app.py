"""The composition root: `build_app(settings)` is the one place where parts are wired together."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from safecity.bus.base import Bus
from safecity.bus.memory import MemoryBus
from safecity.config.models import CameraConfig, Settings, coco_ids
from safecity.media.storage import LocalMediaStorage, MediaStorage
from safecity.pipeline.analyzer import FrameAnalyzer
from safecity.pipeline.worker import CameraWorker
from safecity.store import Store, open_store
from safecity.types import Event
from safecity.vision.detector import Detector, OnnxDetector
from safecity.vision.models import default_cache_dir, model_path

log = logging.getLogger(__name__)
STORE_RETRIES = 5


class StoreWriter:
    """Bus consumer that appends events to the store, retrying while the database is briefly busy."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.written = 0
        self.failed = 0

    def __call__(self, event: Event) -> None:
        for attempt in range(STORE_RETRIES):
            try:
                self.store.append([event])
                self.written += 1
                return
            except Exception as exc:
                if attempt == STORE_RETRIES - 1:
                    self.failed += 1
                    log.error("event %s not stored: %s", event.id, exc)
                    return
                time.sleep(0.05 * 2**attempt)


def resolve_model(settings: Settings) -> Path:
    name = settings.detector.model
    if name.endswith(".onnx"):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"detector.model: no ONNX file at {path}")
        return path
    return model_path(settings.models.cache_dir or default_cache_dir(), name)


def build_detector(settings: Settings) -> Detector:
    d = settings.detector
    layout = "nanodet" if d.type == "nanodet" else d.layout
    # one session serves all cameras: ONNX Runtime's run() is thread-safe; one copy of the weights is enough
    return OnnxDetector(
        resolve_model(settings),
        layout=layout,
        input_size=d.input_size,
        class_ids=coco_ids(settings.classes),
        confidence=d.confidence,
        nms_iou=d.nms_iou,
        threads=d.threads,
    )


@dataclass
class App:
    settings: Settings
    store: Store
    bus: Bus
    media: MediaStorage
    detector: Detector
    writer: StoreWriter
    workers: dict[str, CameraWorker] = field(default_factory=dict)

    def add_camera(self, camera: CameraConfig) -> CameraWorker:
        analyzer = FrameAnalyzer(camera, self.settings, self.detector)
        worker = CameraWorker(camera, analyzer, self.bus, self.media)
        self.workers[camera.id] = worker
        return worker

    def start(self) -> None:
        for camera in self.settings.cameras:
            if camera.enabled:
                self.add_camera(camera).start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every worker to finish (file sources end); True when all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not all(w.done for w in self.workers.values()):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.bus.close()  # drains queued events into the store before it closes
        self.store.close()


def build_app(settings: Settings, *, detector: Detector | None = None) -> App:
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.storage.resolved_database_url)
    bus = MemoryBus()
    writer = StoreWriter(store)
    bus.subscribe(writer)
    media = LocalMediaStorage(settings.storage.resolved_media_dir)
    return App(settings, store, bus, media, detector or build_detector(settings), writer)
