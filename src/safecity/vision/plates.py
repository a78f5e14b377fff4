"""Plate reading: find the plate inside a vehicle box, rectify it, read it, vote across a track's frames.

1. find: PP-OCRv6 text detection (rapidocr) on the vehicle crop gives text quadrilaterals; when nothing
   is read, a second look on the crop upscaled twice finds the small plates the first one misses;
2. rectify: each quadrilateral is warped to an upright rectangle by its perspective transform, in two
   views (cut tighter above and below; grey with stretched contrast);
3. read: PP-OCRv6 recognition of each view; the text is normalized, checked against the expected
   countries' formats (`plate_formats`) and corrected for letter/digit confusions; candidates that are no
   plate (dealer names, phone numbers, timestamps burnt into the video) fail the formats and are dropped;
   the best view wins, and of the texts on a vehicle a read fitting a national template ranks first;
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
# Each text box is read in two views and the best read wins (`rank`): the box cut 8% of its height
# tighter above and below (less of the frame, state name or slogan that the detector's margin takes in),
# and the box as found, in grey with its contrast stretched (dirty, dim or tinted plates). Chosen by
# cross-validation on the benchmark's halves among 11 views (padding, tightening, upscaling, grey,
# contrast, sharpening); see docs/plates.md.
TIGHTEN = -0.08
# rank bonus of a read fitting a national template (see `rank`); exact reads on either half of the
# benchmark are the same for any bonus from 0.05 to 0.5, and 0.2 sits in the middle
SPECIFIC_BONUS = 0.2
FINE_SCALE = 2  # the second look's upscaling (see `PlateReader.read`)


@dataclass(frozen=True, slots=True)
class PlateRead:
    plate: str  # corrected characters, e.g. "AB123CD"
    raw: str  # what the recognizer returned
    confidence: float  # recognizer score less the correction penalty, 0..1
    country: str  # code of the matching format
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 in the image the caller passed
    specific: bool = False  # fits a national template of its country, not only "any 4-8 characters"


@dataclass(frozen=True, slots=True)
class PlateReaderConfig:
    countries: tuple[str, ...] = ("generic",)
    min_confidence: float = 0.5
    max_side: int = 960  # the text detector's input is limited to this side (never upscaled)
    threads: int = 1
    second_look: bool = True  # detect again on the crop upscaled when nothing was read (see `read`)

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

        def engine(max_side: int) -> Any:  # rapidocr loads each model on its first use
            return RapidOCR(
                params={
                    "Global.use_cls": False,  # plates are upright; the angle classifier only costs time
                    "Global.log_level": "warning",
                    "Global.text_score": 0.3,
                    "Det.model_path": str(det_model),
                    "Rec.model_path": str(rec_model),
                    # rapidocr's default limit_type "min" upscales small crops: limit the longest side
                    "Det.limit_type": "max",
                    "Det.limit_side_len": max_side,
                    "EngineConfig.onnxruntime.intra_op_num_threads": self.config.threads,
                    "EngineConfig.onnxruntime.inter_op_num_threads": 1,
                }
            )

        self._engine = engine(self.config.max_side)
        # the second look (see `read`): the crop upscaled, so the detector's input limit grows with it
        self._fine = engine(self.config.max_side * FINE_SCALE) if self.config.second_look else None
        self._lock = threading.Lock()

    def read(self, image: np.ndarray, region: Sequence[float] | None = None) -> list[PlateRead]:
        """Plates in `image` (BGR), or in its `region` (x1, y1, x2, y2, e.g. a vehicle box); boxes are
        in `image` coordinates. Only reads that fit an expected format, best first.

        When nothing is read, a second look detects text on the crop upscaled `FINE_SCALE` times: the text
        detector misses small plates (a distant vehicle, a wide view) that it finds at twice the size. Only
        crops without a read pay for it."""
        ox, oy, crop = _crop(image, region)
        if crop.size == 0 or min(crop.shape[:2]) < 16:
            return []
        with self._lock:
            reads = self._read_quads(crop, self._plate_quads(self._engine, crop), ox, oy)
            if not reads and self._fine is not None:
                big = cv2.resize(crop, None, fx=FINE_SCALE, fy=FINE_SCALE, interpolation=cv2.INTER_CUBIC)
                quads = [q / FINE_SCALE for q in self._plate_quads(self._fine, big)]
                reads = self._read_quads(crop, quads, ox, oy)
        return sorted(reads, key=rank, reverse=True)

    def _read_quads(self, crop: np.ndarray, quads: list[np.ndarray], ox: int, oy: int) -> list[PlateRead]:
        reads: list[PlateRead] = []
        for quad in quads:
            views = [rectify(crop, quad, 0.0, TIGHTEN), stretch_contrast(rectify(crop, quad))]
            texts = [self._recognize(view) for view in views]
            candidates = [c for text in texts if (c := self._candidate(quad, *text, ox, oy))]
            if candidates:  # the views of one box are alternatives: keep the best
                reads.append(max(candidates, key=rank))
        return reads

    @staticmethod
    def _plate_quads(engine: Any, crop: np.ndarray) -> list[np.ndarray]:
        out: Any = engine(crop, use_det=True, use_cls=False, use_rec=False)
        quads = np.asarray(out.boxes if out is not None and out.boxes is not None else [], np.float32)
        return [q for q in quads if _plate_shaped(q)]

    def _recognize(self, view: np.ndarray) -> tuple[str, float]:
        out: Any = self._engine(view, use_det=False, use_cls=False, use_rec=True)
        if out is None or not out.txts:
            return "", 0.0
        return str(out.txts[0]), float(out.scores[0])

    def locate(
        self,
        image: np.ndarray,
        region: Sequence[float] | None = None,
        upscale: float = 1.0,
        side: int | None = None,
    ) -> list[tuple[int, int, int, int]]:
        """Boxes (x1, y1, x2, y2, in `image` coordinates) of plate-shaped text in `region`, without reading
        it: what redaction blurs. Cheaper than `read` (detection only). `upscale` > 1 enlarges the crop
        first, at most to the detector's input limit (`max_side`), so the cost stays that of one input:
        the detector misses small plates it finds at twice the size (as `read`'s second look). `side`
        (below `max_side`) is a smaller input limit: a larger crop is shrunk to it here, which bounds the
        detector's working memory (it grows with the input's area: ~100 MB at 960x960)."""
        ox, oy, crop = _crop(image, region)
        if crop.size == 0 or min(crop.shape[:2]) < 16:
            return []
        limit = min(side, self.config.max_side) if side is not None else self.config.max_side
        factor = min(upscale, limit / max(crop.shape[:2]))
        if factor > 1:
            crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
        elif factor < 1 and side is not None:
            crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        else:
            factor = 1.0  # rapidocr shrinks a crop over `max_side` itself and maps its boxes back
        with self._lock:
            quads = self._plate_quads(self._engine, crop)
        return [_box(quad / factor, ox, oy) for quad in quads]

    def _candidate(self, quad: np.ndarray, text: str, score: float, ox: int, oy: int) -> PlateRead | None:
        found = match(normalize(text), self.config.countries)
        if found is None:
            return None
        confidence = corrected_confidence(score, found)
        if confidence < self.config.min_confidence:
            return None
        box = _box(quad, ox, oy)
        return PlateRead(found.plate, text, round(confidence, 4), found.country, box, found.specific)


def rank(read: PlateRead) -> float:
    """Order of reads: confidence, and a read that fits a national template (not only "any 4-8
    characters") before one that does not: of the texts on a vehicle, that is the plate."""
    return read.confidence + SPECIFIC_BONUS * read.specific


def _plate_shaped(quad: np.ndarray) -> bool:
    width = float(np.linalg.norm(quad[1] - quad[0]))
    height = float(np.linalg.norm(quad[3] - quad[0]))
    return height > 0 and MIN_ASPECT <= width / height <= MAX_ASPECT


def _box(quad: np.ndarray, ox: int, oy: int) -> tuple[int, int, int, int]:
    (x1, y1), (x2, y2) = quad.min(axis=0), quad.max(axis=0)
    return int(x1) + ox, int(y1) + oy, int(np.ceil(x2)) + ox, int(np.ceil(y2)) + oy


def stretch_contrast(view: np.ndarray) -> np.ndarray:
    """Grey, its darkest pixel black and its brightest white (the recognizer takes 3 channels)."""
    gray = cv2.cvtColor(view, cv2.COLOR_BGR2GRAY) if view.ndim == 3 else view
    stretched = cv2.normalize(gray, None, 0, 255, cv2.NORM_MINMAX)
    return cv2.cvtColor(stretched, cv2.COLOR_GRAY2BGR)


def rectify(image: np.ndarray, quad: np.ndarray, pad_x: float = 0.0, pad_y: float = 0.0) -> np.ndarray:
    """The text quadrilateral (top-left, top-right, bottom-right, bottom-left) warped to an upright
    rectangle by its perspective transform, grown first by `pad_x`/`pad_y` times its height on each side
    (along its own axes, so a slanted plate grows along its slant)."""
    tl, tr, br, bl = quad.astype(np.float32)
    ux = (tr - tl) / max(float(np.linalg.norm(tr - tl)), 1e-6)
    uy = (bl - tl) / max(float(np.linalg.norm(bl - tl)), 1e-6)
    height = (float(np.linalg.norm(bl - tl)) + float(np.linalg.norm(br - tr))) / 2
    dx, dy = ux * pad_x * height, uy * pad_y * height
    src = np.array([tl - dx - dy, tr + dx - dy, br + dx + dy, bl - dx + dy], np.float32)
    width_px = max(float(np.linalg.norm(src[1] - src[0])), float(np.linalg.norm(src[2] - src[3])))
    height_px = max(float(np.linalg.norm(src[3] - src[0])), float(np.linalg.norm(src[2] - src[1])))
    w, h = max(1, round(width_px)), max(1, round(height_px))
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(image, matrix, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


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
