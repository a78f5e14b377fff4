"""Face redaction (G13): faces blurred in every stored snapshot, and in clips through
`safecity.media.redaction.redact_clip(src, dst, FaceRedactor(...))` or `redact_frame(image)`.

CenterFace finds the faces (a low threshold: blurring a bit too much is the safe error); each face box,
enlarged, is pixelated then blurred (not recoverable); a second pass obscures whatever the detector still
reads as a face (small faces). Snapshots also hide the head area of each person
track (`with_people`), which covers faces too small or too turned for the detector. If the face model
cannot be loaded the redactor fails closed: the whole frame is pixelated, and the error is logged.

Nothing here computes a template or keeps a crop: it only overwrites pixels of a copy.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import cv2
import numpy as np

from safecity.vision.faces import CenterFaceDetector
from safecity.vision.regions import merge_overlapping

log = logging.getLogger(__name__)
GRID = 6  # at most 6x6 mosaic cells across a blurred region
CELL_PX = 12  # and cells at least this large (a 20-pixel face becomes 2x2)
HEAD_FRACTION = 0.3  # the upper part of a person box treated as head
# the second pass looks again around each blurred box, this far beyond it (a fraction of its longer side,
# and at least RECHECK_MIN_PX): a face straddling the box's edge is seen with the context it had in the
# whole picture. Elsewhere the pixels are those the first pass already searched.
RECHECK_MARGIN = 0.5
RECHECK_MIN_PX = 32


def _obscure(region: np.ndarray) -> None:
    h, w = region.shape[:2]
    if h < 1 or w < 1:
        return
    cells = int(np.clip(min(h, w) // CELL_PX, 2, GRID))  # small faces get fewer, larger cells
    small = cv2.resize(region, (cells, cells), interpolation=cv2.INTER_AREA)
    mosaic = cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)
    k = max(3, (min(h, w) // 4) | 1)
    region[:] = cv2.GaussianBlur(mosaic, (k, k), 0)


def blur_boxes(image: np.ndarray, boxes: np.ndarray, grow: float = 0.3) -> np.ndarray:
    """A copy of `image` with each xyxy box (enlarged by `grow` on each side) obscured."""
    out = image.copy()
    h, w = out.shape[:2]
    for x1, y1, x2, y2 in np.asarray(boxes, np.float32).reshape(-1, 4)[:, :4]:
        gx, gy = (x2 - x1) * grow, (y2 - y1) * grow
        a, b = int(max(0, x1 - gx)), int(max(0, y1 - gy))
        c, d = int(min(w, np.ceil(x2 + gx))), int(min(h, np.ceil(y2 + gy)))
        if c > a and d > b:
            _obscure(out[b:d, a:c])
    return out


def obscure_all(image: np.ndarray) -> np.ndarray:
    """Fail-closed redaction: the whole frame pixelated (coarse shapes stay, no face survives)."""
    out = image.copy()
    h, w = out.shape[:2]
    small = cv2.resize(out, (max(1, w // 24), max(1, h // 24)), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST)


def grown(boxes: np.ndarray, grow: float, width: int, height: int) -> np.ndarray:
    """Integer xyxy boxes enlarged by `grow` of their size on each side, clipped to the image (what
    `blur_boxes` obscures)."""
    b = np.asarray(boxes, np.float32).reshape(-1, 4)[:, :4]
    gx, gy = (b[:, 2] - b[:, 0]) * grow, (b[:, 3] - b[:, 1]) * grow
    out = np.stack([b[:, 0] - gx, b[:, 1] - gy, np.ceil(b[:, 2] + gx), np.ceil(b[:, 3] + gy)], axis=1)
    np.clip(out[:, 0::2], 0, width, out=out[:, 0::2])
    np.clip(out[:, 1::2], 0, height, out=out[:, 1::2])
    return out.astype(np.int64)


def recheck_regions(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    """Where the second pass looks (k, 4 xyxy): each blurred box with a margin, merged while they overlap,
    so that no face is searched for in two pieces."""
    b = grown(boxes, 0.3, width, height)
    b = b[(b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1])]
    if not len(b):
        return np.zeros((0, 4), np.int64)
    m = np.maximum(RECHECK_MIN_PX, np.ceil(np.maximum(b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]) * RECHECK_MARGIN))
    regions: list[list[float]] = [
        [max(0, x1 - d), max(0, y1 - d), min(width, x2 + d), min(height, y2 + d)]
        for (x1, y1, x2, y2), d in zip(b.tolist(), m.astype(int).tolist(), strict=True)
    ]
    regions = merge_overlapping(regions)  # so that no face is searched for in two pieces
    return np.array(regions, np.int64)


def head_boxes(person_boxes: np.ndarray) -> np.ndarray:
    """The head area of each person box (xyxy): its top `HEAD_FRACTION`."""
    boxes = np.asarray(person_boxes, np.float32).reshape(-1, 4).copy()
    boxes[:, 3] = boxes[:, 1] + (boxes[:, 3] - boxes[:, 1]) * HEAD_FRACTION
    return boxes


class FaceRedactor:
    """`redact(image)`: faces blurred (implements `safecity.media.redaction.Redactor`)."""

    def __init__(
        self, detector: Callable[[], CenterFaceDetector], *, threshold: float = 0.3, max_side: int = 1280
    ) -> None:
        self._factory = detector
        self._detector: CenterFaceDetector | None = None
        self._failed = False
        self._lock = threading.Lock()
        self.threshold, self.max_side = threshold, max_side

    def _get(self) -> CenterFaceDetector | None:
        with self._lock:
            if self._detector is None and not self._failed:
                try:
                    self._detector = self._factory()
                except Exception:
                    self._failed = True
                    log.exception(
                        "face redaction: no face detector; every frame is obscured whole (fail closed)"
                    )
            return self._detector

    @property
    def available(self) -> bool:
        return self._get() is not None

    def face_boxes(self, image: np.ndarray) -> np.ndarray | None:
        """Face boxes (N, 4) to blur; None when the detector is unavailable."""
        detector = self._get()
        if detector is None:
            return None
        return detector.detect(image, max_side=self.max_side, threshold=self.threshold).xyxy

    def face_boxes_in(self, image: np.ndarray, regions: np.ndarray) -> np.ndarray | None:
        """Face boxes (N, 4, whole-image pixels) found in `regions` of `image`, each searched at the scale
        the whole image is searched at; None when the detector is unavailable."""
        detector = self._get()
        if detector is None:
            return None
        scale = min(1.0, self.max_side / max(image.shape[:2]))
        found = [np.zeros((0, 4), np.float32)]
        for x1, y1, x2, y2 in np.asarray(regions, np.int64).reshape(-1, 4).tolist():
            crop = image[y1:y2, x1:x2]
            side = max(1, int(np.ceil(max(crop.shape[:2]) * scale)))
            boxes = detector.detect(crop, max_side=side, threshold=self.threshold).xyxy.reshape(-1, 4)
            found.append(boxes + np.array([x1, y1, x1, y1], np.float32))
        return np.concatenate(found, axis=0)

    def redact(self, image: np.ndarray) -> np.ndarray:
        return self.with_people(image, None)

    def with_people(self, image: np.ndarray, person_boxes: np.ndarray | None) -> np.ndarray:
        """Faces blurred, and the head area of each person box when given."""
        faces = self.face_boxes(image)
        if faces is None:
            return obscure_all(image)
        if person_boxes is not None and len(person_boxes):
            faces = np.concatenate([faces.reshape(-1, 4), head_boxes(person_boxes)], axis=0)
        out = blur_boxes(image, faces)
        # second pass: a small face can still read as one after its mosaic; obscure what is found again.
        # Only around what was blurred: the rest of `out` is the picture the first pass searched, and a whole
        # second CenterFace pass cost ~0.15 s of CPU per snapshot (docs/performance.md)
        h, w = image.shape[:2]
        again = self.face_boxes_in(out, recheck_regions(faces, w, h))
        return blur_boxes(out, again, grow=0.5) if again is not None and len(again) else out


_default: FaceRedactor | None = None
_default_lock = threading.Lock()


def default_redactor() -> FaceRedactor:
    """A process-wide redactor on the installed CenterFace (model cache of `safecity models install`)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FaceRedactor(_installed_detector)
        return _default


def _installed_detector() -> CenterFaceDetector:
    from safecity.vision.faces_models import CENTERFACE, face_model_path
    from safecity.vision.models import default_cache_dir

    return CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE), threads=1)


def redact_frame(image: np.ndarray) -> np.ndarray:
    """A copy of a BGR frame with its faces blurred (fails closed: whole frame obscured without a model)."""
    return default_redactor().redact(image)
