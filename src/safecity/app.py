"""The composition root of `serve` and `run`: `build_app(settings)` wires the store, the bus, media, the
domains (each given narrow dependencies) and the camera runtimes (`safecity.runtime`), which a cluster
worker builds with the very same factory. See docs/architecture.md."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from safecity.api.live import LiveHub
from safecity.biometrics.runtime import Biometrics
from safecity.bus.base import Bus
from safecity.bus.memory import MemoryBus
from safecity.config.models import CameraConfig, Settings
from safecity.governance.audit_changes import install_change_audit
from safecity.governance.audit_witness import install as install_audit_key
from safecity.media.config import build_storage
from safecity.media.storage import MediaStorage
from safecity.operations.live import LiveSink
from safecity.operations.runtime import Operations, attach_operations
from safecity.pipeline.worker import CameraWorker
from safecity.recording.runtime import DataCenter
from safecity.runtime.camera import CameraFactory, CameraRuntime
from safecity.runtime.health import CameraHealth
from safecity.runtime.services import build_camera_services, build_detector, resolve_model
from safecity.store import Store, make_engine, open_store
from safecity.store.private_files import make_private
from safecity.store.writer import StoreWriter, durable_bus, open_outbox
from safecity.vision.detector import Detector

__all__ = ["App", "StoreWriter", "build_app", "build_bus", "build_detector", "resolve_model"]

log = logging.getLogger(__name__)


@dataclass
class App:
    settings: Settings
    store: Store
    bus: Bus
    media: MediaStorage
    detector: Detector
    writer: StoreWriter
    engine: Engine  # the store's database, for repositories with an explicit session (accounts, API, ...)
    factory: CameraFactory | None = None  # builds every camera runtime of this node
    runtimes: dict[str, CameraRuntime] = field(default_factory=dict)  # the cameras running here
    live: LiveHub = field(default_factory=LiveHub)  # push to WebSocket clients; a no-op with no server
    announce: Callable[[str], None] | None = None  # tells the cluster's workers a camera changed (NATS)
    _cameras_lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    closers: list[Callable[[], None]] = field(default_factory=list)  # consumers to close after the bus
    _closed: bool = field(default=False, repr=False)
    operations: Operations | None = None  # alerts, incidents, dispatch, public reports
    data_center: DataCenter | None = None  # recordings, event clips, retention
    biometrics: Biometrics | None = None  # face step per camera, snapshot redaction
    federation: object | None = None  # a CityAgent or a NationalSite (safecity.federation.runtime)

    def session(self) -> Session:
        """A new ORM session on the store's database (the caller commits and closes it)."""
        return Session(self.engine, expire_on_commit=False)

    @property
    def workers(self) -> dict[str, CameraWorker]:
        """Each running camera's worker (a snapshot: ingest, analysis, latest frame, metrics)."""
        with self._cameras_lock:
            return {cid: rt.worker for cid, rt in self.runtimes.items()}

    @property
    def started_at(self) -> dict[str, float]:
        """Wall clock when each camera runtime started."""
        with self._cameras_lock:
            return {cid: rt.started_at for cid, rt in self.runtimes.items() if rt.started_at is not None}

    def health(self, now: float | None = None) -> list[CameraHealth]:
        """The health of every camera running here, by id."""
        with self._cameras_lock:
            runtimes = sorted(self.runtimes.items())
        return [rt.health(self.settings.api.camera_dark_after_s, now) for _, rt in runtimes]

    def camera_statuses(self) -> dict[str, str]:
        return {h.camera_id: h.status for h in self.health()}

    def add_camera(self, camera: CameraConfig) -> CameraWorker:
        if self.factory is None:
            raise RuntimeError("this node has no camera factory (build it with build_app)")
        with self._cameras_lock:
            if camera.id in self.runtimes:
                raise ValueError(f"camera {camera.id} already has a worker; use restart_camera")
            runtime = self.factory.build(camera)
            self.runtimes[camera.id] = runtime
            return runtime.worker

    def start(self, cameras: Iterable[CameraConfig] | None = None) -> None:
        """Start a runtime for each enabled camera (default: the settings file's cameras)."""
        if self.data_center is not None and self.settings.api.start_workers:
            self.data_center.start()  # once: reconcile, clipper, retention schedule (API-only: none)
        for camera in self.settings.cameras if cameras is None else cameras:
            if camera.enabled:
                self.add_camera(camera)
                self.runtimes[camera.id].start()

    def restart_camera(self, camera: CameraConfig) -> CameraWorker | None:
        """Apply a changed camera: stop its worker (if any), start a new one if it is enabled.

        Only this camera is touched; the others keep running. Returns the new worker (None: disabled).
        """
        with self._cameras_lock:
            self.remove_camera(camera.id)
            if not camera.enabled:
                return None
            worker = self.add_camera(camera)
            self.runtimes[camera.id].start()
            return worker

    def remove_camera(self, camera_id: str) -> bool:
        """Stop and forget a camera's worker; False when it had none."""
        with self._cameras_lock:
            runtime = self.runtimes.pop(camera_id, None)
            if runtime is None:
                return False
            runtime.stop()
            return True

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for every worker to finish (file sources end); True when all did."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not all(rt.done for rt in list(self.runtimes.values())):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def close(self) -> None:
        """Stop the cameras, drain the bus into the store, close the rest. Once: a second call (two servers'
        lifespans over one node, as some tests run) does nothing."""
        with self._cameras_lock:
            if self._closed:
                return
            self._closed = True
        for runtime in list(self.runtimes.values()):
            runtime.stop()
        self.bus.close()  # drains queued events into the store before it closes
        for close in self.closers:
            close()
        self.store.close()
        self.engine.dispose()


