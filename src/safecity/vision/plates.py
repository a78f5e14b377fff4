"""Plate reading: find the plate inside a vehicle box, rectify it, read it, vote across a track's frames.

1. find: PP-OCRv6 text detection (rapidocr) on the vehicle crop gives text quadrilaterals;
2. rectify: each quadrilateral is warped to an upright rectangle (rapidocr's perspective crop);
3. read: PP-OCRv6 recognition; the text is normalized, checked against the expected countries' formats
   (`plate_formats`) and corrected for letter/digit confusions; candidates that are no plate (dealer
   names, phone numbers, timestamps burnt into the video) fail the formats and are dropped;
4. vote: `PlateVote` merges the reads of one track per character, weighted by confidence.

The models come from the `rapidocr` wheel on PyPI (see `plates_models`); rapidocr is imported lazily so the
rest of the platform runs without it. Nothing here keeps a read: callers decide what is stored (retention).
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from safecity.vision.plate_formats import corrected_confidence, match, normalize, unknown_countries

MIN_ASPECT, MAX_ASPECT = 1.2, 8.0  # plate text boxes: wider than tall, single line


@dataclass(frozen=True, slots=True)
class PlateRead:
    plate: str  # corrected characters, e.g. "AB123CD"
    raw: str  # what the recognizer returned
    confidence: float  # recognizer score less the correction penalty, 0..1
    country: str  # code of the matching format
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the image the caller passed


@dataclass(frozen=True, slots=True)
class PlateReaderConfig:
    countries: tuple[str, ...] = ("generic",)
    min_confidence: float = 0.5
    max_side: int = 960  # the text detector's input is limited to this side (never upscaled)
    threads: int = 1

    def __post_init__(self) -> None:
        if bad := unknown_countries(self.countries):
            raise ValueError(f"unknown plate countries: {', '.join(bad)}")


class PlateReader:
    """`read(image, region) -> [PlateRead]`, best first. Thread-safe (one call at a time)."""

    def __init__(self, det_model: Path, rec_model: Path, config: PlateReaderConfig | None = None) -> None:
        try:
            from rapidocr import RapidOCR
        except ImportError as exc:  # pragma: no cover - install problem
            raise ImportError("plate reading needs the `rapidocr` package (pip install rapidocr)") from exc
        self.config = config or PlateReaderConfig()
        self._engine = RapidOCR(
            params={
                "Global.use_cls": False,  # plates are upright; the angle classifier only costs time
                "Global.log_level": "warning",
                "Global.text_score": 0.3,
                "Det.model_path": str(det_model),
                "Rec.model_path": str(rec_model),
                # rapidocr's default limit_type "min" upscales small crops: limit the longest side instead
                "Det.limit_type": "max",
                "Det.limit_side_len": self.config.max_side,
                "EngineConfig.onnxruntime.intra_op_num_threads": self.config.threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )
        self._lock = threading.Lock()

    def read(self, image: np.ndarray, region: Sequence[float] | None = None) -> list[PlateRead]:
        """Plates in `image` (BGR), or in its `region` (x1, y1, x2, y2, e.g. a vehicle box); boxes are
        in `image` coordinates. Only reads that fit an expected format, best first."""
        ox, oy, crop = _crop(image, region)
        if crop.size == 0 or min(crop.shape[:2]) < 16:
            return []
        with self._lock:
            out: Any = self._engine(crop, use_det=True, use_cls=False, use_rec=True)
        if out is None or out.boxes is None or out.txts is None:
            return []
        reads = [
            r
            for quad, text, score in zip(out.boxes, out.txts, out.scores, strict=True)
            if (r := self._candidate(np.asarray(quad, dtype=np.float32), str(text), float(score), ox, oy))
        ]
        return sorted(reads, key=lambda r: r.confidence, reverse=True)

    def locate(
        self, image: np.ndarray, region: Sequence[float] | None = None
    ) -> list[tuple[int, int, int, int]]:
        """Boxes (x1, y1, x2, y2, in `image` coordinates) of plate-shaped text in `region`, without reading
        it: what redaction blurs. Cheaper than `read` (detection only)."""
        ox, oy, crop = _crop(image, region)
        if crop.size == 0 or min(crop.shape[:2]) < 16:
            return []
        with self._lock:
            out: Any = self._engine(crop, use_det=True, use_cls=False, use_rec=False)
        boxes: list[tuple[int, int, int, int]] = []
        for quad in np.asarray(out.boxes if out is not None and out.boxes is not None else [], np.float32):
            width, height = float(np.linalg.norm(quad[1] - quad[0])), float(np.linalg.norm(quad[3] - quad[0]))
            if height > 0 and MIN_ASPECT <= width / height <= MAX_ASPECT:
                (x1, y1), (x2, y2) = quad.min(axis=0), quad.max(axis=0)
                boxes.append((int(x1) + ox, int(y1) + oy, int(np.ceil(x2)) + ox, int(np.ceil(y2)) + oy))
        return boxes

    def _candidate(self, quad: np.ndarray, text: str, score: float, ox: int, oy: int) -> PlateRead | None:
        width = float(np.linalg.norm(quad[1] - quad[0]))
        height = float(np.linalg.norm(quad[3] - quad[0]))
        if height <= 0 or not MIN_ASPECT <= width / height <= MAX_ASPECT:
            return None
        found = match(normalize(text), self.config.countries)
        if found is None:
            return None
        confidence = corrected_confidence(score, found)
        if confidence < self.config.min_confidence:
            return None
        x1, y1 = quad.min(axis=0)
        x2, y2 = quad.max(axis=0)
        box = (int(x1) + ox, int(y1) + oy, int(np.ceil(x2)) + ox, int(np.ceil(y2)) + oy)
        return PlateRead(found.plate, text, round(confidence, 4), found.country, box)


def _crop(image: np.ndarray, region: Sequence[float] | None) -> tuple[int, int, np.ndarray]:
    if region is None:
        return 0, 0, image
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(np.rint(v)) for v in region)
    x1, y1, x2, y2 = max(0, x1), max(0, y1), min(w, x2), min(h, y2)
    return x1, y1, image[y1:y2, x1:x2]


def crop_quality(image: np.ndarray, box: Sequence[float]) -> float:
    """How good a vehicle crop is for reading its plate: area times sharpness (variance of the Laplacian),
    so a large, sharp view wins over a small or blurred one."""
    _, _, crop = _crop(image, box)
    if crop.size == 0:
        return 0.0
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    sharpness = float(cv2.Laplacian(gray, cv2.CV_64F).var())
    return float(crop.shape[0] * crop.shape[1]) * sharpness


@dataclass(slots=True)
class PlateVote:
    """Merges reads of one vehicle track: the most supported length, then each position's character by
    summed confidence. The result's confidence is the mean winning share times the mean read confidence."""

    reads: list[PlateRead] = field(default_factory=list)

    def add(self, reads: Iterable[PlateRead]) -> None:
        self.reads.extend(reads)

    def result(self) -> PlateRead | None:
        if not self.reads:
            return None
        by_len: dict[int, float] = defaultdict(float)
        for r in self.reads:
            by_len[len(r.plate)] += r.confidence
        length = max(by_len, key=lambda n: by_len[n])
        same = [r for r in self.reads if len(r.plate) == length]
        chars: list[str] = []
        shares: list[float] = []
        for i in range(length):
            weights: dict[str, float] = defaultdict(float)
            for r in same:
                weights[r.plate[i]] += r.confidence
            ch = max(weights, key=lambda c: weights[c])
            chars.append(ch)
            shares.append(weights[ch] / sum(weights.values()))
        plate = "".join(chars)
        countries = Counter(r.country for r in same)
        best = max(same, key=lambda r: (r.plate == plate, r.confidence))
        mean_conf = sum(r.confidence for r in same) / len(same)
        confidence = round(mean_conf * sum(shares) / len(shares), 4)
        return PlateRead(plate, best.raw, confidence, countries.most_common(1)[0][0], best.box)
