"""The face step of a camera: runs only while an authorized watchlist is active on that camera.

For each person track, `BestFrames` keeps a few candidate crops (bounded) and releases them once; the face
step detects the face in the best crop, computes its template, compares it with the active watchlists of
the camera and then:

- no match: the template and every crop are zeroed in memory at once (G8); only a count is kept;
- match: a face crop is stored for the reviewers and the match is recorded pending review (G5), audited.

With no active watchlist for the camera nothing is buffered and no face is ever computed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy.orm import Session

from safecity.biometrics.common import log_action, now_utc
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.matches import NewMatch, record_match
from safecity.biometrics.watchlists import ActiveList, active_watchlists, sweep
from safecity.media.snapshots import encode_jpeg
from safecity.media.storage import ManagedStorage
from safecity.pipeline.analyzer import Analysis
from safecity.vision.faces import BestFrames, Candidate, CenterFaceDetector, FaceEmbedder, discard, distance

log = logging.getLogger(__name__)
MATCH_PREFIX = "biometrics/matches"
CROP_MIN_SIDE = 192  # person head crops are enlarged to this for the face detector


@dataclass(frozen=True, slots=True)
class Hit:
    watchlist: ActiveList
    entry_id: int
    score: float


def best_match(template: np.ndarray, lists: list[ActiveList]) -> Hit | None:
    """The best entry at or above its watchlist's threshold (score = 1 - distance), if any."""
    best: Hit | None = None
    for wl in lists:
        d = distance(template, wl.templates)
        j = int(np.argmin(d))
        score = 1.0 - float(d[j])
        if score >= wl.threshold and (best is None or score > best.score):
            best = Hit(wl, int(wl.entry_ids[j]), score)
        d.fill(0)
    return best


class WatchlistRegistry:
    """The active watchlists, re-read (after a sweep) every `refresh_s`; an expiry between two reads is
    still honoured because every list carries its end time."""

    def __init__(
        self, sessions: Callable[[], Session], config: BiometricsConfig, delete_media: Callable[[str], object]
    ) -> None:
        self.sessions, self.config, self.delete_media = sessions, config, delete_media
        self._lists: list[ActiveList] = []
        self._loaded = float("-inf")
        self._lock = threading.Lock()

    def refresh(self, at: datetime | None = None) -> list[ActiveList]:
        with self._lock:
            with self.sessions() as db:
                sweep(db, self.config, self.delete_media, at)
                self._lists = active_watchlists(db, self.config, at)
                db.commit()
            self._loaded = time.monotonic()
            return self._lists

    def active_for(self, camera_id: str, at: datetime | None = None) -> list[ActiveList]:
        at = at or now_utc()
        if time.monotonic() - self._loaded >= self.config.refresh_s:
            try:
                self.refresh(at)
            except Exception:  # the store is briefly unavailable: keep the last lists (they still expire)
                log.exception("watchlists could not be refreshed")
        return [w for w in self._lists if camera_id in w.cameras and at < w.ends_at]


@dataclass(slots=True)
class FaceCounts:
    faces: int = 0  # templates computed
    matched: int = 0
    discarded: int = 0  # templates of non-matches, zeroed in memory
    since: datetime | None = None


class FaceModels:
    """CenterFace + dlib, loaded on first use (cameras without an active watchlist never load them)."""

    def __init__(self, loader: Callable[[], tuple[CenterFaceDetector, FaceEmbedder]]) -> None:
        self._loader = loader
        self._models: tuple[CenterFaceDetector, FaceEmbedder] | None = None
        self._lock = threading.Lock()

    def get(self) -> tuple[CenterFaceDetector, FaceEmbedder]:
        with self._lock:
            if self._models is None:
                self._models = self._loader()
            return self._models


