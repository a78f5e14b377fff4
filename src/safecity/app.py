"""The composition root: `build_app(settings)` is the one place where parts are wired together."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from safecity.api.live import LiveHub
from safecity.biometrics.runtime import Biometrics, attach_biometrics
from safecity.bus.base import Bus
from safecity.bus.memory import MemoryBus
from safecity.config.models import CameraConfig, Settings, coco_ids
from safecity.media.config import build_storage
from safecity.media.storage import MediaStorage
from safecity.operations.runtime import Operations, attach_operations
from safecity.pipeline.analyzer import FrameAnalyzer
from safecity.pipeline.worker import CameraWorker
from safecity.recording.runtime import DataCenter, attach_data_center
from safecity.store import Store, make_engine, open_store
from safecity.types import Event
from safecity.vision.detector import Detector, OnnxDetector
from safecity.vision.models import default_cache_dir, model_path
from safecity.vision.scheduler import scheduled

log = logging.getLogger(__name__)
STORE_RETRIES = 5


class StoreWriter:
    """Bus consumer that appends events to the store, retrying while the database is briefly busy.

    When the retries are exhausted it raises, so a durable bus (NATS) redelivers the event later; the
    append is idempotent by event id, so a redelivered event is stored once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.written = 0
        self.failed = 0

    def __call__(self, event: Event) -> None:
        try:
            self.handle_batch([event])
        except Exception as exc:
            self.failed += 1
            log.error("event %s not stored: %s", event.id, exc)
            raise

    def handle_batch(self, events: Sequence[Event]) -> None:
        """Append `events` in one transaction (a batching bus calls this, see `bus.base.BatchHandler`,
        and calls the writer once per event if it raises)."""
        for attempt in range(STORE_RETRIES):
            try:
                self.store.append(events)
                self.written += len(events)
                return
            except Exception:
                if attempt == STORE_RETRIES - 1:
                    raise
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
    detector = OnnxDetector(
        resolve_model(settings),
        layout=layout,
        input_size=d.input_size,
        class_ids=coco_ids(settings.classes),
        confidence=d.confidence,
        nms_iou=d.nms_iou,
        threads=d.threads,
        provider=d.provider,
    )
    return scheduled(detector, d.batch.enabled, d.batch.max_size, d.batch.max_wait_ms / 1000)


@dataclass
class App:
    settings: Settings
    store: Store
    bus: Bus
    media: MediaStorage
    detector: Detector
    writer: StoreWriter
    engine: Engine  # the store's database, for repositories with an explicit session (accounts, API, ...)
    workers: dict[str, CameraWorker] = field(default_factory=dict)
    started_at: dict[str, float] = field(default_factory=dict)  # wall clock when each worker started
    live: LiveHub = field(default_factory=LiveHub)  # push to WebSocket clients; a no-op with no server
    _cameras_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    closers: list[Callable[[], None]] = field(default_factory=list)  # consumers to close after the bus
    operations: Operations | None = None  # alerts, incidents, dispatch, public reports
    data_center: DataCenter | None = None  # recordings, event clips, retention
    biometrics: Biometrics | None = None  # face step per camera, snapshot redaction

    def session(self) -> Session:
        """A new ORM session on the store's database (the caller commits and closes it)."""
        return Session(self.engine, expire_on_commit=False)

    def add_camera(self, camera: CameraConfig) -> CameraWorker:
        with self._cameras_lock:
            if camera.id in self.workers:
                raise ValueError(f"camera {camera.id} already has a worker; use restart_camera")
            analyzer = FrameAnalyzer(camera, self.settings, self.detector)
            bio = self.biometrics
            worker = CameraWorker(camera, analyzer, self.bus, self.media,
                                  observe=bio.stage_for(camera.id).observe if bio else None,
                                  redact=bio.redact_snapshot if bio else None)  # fmt: skip
            self.workers[camera.id] = worker
            return worker

    def start(self, cameras: Iterable[CameraConfig] | None = None) -> None:
        """Start a worker for each enabled camera (default: the settings file's cameras)."""
        if self.data_center is not None:
            self.data_center.start()  # once: reconcile, recorders, retention schedule
        for camera in self.settings.cameras if cameras is None else cameras:
            if camera.enabled:
                self._start(self.add_camera(camera))

    def _start(self, worker: CameraWorker) -> None:
        self.started_at[worker.camera.id] = time.time()
        worker.start()

    def restart_camera(self, camera: CameraConfig) -> CameraWorker | None:
        """Apply a changed camera: stop its worker (if any), start a new one if it is enabled.

        Only this camera is touched; the others keep running. Returns the new worker (None: disabled).
        """
        with self._cameras_lock:
            self.remove_camera(camera.id)
            if not camera.enabled:
                return None
            worker = self.add_camera(camera)
            self._start(worker)
            return worker

    def remove_camera(self, camera_id: str) -> bool:
        """Stop and forget a camera's worker; False when it had none."""
        with self._cameras_lock:
            worker = self.workers.pop(camera_id, None)
            self.started_at.pop(camera_id, None)
            if worker is None:
                return False
            worker.stop()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every worker to finish (file sources end); True when all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not all(w.done for w in self.workers.values()):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def close(self) -> None:
        for worker in list(self.workers.values()):
            worker.stop()
        self.bus.close()  # drains queued events into the store before it closes
        for close in self.closers:
            close()
        self.store.close()
        self.engine.dispose()


def build_bus(settings: Settings, *, name: str = "safecity") -> Bus:
    """The configured bus: in-process (default) or NATS JetStream (`bus.type: nats`)."""
    if settings.bus.type == "nats":
        from safecity.bus.nats import NatsBus

        return NatsBus(settings.bus, name=name)
    return MemoryBus()


def attach_consumers(
    settings: Settings, bus: Bus, store: Store
) -> tuple[StoreWriter, list[Callable[[], None]]]:
    """Subscribe the store writer (durable `store`) and, when enabled, MQTT out (durable `mqtt`).

    Returns the writer and what to close once the bus is closed."""
    writer = StoreWriter(store)
    bus.subscribe(writer, durable="store")
    closers: list[Callable[[], None]] = []
    if settings.mqtt.enabled:
        from safecity.bus.mqtt import MqttPublisher

        mqtt = MqttPublisher(settings.mqtt)
        closers.append(mqtt.close)
        bus.subscribe(mqtt, durable="mqtt")
    return writer, closers


def build_app(settings: Settings, *, detector: Detector | None = None) -> App:
    settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.storage.resolved_database_url)
    bus = build_bus(settings)
    writer, closers = attach_consumers(settings, bus, store)
    media = build_storage(settings.media, settings.storage.resolved_media_dir)
    engine = make_engine(settings.storage.resolved_database_url)  # the store has migrated it already
    live = LiveHub(settings.api.ws_queue_size)
    detector = detector or build_detector(settings)
    node = App(settings, store, bus, media, detector, writer, engine, live=live, closers=closers)
    node.operations = attach_operations(node)  # alert rules, AlertEngine on the bus, camera-dark watchdog
    node.closers.append(node.operations.close)
    node.data_center = attach_data_center(node)  # started by node.start()
    node.closers.append(node.data_center.close)
    node.biometrics = attach_biometrics(node)  # face step only under an active watchlist; redaction
    node.closers.append(node.biometrics.close)
    return node
