"""`safecity worker`: a process that runs the cameras it holds a lease on, on one of many hosts.

Every worker runs the same loop, once per `claim_every_s`:
1. every `renew_period_s` (TTL/3 by default): put its heartbeat, then renew each held lease with an
   `update` naming the revision it holds; a renewal that fails for any reason (lost the race, timed
   out, server away) stops that camera at once;
2. stop every camera whose lease deadline has passed without a renewal (the server is unreachable);
3. release the cameras whose source failed, and hold back from claiming them for a while;
4. balance: with `share = ceil(cameras / live workers)` (live workers: unexpired heartbeats), release
   the cameras above its share (stop first, then delete naming our revision) and claim free ones up to
   its share with `create`, trying cameras in rendezvous-hash order of (worker, camera) so that
   workers rarely contend and a camera tends to go back to the same worker.
A SIGKILLed worker renews nothing: its leases and heartbeat expire on the server within the TTL, the
share of the others grows, and they claim its cameras (failover within TTL + claim_every_s).

Safety: no camera is ever processed by two workers at once.
- The server serialises every write of a lease key: `create` succeeds only while the key has no live
  entry, `update`/`delete` only while the named revision is the latest. So a lease key has one holder
  at a time, and worker B can claim a camera only after A deleted its entry or the entry expired, i.e.
  at least `lease_ttl_s` after the server stored A's last revision.
- A computes its deadline from its own clock: the time it *sent* the request that wrote that revision,
  plus the TTL, minus `stop_budget_s`. The server stored the revision after A sent it, so A's deadline
  comes at least `stop_budget_s` before B can possibly claim the camera (clock *rates* on the two hosts
  agree to parts per million; no clock synchronisation is assumed).
- A fence gates everything that leaves A's camera worker: after each frame's analysis and before any
  event or snapshot is produced (`LeasedAnalyzer`), and again at publish (`FencedBus`), A checks that
  the lease was not revoked and its deadline has not passed. A failed renewal or a release revokes the
  fence before anything else (a release deletes the key only after); threads are stopped afterwards,
  off the lease loop, so a slow source cannot delay other renewals.
- So A's output ends before B's can begin, provided the few milliseconds between a fence check and the
  hand-over of that frame's events stay below `stop_budget_s` (default 3 s). A process frozen for
  longer than that between the two (a VM pause) could still emit one late frame's events: the residual
  risk of any lease without fencing tokens at the consumers. Config validation keeps
  `renew period + kv_timeout_s + stop_budget_s < lease_ttl_s`, so a healthy worker renews before its fence.

`--activity-log FILE` appends one JSON line per claim, renewal, release, loss and analysed frame
(camera, worker, the revision that claimed it, wall time): an independent record to audit the above
(the tests do).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from safecity.bus.base import Bus, Handler, Unsubscribe
from safecity.bus.nats import NatsBus
from safecity.bus.nats_loop import LoopThread, connect
from safecity.cluster.leases import Lease, LeaseError, LeaseTable
from safecity.config.models import CameraConfig, Settings
from safecity.media.storage import LocalMediaStorage, MediaStorage
from safecity.pipeline.analyzer import Analysis, FrameAnalyzer
from safecity.pipeline.worker import CameraWorker
from safecity.store.writer import durable_bus
from safecity.types import Event, Frame, empty_tracks
from safecity.vision.detector import Detector

log = logging.getLogger(__name__)
FAILED_CAMERA_COOLDOWN_S = 30.0
STOP_JOIN_S = 15.0


class ActivityLog:
    """Append-only JSON lines, flushed per line (so a SIGKILL loses nothing already recorded)."""

    def __init__(self, path: Path | None, worker_id: str) -> None:
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self._file: IO[str] | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._file = path.open("a", encoding="utf-8", buffering=1)

    def record(self, op: str, camera: str, claim: int, **extra: Any) -> None:
        if self._file is None:
            return
        line = {"t": time.time(), "worker": self.worker_id, "op": op, "camera": camera, "claim": claim}
        with self._lock:
            self._file.write(json.dumps({**line, **extra}) + "\n")

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


class Fence:
    """Whether a camera may still produce output under its lease (thread-safe)."""

    def __init__(self, lease: Lease) -> None:
        self._lock = threading.Lock()
        self._lease = lease
        self._revoked = False
        self.claim = lease.revision  # identifies this tenure of the camera in the activity log

    @property
    def lease(self) -> Lease:
        return self._lease

    def is_open(self) -> bool:
        with self._lock:
            return not self._revoked and time.monotonic() < self._lease.deadline

    def extend(self, lease: Lease) -> None:
        with self._lock:
            if not self._revoked:
                self._lease = lease

    def revoke(self) -> None:
        with self._lock:
            self._revoked = True


class LeasedAnalyzer(FrameAnalyzer):
    """A `FrameAnalyzer` whose results only count while its fence is open (see the module docstring)."""

    def __init__(
        self,
        camera: CameraConfig,
        settings: Settings,
        detector: Detector,
        fence: Fence,
        activity: ActivityLog,
    ) -> None:
        super().__init__(camera, settings, detector)
        self.fence = fence
        self.activity = activity

    def analyse(self, frame: Frame) -> Analysis:
        if not self.fence.is_open():
            return Analysis(frame, empty_tracks(), [], detected=False)
        result = super().analyse(frame)
        if not self.fence.is_open():  # the deadline passed during the analysis: nothing leaves
            return Analysis(frame, result.tracks, [], detected=result.detected)
        self.activity.record("frame", self.camera.id, self.fence.claim, seq=frame.seq)
        return result


class FencedBus:
    """The shared bus as one camera sees it: publishes only while that camera's fence is open."""

    def __init__(self, bus: Bus, fence: Fence) -> None:
        self.bus = bus
        self.fence = fence
        self.dropped = 0

    def publish(self, event: Event) -> None:
        if self.fence.is_open():
            self.bus.publish(event)
        else:
            self.dropped += 1

    def subscribe(self, handler: Handler, durable: str | None = None) -> Unsubscribe:
        return self.bus.subscribe(handler, durable)

    def close(self) -> None:
        """The shared bus belongs to the worker process, which closes it."""