class FaceStage:
    """`observe(analysis)`: the per-camera face step, called by the camera worker after each frame."""

    def __init__(
        self,
        camera_id: str,
        registry: WatchlistRegistry,
        models: FaceModels,
        sessions: Callable[[], Session],
        media: ManagedStorage,
        config: BiometricsConfig,
        notify: Callable[[dict[str, object]], None] | None = None,
    ) -> None:
        self.camera_id, self.registry, self.models = camera_id, registry, models
        self.sessions, self.media, self.config, self.notify = sessions, media, config, notify
        self.buffer = BestFrames(
            per_track=config.per_track,
            window_s=config.track_window_s,
            max_tracks=config.max_tracks,
            min_height_px=config.min_person_px,
        )
        self.counts = FaceCounts()
        self.face_s = 0.0  # time spent detecting and embedding faces
        self._flushed = time.monotonic()

    def observe(self, analysis: Analysis) -> None:
        try:
            lists = self.registry.active_for(self.camera_id) if self.config.enabled else []
            if not lists:
                if len(self.buffer):
                    self.buffer.clear()
                return
            for tid, candidates in self.buffer.observe(analysis.frame, analysis.tracks):
                self._process(tid, candidates, lists)
            if time.monotonic() - self._flushed >= self.config.counts_flush_s:
                self.flush()
        except Exception:  # the face step never stops the camera
            log.exception("camera %s: face step failed", self.camera_id)

    def _process(self, tid: int, candidates: list[Candidate], lists: list[ActiveList]) -> None:
        started = time.perf_counter()
        detector, embedder = self.models.get()
        try:
            for cand in candidates[: self.config.candidates_tried]:
                faces = detector.detect(
                    cand.crop, min_side=CROP_MIN_SIDE, threshold=self.config.detect_threshold
                )
                heights = faces.xyxy[:, 3] - faces.xyxy[:, 1]
                if not len(faces) or heights.max() < self.config.min_face_px:
                    continue
                box = faces.xyxy[int(np.argmax(heights))]
                template = embedder.embed(cand.crop, box)
                try:
                    hit = best_match(template, lists)
                finally:
                    discard(template)  # matched or not, the probe's template is not kept
                self.counts.since = self.counts.since or now_utc()
                self.counts.faces += 1
                if hit is None:
                    self.counts.discarded += 1
                else:
                    self.counts.matched += 1
                    self._record(tid, cand, box, hit)
                return
        finally:
            for cand in candidates:
                discard(cand.crop)
            self.face_s += time.perf_counter() - started

    def _record(self, tid: int, cand: Candidate, box: np.ndarray, hit: Hit) -> None:
        seen = datetime.fromtimestamp(cand.ts, UTC)
        name = f"{hit.watchlist.id}-{tid}-{int(cand.ts * 1000)}.jpg"
        key = f"{MATCH_PREFIX}/{self.camera_id}/{seen:%Y-%m-%d}/{name}"
        crop = _face_region(cand.crop, box)
        self.media.put(key, encode_jpeg(crop))
        discard(crop)
        match = NewMatch(
            hit.watchlist.id, hit.entry_id, self.camera_id, tid, seen, hit.score, hit.watchlist.threshold, key
        )
        try:
            with self.sessions() as db:
                row = record_match(db, match)
                db.commit()
        except Exception:  # no crop without its row
            self.media.delete(key)
            raise
        log.warning(
            "camera %s: face match %d on watchlist %d, pending review",
            self.camera_id,
            row.id,
            hit.watchlist.id,
        )
        if self.notify is not None:
            self.notify(
                {
                    "id": row.id,
                    "watchlist_id": hit.watchlist.id,
                    "camera_id": self.camera_id,
                    "score": row.score,
                    "seen_at": seen.isoformat(),
                    "status": row.status,
                }
            )

    def flush(self) -> None:
        """Audit the face counts since the last flush (counts only: no face, no template)."""
        self._flushed = time.monotonic()
        c = self.counts
        if c.faces == 0:
            return
        self.counts = FaceCounts()
        with self.sessions() as db:
            log_action(
                db,
                "safecity",
                "biometrics.faces_processed",
                f"camera:{self.camera_id}",
                {
                    "faces": c.faces,
                    "matched": c.matched,
                    "discarded": c.discarded,
                    "since": (c.since or now_utc()).isoformat(),
                },
            )
            db.commit()


def _face_region(image: np.ndarray, box: np.ndarray, margin: float = 0.3) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    mx, my = (x2 - x1) * margin, (y2 - y1) * margin
    return image[
        int(max(0, y1 - my)) : int(min(h, y2 + my)), int(max(0, x1 - mx)) : int(min(w, x2 + mx))
    ].copy()
