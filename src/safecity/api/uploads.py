"""Uploaded photos of the authenticated routes (biometrics enrolment and search), decoded with bounded
memory (safecity.media.safe_image) off the event loop, one at a time per client; refusals become 4xx."""

from __future__ import annotations

import asyncio

import numpy as np
from fastapi import HTTPException

from safecity.media.safe_image import (
    ImageLimits,
    ImageRejected,
    check_content_type,
    client_slot,
    decode_now,
    serialized,
)

# a face photo: up to 40 megapixels declared (JPEGs are decoded reduced), never more than 4096 px wide
PHOTO_LIMITS = ImageLimits(max_pixels=40_000_000, max_side=4096, max_bytes=10 * 1024 * 1024)


def _decode_bgr(data: bytes, limits: ImageLimits) -> np.ndarray:
    rgb = decode_now(data, limits).convert("RGB")
    return np.ascontiguousarray(np.asarray(rgb)[:, :, ::-1])  # OpenCV's BGR order for the face models


async def decode_upload(
    data: bytes, content_type: str | None, limits: ImageLimits, client: str
) -> np.ndarray:
    """The photo as a BGR array; HTTPException 413/415/422/429 for what safe_image refuses."""
    try:
        check_content_type(content_type)
        with client_slot(client):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, serialized, _decode_bgr, data, limits)
    except ImageRejected as exc:
        raise HTTPException(exc.status, exc.reason) from exc
