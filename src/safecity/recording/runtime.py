"""Wiring of the data center into a node: recorders, event clips, scheduled retention.

`build_app` calls `attach_data_center(node)`; `App.start()` calls `DataCenter.start()` (reconcile, then
recorders), `App.close()` stops it. The event clipper subscribes to the bus as the durable consumer
`clips`, so with NATS a restarted node still cuts the clips of events it missed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from safecity.bus.base import Unsubscribe
from safecity.governance.retention import Retention, RetentionScheduler
from safecity.governance.retention_privacy import PrivacyRetention, stores_for
from safecity.media.storage import ManagedStorage
from safecity.recording.config import RecordingPolicy, recording_policy
from safecity.recording.service import RecordingService

if TYPE_CHECKING:
    from safecity.app import App
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


def attach_data_center(node: App) -> DataCenter:
    settings = node.settings
    storage = node.media
    if not isinstance(storage, ManagedStorage):
        raise TypeError(f"the data center needs a ManagedStorage backend, got {type(storage).__name__}")
    spool = settings.storage.data_dir / "spool"
    service = RecordingService(node.engine, storage, settings.recording, policies(settings), spool)
    privacy = PrivacyRetention(node.engine, settings.retention, stores_for(settings, storage))
    retention = Retention(node.engine, storage, settings.retention, extra_steps=privacy.steps())
    scheduler = (
        RetentionScheduler(retention, settings.retention.interval_s) if settings.retention.enabled else None
    )
    center = DataCenter(service, retention, scheduler)
    if service.clipper is not None:
        center.unsubscribe = node.bus.subscribe(service.clipper, durable="clips")
    return center
