"""Motion-region inference: run the detector on the parts of a frame that moved, as Frigate does.

A region is a rectangle of the frame that the detector sees at the same scale as the whole frame (so an
object looks the same size to the model in a crop as in the full picture), padded so that its model-side
width and height are multiples of 32 (NanoDet's coarsest stride). Regions come from
- the boxes of pixels that changed since the detector last ran (the motion gate's mask), and
- the boxes of the objects being tracked, so that an object that stops moving is still detected while it
  stays in view (a full frame runs at least every `motion.max_skip_s` to find objects that never moved);
each grown by a margin for context, then merged while they overlap. When the regions together cover more
than `max_area` of the frame's model pixels, the whole frame is cheaper and runs instead.
"""

from __future__ import annotations

import cv2
import numpy as np

STRIDE = 32


def mask_boxes(mask: np.ndarray, frame_shape: tuple[int, int], min_pixels: int = 2) -> np.ndarray:
    """Bounding boxes (x1, y1, x2, y2, frame pixels) of the connected changed areas of a thumbnail mask."""
    if not mask.any():
        return np.zeros((0, 4), np.float32)
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8))
    count, _, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    keep = stats[1:count, cv2.CC_STAT_AREA] >= min_pixels
    s = stats[1:count][keep]
    fx, fy = frame_shape[1] / mask.shape[1], frame_shape[0] / mask.shape[0]
    x, y, w, h = (s[:, i].astype(np.float32) for i in range(4))
    return np.stack([x * fx, y * fy, (x + w) * fx, (y + h) * fy], axis=1)


def _grow(boxes: np.ndarray, margin: float, minimum: float) -> np.ndarray:
    # the same margin on every side, from the longer side: a walker (tall, narrow) keeps context on
    # its left and right too, which the detector needs to score it as in the whole frame
    g = np.maximum(np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * margin, minimum)
    return np.stack([boxes[:, 0] - g, boxes[:, 1] - g, boxes[:, 2] + g, boxes[:, 3] + g], axis=1)


def merge_overlapping(boxes: list[list[float]]) -> list[list[float]]:
    """Union boxes (xyxy, a list edited in place) that overlap, until none do."""
    merged = True
    while merged:
        merged = False
        for i in range(len(boxes)):
            for j in range(i + 1, len(boxes)):
                a, b = boxes[i], boxes[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    boxes[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]
                    del boxes[j]
                    merged = True
                    break
            if merged:
                break
    return boxes


def _snap(box: list[float], scale: tuple[float, float], frame: tuple[int, int]) -> list[int]:
    """Grow `box` so its model-side size is a multiple of STRIDE (at least one), inside the frame."""
    out: list[int] = []
    for lo, hi, s, limit in ((box[0], box[2], scale[0], frame[1]), (box[1], box[3], scale[1], frame[0])):
        side_model = max(STRIDE, int(np.ceil((hi - lo) * s / STRIDE)) * STRIDE)
        side = min(limit, side_model / s)
        start = min(max(0.0, (lo + hi - side) / 2), limit - side)
        out.extend([round(start), round(start + side)])
    return [out[0], out[2], out[1], out[3]]


def plan_regions(
    boxes: np.ndarray,
    frame_shape: tuple[int, int],
    input_size: tuple[int, int],
    *,
    margin: float = 0.5,
    min_margin: float = 16.0,
    max_area: float = 0.5,
) -> np.ndarray | None:
    """Regions (k, 4) int32 to infer, or None when the whole frame is the better choice.

    `boxes` are motion and track boxes in frame pixels; `input_size` the model's (width, height) for the
    whole frame, which fixes the scale; `max_area` the fraction of the whole frame's model pixels above
    which the regions stop paying (each run also has a fixed cost)."""
    height, width = frame_shape
    scale = (input_size[0] / width, input_size[1] / height)
    if len(boxes) == 0:
        return np.zeros((0, 4), np.int32)
    grown = _grow(boxes.astype(np.float32), margin, min_margin)
    regions: list[list[float]] = [
        list(map(float, _snap(b, scale, frame_shape))) for b in merge_overlapping(grown.tolist())
    ]
    # snapping grows regions, which may overlap again: one more merge, and snap the unions
    snapped = [_snap(b, scale, frame_shape) for b in merge_overlapping(regions)]
    area = sum(model_side(r[2] - r[0], scale[0]) * model_side(r[3] - r[1], scale[1]) for r in snapped)
    if area > max_area * input_size[0] * input_size[1]:
        return None
    return np.array(snapped, np.int32).reshape(-1, 4)


def model_side(frame_pixels: int, scale: float) -> int:
    """The model-input side of a region side: the nearest multiple of STRIDE, at least one."""
    return max(STRIDE, round(frame_pixels * scale / STRIDE) * STRIDE)
