"""Public-report photos stored face- and plate-blurred, with the original kept apart (DESIGN: stored
pictures have faces and plates blurred unless a privileged, audited request asks otherwise).

A report's `photo_key` names the blurred copy (`reports/<day>/<id>.<ext>`): what triage sees. The
sanitised original (metadata already stripped) is stored under `reports-originals/` with the same day and
id, and is served only to `media:unredacted`, audited. The redactor (faces then plates,
`safecity.api.photo_privacy`) fails closed (whole picture obscured) when it has no model, so a photo is
never stored unblurred under `reports/`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import cv2
import numpy as np

from safecity.media.redaction import Redactor
from safecity.media.safe_image import serialized
from safecity.media.storage import MediaStorage

REPORTS_PREFIX = "reports"
ORIGINALS_PREFIX = "reports-originals"


def original_key(photo_key: str) -> str:
    """Where the original of the blurred photo `photo_key` is kept."""
    prefix, _, rest = photo_key.partition("/")
    if prefix != REPORTS_PREFIX or not rest:
        raise ValueError(f"not a report photo key: {photo_key!r}")
    return f"{ORIGINALS_PREFIX}/{rest}"


def blurred(clean: bytes, ext: str, redactor: Redactor) -> bytes:
    """The photo re-encoded (same format) with its faces (and plates) blurred by `redactor`."""
    image = cv2.imdecode(np.frombuffer(clean, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError("the sanitised photo does not decode")
    out = redactor.redact(image)
    params = [cv2.IMWRITE_JPEG_QUALITY, 88] if ext == "jpg" else []
    ok, buf = cv2.imencode(f".{ext}", out, params)
    if not ok:
        raise ValueError(f"could not encode the blurred photo as {ext}")
    return buf.tobytes()


def store_report_photo(media: MediaStorage, clean: bytes, ext: str, at: datetime, redactor: Redactor) -> str:
    """Store the original (apart) and the blurred copy; returns the blurred copy's key."""
    key = f"{REPORTS_PREFIX}/{at.strftime('%Y-%m-%d')}/{uuid.uuid4().hex}.{ext}"
    # before anything is written (no original without its copy), in the one decoder thread: a full-size
    # photo and the face detector's buffers exist once at a time, however many reports arrive at once
    soft = serialized(blurred, clean, ext, redactor)
    media.put(original_key(key), clean)
    return media.put(key, soft)
