"""Recording on one node: a recorder per recorded camera, event clips, and reconciliation.

`RecordingService.start()` first reconciles (the spool of this host, then the stored objects of the
last days of each recorded camera: a restart after a crash repairs the index before recording resumes),
then starts the recorders and the event clipper. Finished segments are stored by a small thread pool so
that a slow store (S3) never stalls a recorder's demux loop; a periodic pass retries spool files whose
commit failed. Spool: `<data_dir>/spool/recordings/<camera>/`; clip work files: `<data_dir>/spool/clips/`.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine

from safecity.media.storage import ManagedStorage
from safecity.recording.clips import EventClipper
from safecity.recording.config import RecordingConfig, RecordingPolicy
from safecity.recording.index import SegmentStore, latest_segment_end
from safecity.recording.reconcile import ReconcileReport, reconcile_spool, reconcile_storage
from safecity.recording.recorder import CameraRecorder
from safecity.recording.segment import SegmentInfo

log = logging.getLogger(__name__)
RETRY_EVERY_S = 300.0
FULL_RETRY_EVERY_S = 5.0  # while the media store is full: how soon a freed volume is noticed


class StorageFull:
    """The media store refused a segment for lack of space (ENOSPC): one CRITICAL log per episode,
    segments wait in the spool (nothing half-written is indexed), retried every few seconds.

    `notify(full, detail)` (the node wires a critical platform alert to it, safecity.operations.conditions)
    is called with True once per episode, again on a later refusal until that call succeeded (the
    database may be down too), and with False when a segment is stored again: after an episode it raised,
    and once after start (an alert a killed predecessor left open closes when recording works again)."""

    def __init__(self, notify: Callable[[bool, str], None] | None = None) -> None:
        self.active = False
        self.since: float | None = None
        self.episodes = 0
        self.notify = notify
        self._alerted = False
        self._cleared_once = False
        self._lock = threading.Lock()  # two commit threads

    def enter(self, exc: OSError) -> None:
        with self._lock:
            self._enter(exc)

    def leave(self) -> bool:
        """A segment was stored; True when this ends an episode."""
        with self._lock:
            return self._leave()

    def _enter(self, exc: OSError) -> None:
        if not self.active:
            self.active, self.since = True, time.time()
            self.episodes += 1
            log.critical("recording: the media store is full (%s); segments wait in the spool", exc)
        if not self._alerted:
            self._alerted = self._call(True, str(exc))

    def _leave(self) -> bool:
        ended = self.active
        if ended:
            log.warning(
                "recording: media store has space again after %.0f s", time.time() - (self.since or 0)
            )
            self.active, self.since = False, None
        if self._alerted or not self._cleared_once:
            done = self._call(False, "the media store has space again")
            self._alerted = self._alerted and not done
            self._cleared_once = self._cleared_once or done
        return ended

    def _call(self, full: bool, detail: str) -> bool:
        if self.notify is None:
            return True
        try:
            self.notify(full, detail)
        except Exception:  # the database may be unreachable too: tried again on the next segment
            log.exception("recording: could not %s the media-store-full alert", "raise" if full else "close")
            return False
        return True


@dataclass
class RecordingService:
    engine: Engine
    storage: ManagedStorage
    config: RecordingConfig
    policies: list[RecordingPolicy]
    spool_root: Path
    recorders: dict[str, CameraRecorder] = field(default_factory=dict)
    clipper: EventClipper | None = None
    autostart: bool = True  # start() records `policies`; False: camera runtimes call start_camera()

    def __post_init__(self) -> None:
        self.store = SegmentStore(self.engine, self.storage)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="segment-commit")
        self._stop = threading.Event()
        self._retry: threading.Thread | None = None
        self._pending: set[Path] = set()  # spool files handed to the pool, not stored yet
        self._lock = threading.Lock()
        self.storage_full = StorageFull()
        # the cameras recorded here, shared with the clipper (camera runtimes come and go at run time)
        self.segment_seconds = {p.camera_id: p.segment_seconds for p in self.policies if p.enabled}
        if self.config.clips.event_kinds:
            self.clipper = EventClipper(
                self.engine, self.storage, self.config.clips, self.segment_seconds, self.clip_dir
            )

    @property
    def segment_spool(self) -> Path:
        return self.spool_root / "recordings"

    @property
    def clip_dir(self) -> Path:
        return self.spool_root / "clips"

    def reconcile(self) -> ReconcileReport:
        """Spool first (it may store objects), then the recent days of each recorded camera's objects."""
        report = reconcile_spool(self.store, self.segment_spool, busy=self._busy())
        for policy in self.policies:
            if not policy.enabled:
                continue
            with self.engine.connect() as conn:
                latest = latest_segment_end(conn, policy.camera_id)
            since = None if latest is None else latest - timedelta(days=1)
            part = reconcile_storage(self.store, policy.camera_id, since=since)
            report.orphans_indexed += part.orphans_indexed
            report.orphans_deleted += part.orphans_deleted
            report.missing += part.missing
        return report

    def start(self) -> None:
        report = self.reconcile()
        log.info("recording: reconciled at start: %s", report)
        for policy in self.policies if self.autostart else []:
            self.start_camera(policy)
        if self.clipper is not None:
            self.clipper.start()
        self._retry = threading.Thread(target=self._retry_loop, name="recording-retry", daemon=True)
        self._retry.start()

    def start_camera(self, policy: RecordingPolicy) -> bool:
        """Record one camera (its runtime calls this when it starts); False when its policy says no."""
        if not policy.enabled:
            return False
        self.stop_camera(policy.camera_id)
        recorder = CameraRecorder(policy, self.segment_spool, self._commit_later)
        with self._lock:
            self.recorders[policy.camera_id] = recorder
            self.segment_seconds[policy.camera_id] = policy.segment_seconds
        recorder.start()
        return True

    def stop_camera(self, camera_id: str, timeout: float = 15.0) -> bool:
        """Stop recording one camera (its last segment is finished and stored); False when it was not."""
        with self._lock:
            recorder = self.recorders.pop(camera_id, None)
            self.segment_seconds.pop(camera_id, None)
        if recorder is None:
            return False
        recorder.request_stop()
        recorder.join(timeout)
        return True

    def _commit_later(self, info: SegmentInfo) -> None:
        with self._lock:
            self._pending.add(info.path)
        self._pool.submit(self._commit, info)

    def _commit(self, info: SegmentInfo) -> None:
        try:
            self.store.commit(info)
        except Exception as exc:  # stays in the spool; the retry pass or the next start stores it
            if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
                self.storage_full.enter(exc)
            log.error("recording: segment %s of %s not stored yet: %s", info.id, info.camera_id, exc)
        else:
            if self.storage_full.leave():  # space is back: store what waited in the spool now
                self._pool.submit(lambda: reconcile_spool(self.store, self.segment_spool, busy=self._busy()))
        finally:
            with self._lock:
                self._pending.discard(info.path)

    def _retry_loop(self) -> None:
        next_pass = time.monotonic() + RETRY_EVERY_S
        while not self._stop.wait(FULL_RETRY_EVERY_S):
            if time.monotonic() < next_pass and not self.storage_full.active:
                continue
            next_pass = time.monotonic() + RETRY_EVERY_S
            try:
                self._pool.submit(lambda: reconcile_spool(self.store, self.segment_spool, busy=self._busy()))
            except RuntimeError:  # the pool is shutting down
                return

    def _busy(self) -> set[Path]:
        with self._lock:
            busy = set(self._pending)
            recorders = list(self.recorders.values())
        return busy | {p for r in recorders if (p := r.current_path) is not None}

    def stop(self) -> None:
        self._stop.set()
        with self._lock:
            recorders = list(self.recorders.values())
        for recorder in recorders:
            recorder.request_stop()
        for recorder in recorders:
            recorder.join(15.0)
        self._pool.shutdown(wait=True)  # the last segments are stored ...
        if self.clipper is not None:
            self.clipper.stop()  # ... before the pending event clips are cut from them
