"""Plates on a node: one reader (loaded on the first vehicle, shared), snapshot redaction, and per camera a
plate step that turns each read track into a `plate_reads` row, a crop under `plates/` and a `plate_read`
event without the text. A read that matches an active hotlist entry (`safecity.plates.hotlists`) is a hit:
its read is kept as evidence (`hit`, whatever the non-hit retention), a `plate_hits` row waits for two
people to confirm it, and a `plate_hit` alert goes to the users with `plates:review`.

The step runs on a thread of its own (reading a plate costs ~1 s on a small CPU): the analysis thread
only queues the frame and its tracks. When the queue is full, frames are skipped (counted in `skipped`):
a track then has fewer candidate crops, no event is lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import supervision as sv
from sqlalchemy.orm import Session

from safecity.media.face_redaction import blur_boxes
from safecity.media.plate_redaction import (
    PLATE_GROW,
    VEHICLE_PAD,
    ClipPlateRedactor,
    PhotoPlateRedactor,
    PlateMasker,
    PlateRedactor,
    vehicle_boxes,
)
from safecity.media.snapshots import encode_jpeg
from safecity.media.storage import MediaStorage
from safecity.operations.live import LiveSink
from safecity.pipeline.analyzer import Analysis
from safecity.plates.hits import REVIEW_PERMISSION, NewHit, record_hit
from safecity.plates.hotlists import HotlistMatch, HotlistRegistry
from safecity.plates.models import CROPS_PREFIX, PlateReadRow
from safecity.types import Event, EventKind, Frame, class_ids, new_event_id
from safecity.vision.plate_stage import VEHICLES, PlateStage, TrackPlate
from safecity.vision.plates import PlateReader, PlateReaderConfig
from safecity.vision.plates_config import PlatesConfig
from safecity.vision.plates_models import plate_model_paths

log = logging.getLogger(__name__)
QUEUE_FRAMES = 32
LABEL = "vehicle"
NO_IMAGE = np.zeros((1, 1, 3), np.uint8)


@dataclass(eq=False)
class _Live:
    """Live masking state of one camera: its masker and the plate boxes of the last frame masked."""

    masker: PlateMasker
    frame: tuple[int, float] | None = None  # (seq, ts): a restarted camera counts its frames again
    boxes: np.ndarray | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Plates:
    """The node's plate parts: `redact_snapshot` (every camera), `mask_live` (live view), `clip_redactor`
    (exports), `photo_redactor` (uploaded photos), `step_for(camera)` (cameras that read)."""

    def __init__(
        self,
        config: PlatesConfig,
        cache_dir: Path,
        sessions: Callable[[], Session],
        media: MediaStorage,
        reader: Callable[[], PlateReader] | None = None,
        live: LiveSink | None = None,
    ) -> None:
        self.config, self.cache_dir, self.sessions, self.media = config, cache_dir, sessions, media
        self.live = live
        self.hotlists = HotlistRegistry(sessions, config) if sessions is not None else None
        self._factory = reader or self._load
        self._reader: PlateReader | None = None
        self._lock = threading.Lock()
        self.redactor = PlateRedactor(self.reader)
        # live view and exports get readers of their own: a live frame must not wait behind a read (~1 s)
        self.live_redactor = PlateRedactor(self._factory)
        self.export_redactor = PlateRedactor(self._factory)
        self._live: dict[str, _Live] = {}
        self._live_lock = threading.Lock()
        self.steps: dict[str, PlateStep] = {}

    def _load(self) -> PlateReader:
        cfg = self.config
        settings = PlateReaderConfig(
            countries=cfg.countries,
            min_confidence=cfg.min_confidence,
            max_side=cfg.max_side,
            threads=cfg.threads,
            second_look=cfg.second_look,
        )
        return PlateReader(*plate_model_paths(self.cache_dir), settings)

    def reader(self) -> PlateReader:
        """The one reader of this node (loaded once, on first use; its calls are serialized)."""
        with self._lock:
            if self._reader is None:
                self._reader = self._factory()
            return self._reader

    def redact_snapshot(self, image: np.ndarray, analysis: Analysis, key: str) -> np.ndarray:
        """The snapshot with plate-shaped text in its vehicle boxes blurred (no vehicle: no cost)."""
        tracks = analysis.tracks
        if not self.config.redact or not len(tracks):
            return image
        vehicles = tracks.xyxy[np.isin(class_ids(tracks), VEHICLES)]
        return self.redactor.redact(image, vehicles) if len(vehicles) else image

    def mask_live(self, image: np.ndarray, analysis: Analysis) -> np.ndarray:
        """`image` (the analysed frame, maybe already masked) with the plates of the frame's vehicle tracks
        obscured. Located once per frame of a camera, however many viewers; remembered for a short while
        where the detector misses a plate (`PlateMasker`). Fails closed: vehicle boxes obscured whole."""
        vehicles = vehicle_boxes(analysis.tracks)
        if not self.config.redact or not len(vehicles):
            return image
        frame = analysis.frame
        with self._live_lock:
            live = self._live.setdefault(frame.camera_id, _Live(PlateMasker(self.live_redactor)))
        with live.lock:
            if live.frame != (frame.seq, frame.ts):
                live.boxes = live.masker.boxes(frame.image, vehicles, frame.ts)
                live.frame = (frame.seq, frame.ts)
            plates = live.boxes
        if plates is None:
            return blur_boxes(image, vehicles, grow=VEHICLE_PAD)
        return blur_boxes(image, plates, grow=PLATE_GROW) if len(plates) else image

    def clip_redactor(self, detect: Callable[[np.ndarray], sv.Detections]) -> ClipPlateRedactor | None:
        """A new plate redactor for one clip (vehicles found by `detect`); None with `plates.redact` off."""
        return ClipPlateRedactor(detect, self.export_redactor) if self.config.redact else None

    def photo_redactor(self) -> PhotoPlateRedactor | None:
        """Plates obscured anywhere in an uploaded photo (reports, messages), with the node's one reader
        (a photo may wait behind a read); None with `plates.redact` off."""
        return PhotoPlateRedactor(self.redactor) if self.config.redact else None

    def step_for(self, camera_id: str, publish: Callable[[Event], None]) -> PlateStep | None:
        """The plate step of a camera, or None when this camera reads no plate."""
        if not self.config.reads_on(camera_id):
            return None
        old = self.steps.pop(camera_id, None)
        if old is not None:
            old.close()
        step = PlateStep(camera_id, PlateStage(self.config, self.reader), self, publish)
        step.start()
        self.steps[camera_id] = step
        return step

    def close(self) -> None:
        for step in self.steps.values():
            step.close()


class PlateStep:
    """`observe(analysis)` from the analysis thread; the reading happens on the step's own thread."""

    def __init__(
        self, camera_id: str, stage: PlateStage, plates: Plates, publish: Callable[[Event], None]
    ) -> None:
        self.camera_id, self.stage, self.plates, self.publish = camera_id, stage, plates, publish
        self._queue: queue.Queue[tuple[Frame, sv.Detections] | None] = queue.Queue(QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._run, name=f"plates-{camera_id}", daemon=True)
        self.skipped = 0
        self.reads = 0

    def start(self) -> None:
        self._thread.start()

    def observe(self, analysis: Analysis) -> None:
        frame, tracks = analysis.frame, analysis.tracks
        if not len(tracks) or not np.isin(class_ids(tracks), VEHICLES).any():
            # no vehicle: the stage only needs the time (to release lost tracks), not the picture
            frame = dataclasses.replace(frame, image=NO_IMAGE)
        try:
            self._queue.put_nowait((frame, tracks))
        except queue.Full:
            self.skipped += 1

    def close(self) -> None:
        with contextlib.suppress(queue.Full):
            self._queue.put(None, timeout=5)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            frame, tracks = item
            try:
                for plate in self.stage.observe(frame, tracks):
                    self.record(plate, frame.ts)
            except Exception:  # the plate step never stops the camera
                log.exception("camera %s: plate step failed", self.camera_id)

    def record(self, plate: TrackPlate, ts: float) -> Event:
        """Store the read (a non-hit only with a non-hit period; a hit always, as evidence, and raise it)
        and publish its event (no text in it)."""
        at = datetime.fromtimestamp(ts, tz=UTC)
        event = Event(
            self.camera_id,
            EventKind.PLATE_READ,
            at,
            at,
            label=LABEL,
            track_id=plate.track_id,
            direction=plate.direction or None,
            score=plate.read.confidence,
        )
        hotlists = self.plates.hotlists
        hit = hotlists.match(self.camera_id, plate.read.plate, at) if hotlists is not None else None
        if hit is not None:  # evidence: kept whatever the non-hit retention
            read_id, key = self._store(plate, event, at, hit=True)
            self._hit(plate, at, hit, read_id, key)
        elif self.plates.config.non_hit_retention_hours > 0:
            self._store(plate, event, at)
        self.publish(event)
        self.reads += 1
        return event

    def _hit(self, plate: TrackPlate, at: datetime, m: HotlistMatch, read_id: str, key: str) -> None:
        new = NewHit(
            read_id,
            m.hotlist.id,
            m.entry.entry_id,
            self.camera_id,
            plate.track_id,
            at,
            plate.read.plate,
            m.entry.plate,
            m.fuzzy,
            plate.read.confidence,
            key,
        )
        with self.plates.sessions() as session:
            row = record_hit(session, new)
            hit_id, confidence, status = row.id, row.confidence, row.status  # before commit expires them
            session.commit()
        log.warning("camera %s: plate hit %d on hotlist %d, pending confirmation", self.camera_id, hit_id,
                    m.hotlist.id)  # fmt: skip
        if self.plates.live is not None:
            alert = {
                "id": hit_id,
                "camera_id": self.camera_id,
                "hotlist_id": m.hotlist.id,
                "hotlist": m.hotlist.name,
                "plate": plate.read.plate,
                "listed": m.entry.plate,
                "fuzzy": m.fuzzy,
                "confidence": confidence,
                "crop": f"/api/hotlists/hits/{hit_id}/crop",
                "seen_at": at.isoformat(),
                "status": status,
            }
            self.plates.live.broadcast("plate_hit", alert, self.camera_id, permission=REVIEW_PERMISSION)

    def _store(self, plate: TrackPlate, event: Event, at: datetime, hit: bool = False) -> tuple[str, str]:
        read_id = new_event_id()
        key = f"{CROPS_PREFIX}/{self.camera_id}/{read_id}.jpg"
        self.plates.media.put(key, encode_jpeg(plate.crop))
        row = PlateReadRow(
            id=read_id,
            event_id=event.id,
            camera_id=self.camera_id,
            track_id=plate.track_id,
            plate=plate.read.plate,
            confidence=plate.read.confidence,
            country=plate.read.country,
            direction=plate.direction,
            crop=key,
            hit=hit,
            seen_at=at,
        )
        with self.plates.sessions() as session:
            session.add(row)
            session.commit()
        return read_id, key


def attach_plates(
    config: PlatesConfig,
    cache_dir: Path,
    sessions: Callable[[], Session],
    media: MediaStorage,
    live: LiveSink | None = None,
) -> Plates:
    return Plates(config, cache_dir, sessions, media, live=live)
