"""Live pictures without faces: the head of every tracked person is masked in live snapshots and MJPEG.

The mask comes from the detector's own person boxes (the top `HEAD_FRACTION` of each, enlarged and
pixelated by `safecity.media.face_redaction`), so it costs a few hundred microseconds per frame instead of
a face detector pass (`bench/live_mask.py` measures both). Unmasked live view is a separate, explicit
request (`?unredacted=true`) that needs `media:unredacted` and is written to the audit log once per
viewing session: once per MJPEG stream, and once per `VIEW_SESSION_S` of snapshot polling per credential
and camera (a UI that refreshes a snapshot every second writes one entry, not one a second).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import supervision as sv
from sqlalchemy.engine import Connection, Engine

from safecity.governance import audit
from safecity.media.face_redaction import blur_boxes, head_boxes
from safecity.types import class_ids

PERSON = 0  # COCO class id
UNREDACTED = "media:unredacted"
VIEW_SESSION_S = 300.0
LIVE_VIEW_ACTION = "live.view_unredacted"


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


class LiveViewSessions:
    """Audits unmasked live views once per viewing session (see the module docstring). Thread-safe."""

    def __init__(
        self, session_s: float = VIEW_SESSION_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._session_s = session_s
        self._clock = clock
        self._seen: dict[tuple[str, str], float] = {}
        self._lock = threading.Lock()

    def record(
        self, conn: Connection, username: str, credential: str, camera_id: str, via: str, *, stream: bool
    ) -> bool:
        """Write the audit entry (in the caller's transaction) unless this credential opened this camera's
        snapshots recently; a stream is always a new session. Returns whether an entry was written."""
        key = (credential, camera_id)
        now = self._clock()
        with self._lock:
            last = self._seen.get(key)
            if not stream and last is not None and now - last < self._session_s:
                return False
            self._seen[key] = now
            if len(self._seen) > 10_000:  # forget old sessions (bounded memory)
                cutoff = now - self._session_s
                self._seen = {k: v for k, v in self._seen.items() if v >= cutoff}
        details = {"camera_id": camera_id, "via": via, "kind": "mjpeg" if stream else "snapshot"}
        audit.append(conn, username, LIVE_VIEW_ACTION, f"camera:{camera_id}", details)
        return True


_sessions: dict[int, LiveViewSessions] = {}
_sessions_lock = threading.Lock()


def view_sessions(engine: Engine) -> LiveViewSessions:
    """The sessions tracker of one database (one per node's engine; the engine lives as long as the node)."""
    with _sessions_lock:
        return _sessions.setdefault(id(engine), LiveViewSessions())
