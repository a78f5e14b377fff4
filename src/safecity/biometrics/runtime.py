"""Wiring of biometrics into a node: the watchlist registry and its sweeper, one face step per camera, and
snapshot redaction. Nodes call `attach_biometrics(settings, sessions, live)`; models load on first use
only, so a node without an active watchlist never loads the face embedding, and one that writes no
snapshot never loads the face detector.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy.orm import Session

from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.stage import FaceModels, FaceStage, WatchlistRegistry
from safecity.media.face_redaction import FaceRedactor
from safecity.media.snapshots import encode_jpeg
from safecity.media.storage import LocalMediaStorage
from safecity.operations.live import LiveSink
from safecity.pipeline.analyzer import Analysis
from safecity.types import class_ids
from safecity.vision.faces import PERSON, CenterFaceDetector, FaceEmbedder
from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
from safecity.vision.models import default_cache_dir

if TYPE_CHECKING:
    from safecity.config.models import Settings

log = logging.getLogger(__name__)
ORIGINALS_PREFIX = "originals"
REVIEW_PERMISSION = "biometrics:review"


def original_key(snapshot_key: str) -> str:
    """Where the unblurred original of a snapshot is kept (only when `keep_originals` is on)."""
    return f"{ORIGINALS_PREFIX}/{snapshot_key}"


class Biometrics:
    def __init__(
        self,
        sessions: Callable[[], Session],
        live: LiveSink,
        config: BiometricsConfig,
        cache_dir: Path,
        sealed_dir: Path,
    ) -> None:
        self.sessions, self.live, self.config, self.cache_dir = sessions, live, config, cache_dir
        # match crops and unblurred originals: a store of their own, which the media API does not serve
        self.sealed = LocalMediaStorage(sealed_dir)
        self.registry = WatchlistRegistry(sessions, config, self.sealed.delete)
        self.models = FaceModels(self._load_models)
        self.redactor = FaceRedactor(
            self._load_detector, threshold=config.redaction.threshold, max_side=config.redaction.max_side
        )
        self.stages: dict[str, FaceStage] = {}
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def _load_detector(self) -> CenterFaceDetector:
        return CenterFaceDetector(
            face_model_path(self.cache_dir, CENTERFACE),
            threads=self.config.threads,
            threshold=self.config.detect_threshold,
        )

    def _load_models(self) -> tuple[CenterFaceDetector, FaceEmbedder]:
        embedder = FaceEmbedder(
            face_model_path(self.cache_dir, SHAPE_PREDICTOR_5),
            face_model_path(self.cache_dir, DLIB_RESNET),
            flip=self.config.flip_average,
            hog_box=self.config.hog_box,
        )
        return self._load_detector(), embedder

    def stage_for(self, camera_id: str) -> FaceStage:
        """The face step of a camera (a new one each time its worker is created)."""
        stage = FaceStage(
            camera_id,
            self.registry,
            self.models,
            self.sessions,
            self.sealed,
            self.config,
            notify=self._notify,
        )
        old = self.stages.pop(camera_id, None)
        if old is not None:
            old.flush()
        self.stages[camera_id] = stage
        return stage

    def _notify(self, data: dict[str, object]) -> None:
        camera = data.get("camera_id")
        self.live.broadcast(
            "face_match", data, camera if isinstance(camera, str) else None, permission=REVIEW_PERMISSION
        )

    def redact_snapshot(self, image: np.ndarray, analysis: Analysis, key: str) -> np.ndarray:
        """The snapshot to store: faces and heads blurred. The unblurred original is kept (separately,
        under `originals/`) only when the redaction policy says so."""
        policy = self.config.redaction
        if not policy.enabled:
            return image
        if policy.keep_originals:
            self.sealed.put(original_key(key), encode_jpeg(image))
        tracks = analysis.tracks
        people = tracks.xyxy[class_ids(tracks) == PERSON] if policy.heads and len(tracks) else None
        return self.redactor.with_people(image, people)

    def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = threading.Thread(target=self._sweep_loop, name="biometrics-sweep", daemon=True)
            self._sweeper.start()

    def _sweep_loop(self) -> None:
        while not self._stop.wait(self.config.refresh_s):
            try:
                self.registry.refresh()
                self.expire_originals()
            except Exception:
                log.exception("biometrics sweep failed")

    def expire_originals(self, now: datetime | None = None) -> int:
        """Delete unblurred originals older than `redaction.originals_days`; how many."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=self.config.redaction.originals_days)
        old = [o.key for o in self.sealed.list_objects(ORIGINALS_PREFIX) if o.modified < cutoff]
        return self.sealed.delete_many(old)

    def close(self) -> None:
        self._stop.set()
        if self._sweeper is not None:
            self._sweeper.join(timeout=5)
        for stage in self.stages.values():
            try:
                stage.flush()
            except Exception:
                log.exception("face counts of camera %s not audited", stage.camera_id)


def attach_biometrics(settings: Settings, sessions: Callable[[], Session], live: LiveSink) -> Biometrics:
    cache = settings.models.cache_dir or default_cache_dir()
    sealed = settings.biometrics.sealed_dir or settings.storage.data_dir / "sealed"
    bio = Biometrics(sessions, live, settings.biometrics, cache, sealed)
    bio.start()
    return bio
