"""Live pictures without faces or plates: the head of every tracked person and the plate of every tracked
vehicle are masked in live snapshots and MJPEG.

The head mask comes from the detector's own person boxes (the top `HEAD_FRACTION` of each, enlarged and
pixelated by `safecity.media.face_redaction`), so it costs a few hundred microseconds per frame instead of
a face detector pass (`bench/live_mask.py` measures both). Plates are located by the plate models' text
detector inside the vehicle boxes only, once per analysed frame whatever the number of viewers, and held
for a second where the detector misses one (`safecity.plates.runtime.Plates.mask_live`).

Unmasked live view is a separate, explicit request (`?unredacted=true`) that needs `media:unredacted`
and is written to the audit log once per viewing session: once per MJPEG stream, and once per
`safecity.api.viewing.VIEW_SESSION_S` of snapshot polling per credential and camera (a UI that
refreshes a snapshot every second writes one entry).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import supervision as sv
from sqlalchemy.engine import Connection, Engine

from safecity.api.viewing import viewing_sessions
from safecity.media.face_redaction import blur_boxes, head_boxes
from safecity.pipeline.analyzer import Analysis
from safecity.types import class_ids

PERSON = 0  # COCO class id
UNREDACTED = "media:unredacted"
LIVE_VIEW_ACTION = "live.view_unredacted"


class Viewer(Protocol):
    """Who is viewing (`safecity.api.deps.Principal` satisfies it)."""

    @property
    def username(self) -> str: ...

    @property
    def credential_id(self) -> str: ...

    @property
    def via(self) -> str: ...


def person_boxes(tracks: sv.Detections) -> np.ndarray:
    """The xyxy boxes of the people in `tracks` (N, 4)."""
    if not len(tracks):
        return np.zeros((0, 4), np.float32)
    return np.asarray(tracks.xyxy, np.float32)[class_ids(tracks) == PERSON]


def mask_heads(image: np.ndarray, tracks: sv.Detections) -> np.ndarray:
    """A copy of `image` with the head region of every tracked person obscured (the frame is untouched)."""
    people = person_boxes(tracks)
    if not len(people):
        return image.copy()
    return blur_boxes(image, head_boxes(people))


class LivePlates(Protocol):
    """Plate masking of live frames (`safecity.plates.runtime.Plates` satisfies it)."""

    def mask_live(self, image: np.ndarray, analysis: Analysis) -> np.ndarray: ...


def mask_live(analysis: Analysis, plates: LivePlates | None) -> np.ndarray:
    """The analysed frame as a viewer without `media:unredacted` sees it: a copy with the heads of its
    people and the plates of its vehicles obscured."""
    image = mask_heads(analysis.frame.image, analysis.tracks)
    return plates.mask_live(image, analysis) if plates is not None else image


def record_live_view(conn: Connection, engine: Engine, who: Viewer, camera_id: str, *, stream: bool) -> bool:
    """Audit an unmasked live view: once per MJPEG stream, once per viewing session of snapshots."""
    details = {"camera_id": camera_id, "via": who.via, "kind": "mjpeg" if stream else "snapshot"}
    sessions = viewing_sessions(engine)
    subject = f"camera:{camera_id}"
    return sessions.record(
        conn, who.credential_id, who.username, LIVE_VIEW_ACTION, subject, details, always=stream
    )
