"""Snapshots: where an event's picture is stored, and JPEG encoding of it."""

from __future__ import annotations

from datetime import UTC
from urllib.parse import quote

import numpy as np

from safecity.types import Event

SNAPSHOT_PREFIX = "snapshots"


def _segment(value: str) -> str:
    """`value` as one safe key segment (percent-encoded; never '.', '..' or empty)."""
    if value in ("", ".", ".."):
        raise ValueError(f"{value!r} cannot be a storage key segment")
    return quote(value, safe="-_.~")


def snapshot_key(event: Event) -> str:
    """`snapshots/<camera>/<YYYY-MM-DD>/<event id>.jpg`, the date being the event start in UTC."""
    day = event.start.astimezone(UTC).strftime("%Y-%m-%d")
    return f"{SNAPSHOT_PREFIX}/{_segment(event.camera_id)}/{day}/{_segment(event.id)}.jpg"


def encode_jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    """JPEG bytes of a BGR (HxWx3) or grey (HxW) uint8 image."""
    import cv2  # heavy import, only where pixels are encoded

    if not 0 <= quality <= 100:
        raise ValueError(f"JPEG quality must be in 0..100, got {quality}")
    if image.dtype != np.uint8 or image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] != 3):
        raise ValueError(f"expected an HxWx3 or HxW uint8 image, got {image.dtype} {image.shape}")
    if image.size == 0:
        raise ValueError("cannot encode an empty image")
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("cv2.imencode failed to encode the image as JPEG")
    return bytes(buf.tobytes())