def build_bus(settings: Settings, *, name: str = "safecity") -> Bus:
    """The configured bus: in-process (default) or NATS JetStream (`bus.type: nats`)."""
    if settings.bus.type == "nats":
        from safecity.bus.nats import NatsBus

        return durable_bus(settings, NatsBus(settings.bus, name=name))
    return durable_bus(settings, MemoryBus())


def attach_consumers(
    settings: Settings, bus: Bus, store: Store
) -> tuple[StoreWriter, list[Callable[[], None]]]:
    """Subscribe the store writer (durable `store`) and, when enabled, MQTT out (durable `mqtt`).

    Returns the writer and what to close once the bus is closed."""
    writer = StoreWriter(store, open_outbox(settings), retry_s=settings.durability.retry_s)
    bus.subscribe(writer, durable="store")
    closers: list[Callable[[], None]] = [writer.close]  # after the bus: it has delivered what it held
    if settings.mqtt.enabled:
        from safecity.bus.mqtt import MqttPublisher

        mqtt = MqttPublisher(settings.mqtt)
        closers.append(mqtt.close)
        bus.subscribe(mqtt, durable="mqtt")
    return writer, closers


def build_app(settings: Settings, *, detector: Detector | None = None) -> App:
    storage = settings.storage  # data files 0600, folders 0700 (safecity.store.private_files)
    make_private(storage.data_dir, storage.resolved_database_url, storage.resolved_media_dir)
    store = open_store(settings.storage.resolved_database_url)
    # from here on every audit entry on this database is signed and witnessed (closed last, below)
    storage = settings.storage
    sealer = install_audit_key(storage.resolved_database_url, settings.audit, storage.data_dir)
    install_change_audit()  # users, tokens, cameras, alert rules: every change is an audit entry
    bus = build_bus(settings)
    writer, closers = attach_consumers(settings, bus, store)
    media = build_storage(settings.media, settings.storage.resolved_media_dir)
    engine = make_engine(  # the store has migrated it already
        storage.resolved_database_url, pool_size=storage.database_pool_size,
        max_overflow=storage.database_pool_overflow, pool_timeout=storage.database_pool_timeout_s,
    )  # fmt: skip
    live = LiveHub(settings.api.ws_queue_size)
    workers = settings.api.start_workers  # false: an API-only node, which neither records nor purges
    cams = build_camera_services(
        settings, engine=engine, bus=bus, media=media, live=live, detector=detector, record=workers,
        retention=workers,
    )  # fmt: skip
    node = App(settings, store, bus, media, cams.factory.detector, writer, engine, factory=cams.factory,
               live=live, closers=closers)  # fmt: skip
    alerts_live: LiveSink = live
    if settings.bus.type == "nats":  # camera changes to the workers, alerts to every API node's sockets
        from safecity.cluster.changes import CameraAnnouncer
        from safecity.cluster.live_relay import LiveRelay

        announcer, relay = CameraAnnouncer(settings), LiveRelay(settings, live)
        node.announce, alerts_live = announcer.announce, relay
        node.closers += [announcer.close, relay.close]
    # alert rules, AlertEngine on the bus, camera-dark watchdog; report rate limits shared through the DB
    ops = attach_operations(
        settings.operations, node.session, bus, alerts_live, node.camera_statuses, db=engine
    )
    node.operations = ops
    node.data_center, node.biometrics = cams.data_center, cams.biometrics
    node.closers[:0] = [ops.close]  # before the relay disconnects
    node.closers.append(cams.close)
    node.closers.append(sealer.close)  # last: every entry written while closing is witnessed
    return node
