"""Wiring of the data center into a node: the recording service, event clips, scheduled retention.

`attach_data_center(...)` gets narrow dependencies (settings, database engine, media, bus), not the node.
`DataCenter.start()` reconciles and starts the clipper and the retention schedule; each camera's runtime
starts and stops its own recorder (`RecordingService.start_camera`). The event clipper subscribes to the
bus as the durable consumer `clips` (a serving node: with NATS a restarted node still cuts the clips of
events it missed) or, on a cluster worker, as an ephemeral consumer that sees every event and cuts the
clips of the cameras recorded there. Retention runs behind the database lease `retention`, so a cluster
purges once per interval however many nodes run it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from safecity.bus.base import Bus, Unsubscribe
from safecity.governance.retention import Retention, RetentionScheduler
from safecity.governance.retention_privacy import PrivacyRetention, stores_for
from safecity.media.storage import ManagedStorage, MediaStorage
from safecity.plates.retention import PlateRetention
from safecity.recording.config import RecordingPolicy, recording_policy
from safecity.recording.service import RecordingService
from safecity.store.coordination import DbLease

if TYPE_CHECKING:
    from safecity.config.models import Settings

log = logging.getLogger(__name__)


def policies(settings: Settings) -> list[RecordingPolicy]:
    """The effective recording policy of every enabled camera of the settings."""
    return [
        recording_policy(settings.recording, c.id, c.source, c.recording, loop=c.loop)
        for c in settings.cameras
        if c.enabled
    ]


@dataclass
class DataCenter:
    recording: RecordingService
    retention: Retention
    scheduler: RetentionScheduler | None
    unsubscribe: Unsubscribe | None = None
    _started: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def start(self) -> None:
        """Reconcile, start the recorders, the clipper and the retention schedule (once)."""
        with self._lock:
            if self._started:
                return
            self._started = True
        self.recording.start()
        if self.scheduler is not None:
            self.scheduler.start()

    def close(self) -> None:
        if self.unsubscribe is not None:
            self.unsubscribe()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.recording.stop()


def attach_data_center(
    settings: Settings,
    engine: Engine,
    media: MediaStorage,
    bus: Bus,
    *,
    retention: bool = True,
    clips_durable: str | None = "clips",
    node_id: str = "node",
) -> DataCenter:
    """The data center of a node. `retention=False`: this node never purges (cluster workers, API-only
    nodes); `clips_durable=None`: the clipper sees every event (a worker, see the module docstring)."""
    if not isinstance(media, ManagedStorage):
        raise TypeError(f"the data center needs a ManagedStorage backend, got {type(media).__name__}")
    spool = settings.storage.data_dir / "spool"
    # the settings file's cameras are reconciled at start; recorders follow the camera runtimes
    service = RecordingService(engine, media, settings.recording, policies(settings), spool, autostart=False)
    privacy = PrivacyRetention(engine, settings.retention, stores_for(settings, media))
    plates = PlateRetention(engine, media, settings.plates)
    purge = Retention(engine, media, settings.retention, extra_steps={**privacy.steps(), **plates.steps()})
    scheduler = None
    if retention and settings.retention.enabled:
        lease = DbLease(engine, "retention", node_id, ttl_s=max(3 * settings.retention.interval_s, 600.0))
        scheduler = RetentionScheduler(purge, settings.retention.interval_s, lease=lease)
    center = DataCenter(service, purge, scheduler)
    if service.clipper is not None:
        center.unsubscribe = bus.subscribe(service.clipper, durable=clips_durable)
    return center