@dataclass
class _Held:
    fence: Fence
    worker: CameraWorker


def rendezvous_order(worker_id: str, cameras: list[str]) -> list[str]:
    """Cameras in this worker's preference order (highest random weight first)."""
    return sorted(cameras, key=lambda c: hashlib.sha1(f"{worker_id}/{c}".encode()).digest(), reverse=True)


class ClusterWorker:
    """One `safecity worker` process; `run(stop)` until `stop` is set. See the module docstring."""

    def __init__(
        self,
        settings: Settings,
        worker_id: str,
        *,
        detector: Detector | None = None,
        media: MediaStorage | None = None,
        activity_log: Path | None = None,
    ) -> None:
        if settings.bus.type != "nats":
            raise ValueError("safecity worker needs bus.type: nats (cameras are shared through NATS)")
        from safecity.app import build_detector

        self.settings = settings
        self.cfg = settings.cluster
        self.worker_id = worker_id
        self.cameras = {c.id: c for c in settings.cameras if c.enabled}
        self.preference = rendezvous_order(worker_id, list(self.cameras))
        self.activity = ActivityLog(activity_log, worker_id)
        self.detector = detector or build_detector(settings)
        self.media = media or LocalMediaStorage(settings.storage.resolved_media_dir)
        self.held: dict[str, _Held] = {}
        self.cooldown: dict[str, float] = {}
        self._stoppers: list[threading.Thread] = []
        self._next_renew = 0.0
        self._closed = False
        self._loop = LoopThread(f"leases-{worker_id}")
        try:
            self._nc = self._loop.call(connect(settings.bus.url, f"leases-{worker_id}", 5.0), 15.0)
            self.leases = LeaseTable(self._loop, self._nc.jetstream(), self.cfg, worker_id)
            self.bus = durable_bus(settings, NatsBus(settings.bus, name=f"worker-{worker_id}"))
        except BaseException:
            self._loop.stop()
            raise

    def run(self, stop: threading.Event) -> None:
        try:
            while True:
                self.tick()
                if stop.wait(self.cfg.claim_every_s):
                    break
        finally:
            self.close()

    def tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_renew:
            self._next_renew = now + self.cfg.renew_period_s
            self._heartbeat()
            self._renew_all()
        for cam in [c for c, h in self.held.items() if not h.fence.is_open()]:
            self._stop(cam, "expired")  # no renewal reached the server in time: stop before anyone may claim
        self._reap_failed()
        self._balance()

    def _heartbeat(self) -> None:
        try:
            self.leases.heartbeat()
        except LeaseError as exc:
            log.warning("worker %s: heartbeat failed: %s", self.worker_id, exc)

    def _renew_all(self) -> None:
        for cam, held in list(self.held.items()):
            try:
                lease = self.leases.renew(held.fence.lease)
            except LeaseError as exc:
                log.warning("worker %s: lost camera %s (renewal failed: %s)", self.worker_id, cam, exc)
                self._stop(cam, "lost")
                continue
            held.fence.extend(lease)
            self.activity.record("renew", cam, held.fence.claim, revision=lease.revision)

    def _reap_failed(self) -> None:
        for cam, held in list(self.held.items()):
            if held.worker.done and held.worker.metrics.error:
                log.warning(
                    "worker %s: camera %s failed (%s); releasing it",
                    self.worker_id,
                    cam,
                    held.worker.metrics.error,
                )
                self._release(cam)
                self.cooldown[cam] = time.monotonic() + FAILED_CAMERA_COOLDOWN_S

    def share(self) -> int:
        """Cameras this worker may hold: ceil(cameras / live workers)."""
        return math.ceil(len(self.cameras) / len(self.leases.live_workers()))

    def _balance(self) -> None:
        try:
            share = self.share()
        except LeaseError as exc:
            log.warning("worker %s: cannot list live workers: %s", self.worker_id, exc)
            return
        for cam in [c for c in reversed(self.preference) if c in self.held][: max(0, len(self.held) - share)]:
            self._release(cam)  # the ones we like least go first
        now = time.monotonic()
        for cam in self.preference:
            if len(self.held) >= share:
                return
            if cam in self.held or self.cooldown.get(cam, 0.0) > now:
                continue
            try:
                lease = self.leases.claim(cam) if self.leases.holder(cam) is None else None
            except LeaseError as exc:
                log.warning("worker %s: claim of %s failed: %s", self.worker_id, cam, exc)
                return
            if lease is not None:
                self._start(cam, lease)

    def _start(self, cam: str, lease: Lease) -> None:
        camera = self.cameras[cam]
        fence = Fence(lease)
        self.activity.record("claim", cam, lease.revision)
        analyzer = LeasedAnalyzer(camera, self.settings, self.detector, fence, self.activity)
        worker = CameraWorker(camera, analyzer, FencedBus(self.bus, fence), self.media)
        self.held[cam] = _Held(fence, worker)
        worker.start()
        log.info("worker %s: camera %s claimed (revision %d)", self.worker_id, cam, lease.revision)

    def _stop(self, cam: str, reason: str) -> Lease:
        """Revoke the fence now (nothing more leaves), stop the threads in the background."""
        held = self.held.pop(cam)
        held.fence.revoke()
        self.activity.record(reason, cam, held.fence.claim)
        stopper = threading.Thread(target=held.worker.stop, name=f"stop-{cam}", daemon=True)
        stopper.start()
        self._stoppers = [t for t in self._stoppers if t.is_alive()] + [stopper]
        return held.fence.lease

    def _release(self, cam: str) -> None:
        lease = self._stop(cam, "release")
        try:
            self.leases.release(lease)  # after the fence: whoever claims next starts after our last output
        except LeaseError as exc:
            log.warning(
                "worker %s: release of %s failed (it expires by itself): %s", self.worker_id, cam, exc
            )
        log.info("worker %s: camera %s released", self.worker_id, cam)

    def close(self) -> None:
        """Release every camera and the heartbeat (the others take over at once), then disconnect."""
        if self._closed:
            return
        self._closed = True
        for cam in list(self.held):
            self._release(cam)
        try:
            self.leases.leave()
        except LeaseError as exc:
            log.warning("worker %s: heartbeat not removed: %s", self.worker_id, exc)
        for t in self._stoppers:
            t.join(STOP_JOIN_S)
        self.bus.close()
        try:
            self._loop.call(self._nc.close(), 5.0)
        except Exception as exc:
            log.debug("closing the lease connection: %s", exc)
        self._loop.stop()
        self.activity.close()
