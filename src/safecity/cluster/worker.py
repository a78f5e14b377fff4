"""`safecity worker`: a process that runs the cameras it holds a lease on, on one of many hosts.

This module is lease logic only: a camera is built by the node's `CameraFactory` (`safecity.runtime`),
exactly as in `safecity serve` (analysis, face step, redacted snapshots, recording), with the lease as
its gate. The cameras come from the database (seeded from the settings file the first time); a camera
added, changed or disabled through the API is announced on NATS (`safecity.cluster.changes`) and applied
on the next tick: a held camera restarts under the same lease, a disabled one is released, a new one is
claimed by whichever worker the balance picks.

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
  event or snapshot is produced (`GatedAnalyzer`), and again at publish (`GatedBus`), A checks that
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
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safecity.bus.nats import NatsBus
from safecity.bus.nats_loop import LoopThread, connect
from safecity.bus.nats_security import connect_options
from safecity.cluster.changes import RESYNC_S, ChangeInbox, changes_subject
from safecity.cluster.leases import Lease, LeaseError, LeaseTable
from safecity.config.models import CameraConfig, Settings
from safecity.governance.audit_witness import install as install_audit_key
from safecity.media.config import build_storage
from safecity.media.storage import MediaStorage
from safecity.operations.live import NullLive
from safecity.runtime.camera import CameraFactory, CameraRuntime
from safecity.runtime.services import CameraServices, build_camera_services
from safecity.store import make_engine, upgrade
from safecity.store.cameras import CameraRowInvalid, list_cameras, seed_cameras, to_config
from safecity.store.writer import durable_bus
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


class LeaseGate:
    """A camera runtime's gate (`safecity.runtime.camera.Gate`): its lease's fence, and the activity log."""

    def __init__(self, fence: Fence, activity: ActivityLog, camera_id: str) -> None:
        self.fence, self.activity, self.camera_id = fence, activity, camera_id

    def is_open(self) -> bool:
        return self.fence.is_open()

    def analysed(self, seq: int) -> None:
        self.activity.record("frame", self.camera_id, self.fence.claim, seq=seq)


@dataclass
class _Held:
    fence: Fence
    runtime: CameraRuntime


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
        self.settings = settings
        self.cfg = settings.cluster
        self.worker_id = worker_id
        self.activity = ActivityLog(activity_log, worker_id)
        self.held: dict[str, _Held] = {}
        self.cooldown: dict[str, float] = {}
        self.inbox = ChangeInbox()
        self._stoppers: list[threading.Thread] = []
        self._next_renew = 0.0
        self._next_resync = time.monotonic() + RESYNC_S
        self._closed = False
        self.engine = self._database(settings)
        # face matches and media actions of this worker's cameras are audit entries: signed and witnessed
        storage_cfg = settings.storage
        self._sealer = install_audit_key(
            storage_cfg.resolved_database_url, settings.audit, storage_cfg.data_dir
        )
        self.cameras = self._seed_and_load(settings.cameras)
        self.preference = rendezvous_order(worker_id, list(self.cameras))
        self._loop = LoopThread(f"leases-{worker_id}")
        try:
            self._nc = self._loop.call(
                connect(settings.bus.url, f"leases-{worker_id}", 5.0, connect_options(settings.bus)), 15.0
            )
            self.leases = LeaseTable(self._loop, self._nc.jetstream(), self.cfg, worker_id)
            self._loop.call(self._nc.subscribe(changes_subject(self.cfg), cb=self.inbox.on_message), 5.0)
            self.bus = durable_bus(settings, NatsBus(settings.bus, name=f"worker-{worker_id}"))
            storage = media or build_storage(settings.media, settings.storage.resolved_media_dir)
            # the same camera services as `serve`, minus what runs once per cluster (retention)
            self.services: CameraServices = build_camera_services(
                settings, engine=self.engine, bus=self.bus, media=storage, live=NullLive(),
                detector=detector, record=True, retention=False, clips_durable=None,
            )  # fmt: skip
            self.services.data_center.start()
        except BaseException:
            self._loop.stop()
            self._sealer.close()
            self.engine.dispose()
            raise

    @property
    def factory(self) -> CameraFactory:
        return self.services.factory

    @staticmethod
    def _database(settings: Settings) -> Engine:
        settings.storage.data_dir.mkdir(parents=True, exist_ok=True)
        url = settings.storage.resolved_database_url
        upgrade(url)
        return make_engine(url)

    def _seed_and_load(self, seeds: Iterable[CameraConfig]) -> dict[str, CameraConfig]:
        """Add the settings file's cameras the database lacks (as `serve` does), then read them all."""
        with Session(self.engine) as db:
            try:
                seed_cameras(db, seeds)
                db.commit()
            except IntegrityError:  # another node seeded them at the same moment
                db.rollback()
        loaded = self._load(None)
        return {cid: cfg for cid, cfg in loaded.items() if cfg is not None and cfg.enabled}

    def _load(self, ids: set[str] | None) -> dict[str, CameraConfig | None]:
        """The cameras `ids` (None: all) as stored; None for one that is gone or no longer validates."""
        out: dict[str, CameraConfig | None] = dict.fromkeys(ids or (), None)
        with Session(self.engine) as db:
            for row in list_cameras(db, ids):
                try:
                    out[row.id] = to_config(row)
                except CameraRowInvalid as exc:
                    log.error("worker %s: %s", self.worker_id, exc)
                    out[row.id] = None
        return out

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
        self._apply_changes(now)
        self._reap_failed()
        self._balance()

    def _apply_changes(self, now: float) -> None:
        """Follow the database: cameras announced since the last tick, or all of them now and then."""
        ids: set[str] | None = self.inbox.take()
        if now >= self._next_resync:
            self._next_resync, ids = now + RESYNC_S, None
        elif not ids:
            return
        try:
            loaded = self._load(ids)
        except Exception as exc:  # the database is away: keep running what we have
            log.warning("worker %s: cameras not re-read: %s", self.worker_id, exc)
            return
        if ids is None:
            loaded = {**dict.fromkeys(self.cameras), **loaded}  # a camera deleted from the table goes too
        for cam, cfg in loaded.items():
            if cfg is None or not cfg.enabled:
                if self.cameras.pop(cam, None) is not None and cam in self.held:
                    self._release(cam)
                continue
            old, self.cameras[cam] = self.cameras.get(cam), cfg
            if cam in self.held and old != cfg:
                self._restart(cam)
        self.preference = rendezvous_order(self.worker_id, list(self.cameras))

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
            if held.runtime.done and held.runtime.metrics.error:
                log.warning(
                    "worker %s: camera %s failed (%s); releasing it",
                    self.worker_id,
                    cam,
                    held.runtime.metrics.error,
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
        fence = Fence(lease)
        self.activity.record("claim", cam, lease.revision)
        runtime = self.services.factory.build(self.cameras[cam], LeaseGate(fence, self.activity, cam))
        self.held[cam] = _Held(fence, runtime)
        runtime.start()
        log.info("worker %s: camera %s claimed (revision %d)", self.worker_id, cam, lease.revision)

    def _restart(self, cam: str) -> None:
        """A held camera changed: a new runtime under the same lease, once the old one has stopped."""
        held = self.held[cam]
        new = self.services.factory.build(self.cameras[cam], LeaseGate(held.fence, self.activity, cam))
        old, held.runtime = held.runtime, new

        def swap() -> None:
            old.stop()
            new.start()

        self._background(swap, f"restart-{cam}")
        log.info("worker %s: camera %s changed; restarting it", self.worker_id, cam)

    def _background(self, target: Any, name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._stoppers = [t for t in self._stoppers if t.is_alive()] + [thread]

    def _stop(self, cam: str, reason: str) -> Lease:
        """Revoke the fence now (nothing more leaves), stop the runtime in the background."""
        held = self.held.pop(cam)
        held.fence.revoke()
        self.activity.record(reason, cam, held.fence.claim)
        self._background(held.runtime.stop, f"stop-{cam}")
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
        self.services.close()
        try:
            self._loop.call(self._nc.close(), 5.0)
        except Exception as exc:
            log.debug("closing the lease connection: %s", exc)
        self._loop.stop()
        self._sealer.close()
        self.engine.dispose()
        self.activity.close()
