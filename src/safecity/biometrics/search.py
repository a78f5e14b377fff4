"""Retrospective face search (G3): only inside an authorized case, over bounded time and cameras.

A search names an authorization in force (the case: its reference and purpose), cameras it covers, a
closed time range in the past no longer than `max_search_hours`, and a reason. It reads the unblurred
originals of the event snapshots in that range (kept only under `redaction.keep_originals`; stored
snapshots are blurred), compares every face found with the probe, and returns the events whose faces
score at or above the threshold. Every template computed is zeroed right after its comparison; the search,
its counts and its hits are audited.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import cv2
import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.authorizations import get_authorization, require_in_force
from safecity.biometrics.common import Actor, InvalidError, PolicyError, aware, log_action, now_utc
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.models import SearchRow
from safecity.biometrics.safeguards import check_within_authorization
from safecity.media.storage import MediaNotFoundError, MediaStorage
from safecity.store.models import EventRow
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder, discard, distance


@dataclass(frozen=True, slots=True)
class SearchRequest:
    authorization_id: int
    cameras: Sequence[str]
    start: datetime
    end: datetime
    reason: str
    threshold: float | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    event_id: str
    camera_id: str
    at: datetime
    score: float
    snapshot: str


def single_face_template(
    image: np.ndarray, detector: CenterFaceDetector, embedder: FaceEmbedder
) -> np.ndarray:
    """The template of the one face in an enrolment or probe photo (InvalidError for none or several)."""
    faces = detector.detect(image, threshold=0.5)
    if len(faces) != 1:
        raise InvalidError(f"the photo must show exactly one face; found {len(faces)}")
    return embedder.embed(image, faces.xyxy[0])


def decode_image(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR) if data else None
    if image is None:
        raise InvalidError("not a readable image (JPEG or PNG)")
    return np.asarray(image)


def _check(
    db: Session, req: SearchRequest, config: BiometricsConfig, now: datetime
) -> tuple[list[str], float]:
    cameras = sorted({c for c in req.cameras if c})
    if not cameras:
        raise PolicyError("a retrospective search names its cameras")
    start, end = aware(req.start), aware(req.end)
    if not start < end <= now:
        raise PolicyError("a retrospective search covers a closed time range in the past")
    if end - start > timedelta(hours=config.max_search_hours):
        raise PolicyError(f"a retrospective search covers at most {config.max_search_hours:g} h")
    if not req.reason.strip():
        raise PolicyError("a retrospective search states its reason")
    auth = get_authorization(db, req.authorization_id)
    require_in_force(auth, now, cameras)
    check_within_authorization(auth, start, end)
    threshold = config.default_threshold if req.threshold is None else req.threshold
    if threshold < config.validated_min_score:
        raise PolicyError(
            f"a search threshold below the validated minimum {config.validated_min_score} is refused"
        )
    return cameras, threshold


def check_request(db: Session, req: SearchRequest, config: BiometricsConfig) -> None:
    """The policy checks of a search (PolicyError, NotFoundError), before it is queued."""
    _check(db, req, config, now_utc())


class SearchCancelled(Exception):
    """The search was stopped by its requester; what it had scanned is in the audit log."""


def _scan(
    rows: Sequence[Any],
    probe: np.ndarray,
    threshold: float,
    config: BiometricsConfig,
    media: MediaStorage,
    models: tuple[CenterFaceDetector, FaceEmbedder],
    originals: str,
    progress: Callable[[int, int], bool] | None,
    stop: Callable[[int, int], SearchCancelled],
) -> tuple[list[SearchHit], int, int]:
    """Compare the probe with every face of the snapshots' originals; (hits, scanned, compared)."""
    detector, embedder = models
    hits: list[SearchHit] = []
    scanned = compared = 0
    for i, (event_id, camera_id, at, snapshot) in enumerate(rows):
        if progress is not None and not progress(i, len(rows)):
            raise stop(scanned, compared)
        if snapshot is None:
            continue
        try:
            image = decode_image(media.get(f"{originals}/{snapshot}"))
        except MediaNotFoundError:
            continue  # no original kept for this snapshot (redaction policy)
        scanned += 1
        best = 0.0
        for box in detector.detect(image, threshold=config.detect_threshold).xyxy:
            template = embedder.embed(image, box)
            best = max(best, 1.0 - float(distance(probe, template[None, :])[0]))
            discard(template)
            compared += 1
        discard(image)
        if best >= threshold:
            hits.append(SearchHit(event_id, camera_id, at, round(best, 4), snapshot))
    if progress is not None:
        progress(len(rows), len(rows))
    return hits, scanned, compared


def retrospective_search(
    db: Session,
    req: SearchRequest,
    probe: np.ndarray,
    actor: Actor,
    config: BiometricsConfig,
    media: MediaStorage,
    models: tuple[CenterFaceDetector, FaceEmbedder],
    originals: str = "originals",
    progress: Callable[[int, int], bool] | None = None,
) -> tuple[SearchRow, list[SearchHit]]:
    """Run an authorized search; the caller discards `probe` afterwards. `progress(done, total)` is called
    before each snapshot; when it returns False the search stops (audited) with `SearchCancelled`."""
    now = now_utc()
    cameras, threshold = _check(db, req, config, now)
    rows = list(
        db.execute(
            select(EventRow.id, EventRow.camera_id, EventRow.start, EventRow.snapshot)
            .where(
                EventRow.camera_id.in_(cameras),
                EventRow.start >= aware(req.start),
                EventRow.start < aware(req.end),
                EventRow.snapshot.is_not(None),
            )
            .order_by(EventRow.start)
            .limit(config.max_search_snapshots + 1)
        )
    )
    if len(rows) > config.max_search_snapshots:
        raise PolicyError(f"more than {config.max_search_snapshots} snapshots in range: narrow the search")

    def stop(scanned: int, compared: int) -> SearchCancelled:
        details = {"cameras": cameras, "snapshots_in_range": len(rows), "snapshots_scanned": scanned,
                   "faces_compared": compared, "reason": req.reason.strip()}  # fmt: skip
        log_action(db, actor, "biometrics.search.cancelled", f"authorization:{req.authorization_id}", details)
        return SearchCancelled(f"search cancelled after {scanned} of {len(rows)} snapshots")

    hits, scanned, compared = _scan(rows, probe, threshold, config, media, models, originals, progress, stop)
    row = SearchRow(
        authorization_id=req.authorization_id,
        cameras=cameras,
        start=aware(req.start),
        end=aware(req.end),
        reason=req.reason.strip(),
        requested_at=now,
        requested_by=actor.name,
        snapshots_scanned=scanned,
        faces_compared=compared,
        hits=[{"event_id": h.event_id, "score": h.score} for h in hits],
    )
    db.add(row)
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.search",
        f"authorization:{req.authorization_id}",
        {
            "search": row.id,
            "cameras": cameras,
            "start": row.start.isoformat(),
            "end": row.end.isoformat(),
            "reason": row.reason,
            "threshold": threshold,
            "snapshots_in_range": len(rows),
            "snapshots_scanned": scanned,
            "faces_compared": compared,
            "hits": [h.event_id for h in hits],
        },
        now,
    )
    return row, hits
