"""Annotated live frames: boxes, track ids and labels (supervision annotators), counting lines and zones.

`annotate(analysis, camera)` draws on a copy of the analysed frame; `jpeg_stream` turns a worker's latest
analyses into the parts of a `multipart/x-mixed-replace` (MJPEG) response.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import supervision as sv

from safecity.api.live_privacy import LivePlates, mask_live
from safecity.config.models import CameraConfig
from safecity.media.snapshots import encode_jpeg
from safecity.pipeline.analyzer import Analysis
from safecity.pipeline.worker import CameraWorker
from safecity.types import COCO_CLASSES, class_ids, track_ids

BOUNDARY = "safecityframe"
LINE_COLOR = sv.Color(r=255, g=200, b=0)
ZONE_COLOR = sv.Color(r=0, g=200, b=255)
IDLE_TIMEOUT_S = 15.0  # a stream with no new frame for this long ends (the worker stopped or hung)

_boxes = sv.BoxAnnotator(thickness=2, color_lookup=sv.ColorLookup.TRACK)
_labels = sv.LabelAnnotator(text_scale=0.45, text_padding=4, color_lookup=sv.ColorLookup.TRACK)


def _track_labels(tracks: sv.Detections) -> list[str]:
    return [
        f"#{int(t)} {COCO_CLASSES.get(int(c), str(int(c)))}"
        for t, c in zip(track_ids(tracks), class_ids(tracks), strict=True)
    ]


def draw_geometry(image: np.ndarray, camera: CameraConfig) -> np.ndarray:
    """Draw the camera's zones and counting lines (with their ids) onto `image` in place."""
    for zone in camera.zones:
        poly = np.array(zone.polygon, dtype=np.int64)
        sv.draw_filled_polygon(image, poly, ZONE_COLOR, opacity=0.15)
        sv.draw_polygon(image, poly, ZONE_COLOR, thickness=2)
        x, y = zone.polygon[0]
        sv.draw_text(image, zone.id, sv.Point(x + 30, y + 12), ZONE_COLOR, 0.45, 1, 3)
    for line in camera.lines:
        start, end = sv.Point(*line.start), sv.Point(*line.end)
        sv.draw_line(image, start, end, LINE_COLOR, thickness=3)
        sv.draw_text(image, line.id, sv.Point(line.start[0], line.start[1] - 12), LINE_COLOR, 0.45, 1, 3)
    return image


def annotate(
    analysis: Analysis, camera: CameraConfig, *, mask: bool = True, plates: LivePlates | None = None
) -> np.ndarray:
    """The analysed frame with boxes, labels, lines and zones; people's heads (and, given `plates`, the
    vehicles' plates) masked unless `mask=False` (unmasked live view: `media:unredacted`, audited by the
    caller)."""
    image = mask_live(analysis, plates) if mask else analysis.frame.image.copy()
    draw_geometry(image, camera)
    tracks = analysis.tracks
    if len(tracks):
        image = _boxes.annotate(image, tracks)
        image = _labels.annotate(image, tracks, labels=_track_labels(tracks))
    return image


def annotated_jpeg(
    analysis: Analysis,
    camera: CameraConfig,
    quality: int = 75,
    *,
    mask: bool = True,
    plates: LivePlates | None = None,
) -> bytes:
    return encode_jpeg(annotate(analysis, camera, mask=mask, plates=plates), quality)


def mjpeg_part(jpeg: bytes) -> bytes:
    head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
    return head + jpeg + b"\r\n"


async def jpeg_stream(
    worker: CameraWorker,
    max_fps: float,
    disconnected: Callable[[], Awaitable[bool]],
    idle_timeout_s: float = IDLE_TIMEOUT_S,
    *,
    mask: bool = True,
    plates: LivePlates | None = None,
    allowed: Callable[[], Awaitable[bool]] | None = None,
    stopping: Callable[[], bool] = lambda: False,
) -> AsyncIterator[bytes]:
    """MJPEG parts of each new analysed frame, at most `max_fps` (and the camera's fps) per second.

    Ends when the client goes away, the worker ends, the server is `stopping`, no new frame arrives for
    `idle_timeout_s`, or `allowed()` (asked before every frame) says the viewer's rights were revoked."""
    fps = min(max_fps, worker.camera.fps or max_fps)
    period = 1.0 / fps
    loop = asyncio.get_running_loop()
    last_seq: int | None = None
    last_new = loop.time()
    while not stopping() and not await disconnected():
        if allowed is not None and not await allowed():
            return
        latest = worker.latest
        now = loop.time()
        if latest is not None and latest.frame.seq != last_seq:
            last_seq, last_new = latest.frame.seq, now
            jpeg = await asyncio.to_thread(annotated_jpeg, latest, worker.camera, mask=mask, plates=plates)
            yield mjpeg_part(jpeg)
        elif worker.done or now - last_new > idle_timeout_s:
            return
        await asyncio.sleep(max(period - (loop.time() - now), 0.01))
