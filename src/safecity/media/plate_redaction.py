"""Plate redaction: plates blurred in every stored snapshot, alongside faces (DESIGN: stored snapshots have
faces and plates blurred unless a privileged, audited request asks otherwise).

Only inside vehicle boxes of the snapshot's tracks: a snapshot without a vehicle costs nothing, and the
text detector never sees shop signs or street names. Inside each box the plate models' text detector
(`PlateReader.locate`, no reading) finds plate-shaped text, which is obscured like a face. The models
load on the first vehicle, once per node. If they cannot be loaded the redactor fails closed: each
vehicle box is obscured whole, and the error is logged.

Moving pictures (live view, exported clips) use a `PlateMasker`: the same location per frame, plus a
short memory. A plate found in a vehicle box is remembered relative to that box for `hold_s`; in a later
frame where the text detector misses it (motion blur, a glint, a steeper angle) the remembered box is
carried onto the vehicle box that overlaps the old one most, so a plate does not flash readable for a
frame. `ClipPlateRedactor` adds the vehicle detector, for frames that come without tracks (clips).

Uploaded photos (public reports, field-unit messages) use a `PhotoPlateRedactor`: no vehicle box, since a
photo may be a close-up of a car that fills it; plates are looked for in the whole photo and in a 4x4 grid
of overlapping tiles, enlarged: 17 detections per photo, each at most 640 px (the detector's working
memory grows with its input's area, and 20 photos uploaded at once must keep the server's memory bounded).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import supervision as sv

from safecity.media.face_redaction import blur_boxes, obscure_all
from safecity.media.redaction import Redactor
from safecity.types import class_ids
from safecity.vision.plate_stage import VEHICLES
from safecity.vision.plates import PlateReader

log = logging.getLogger(__name__)
VEHICLE_PAD = 0.05  # of the vehicle box on each side: plates sit on its edge
PLATE_GROW = 0.25  # of the plate box on each side, blurred with it (the frame of the plate, stray glyphs)
HOLD_S = 1.0  # a plate found in a vehicle box stays masked this long where the detector misses it
HOLD_IOU = 0.3  # the vehicle box of a later frame that overlaps the remembered one this much carries it
CLIP_FPS = 25.0  # clip frames come without times: the memory counts frames at this nominal rate
TILE_UPSCALE = 2.0  # uploaded photos: each tile enlarged up to this much (`PhotoPlateRedactor`)
# uploaded photos: a 4x4 grid of tiles, each grown by 5% of the photo's side, every look at most 640 px:
# no benchmark plate readable after masking (0 of 179; 3x3 tiles left 2), at half the detector's working
# memory of looks up to 960 px (docs/plates.md)
PHOTO_SIDE, PHOTO_GRID, PHOTO_MARGIN = 640, 4, 0.05
# a tile is there for small plates (the whole photo's look sees the large ones): a box taller than this
# share of its tile is texture the enlarged tile made look like text (foliage, gravel), not a plate
TILE_MAX_PLATE = 0.5


class PlateRedactor:
    """`redact(image, vehicle_boxes)`: a copy with the plates in those boxes (xyxy) obscured."""

    def __init__(self, reader: Callable[[], PlateReader]) -> None:
        self._factory = reader
        self._reader: PlateReader | None = None
        self._failed = False
        self._lock = threading.Lock()

    def _get(self) -> PlateReader | None:
        with self._lock:
            if self._reader is None and not self._failed:
                try:
                    self._reader = self._factory()
                except Exception:
                    self._failed = True
                    log.exception("plate redaction: no plate models; vehicle boxes are obscured whole")
            return self._reader

    def plate_boxes(
        self, image: np.ndarray, vehicle_boxes: np.ndarray, upscale: float = 1.0, side: int | None = None
    ) -> np.ndarray | None:
        """Plate boxes (N, 4) inside the vehicle boxes (each enlarged up to `upscale` times, or shrunk to
        `side`, for the detector: `PlateReader.locate`); None when the models are unavailable."""
        reader = self._get()
        if reader is None:
            return None
        h, w = image.shape[:2]
        found: list[tuple[int, int, int, int]] = []
        for x1, y1, x2, y2 in np.asarray(vehicle_boxes, np.float32).reshape(-1, 4):
            px, py = VEHICLE_PAD * (x2 - x1), VEHICLE_PAD * (y2 - y1)
            region = (max(0.0, x1 - px), max(0.0, y1 - py), min(float(w), x2 + px), min(float(h), y2 + py))
            found.extend(reader.locate(image, region, upscale, side))
        return np.asarray(found, np.float32).reshape(-1, 4)

    def redact(self, image: np.ndarray, vehicle_boxes: np.ndarray) -> np.ndarray:
        if not len(vehicle_boxes):
            return image
        plates = self.plate_boxes(image, vehicle_boxes)
        if plates is None:
            return blur_boxes(image, vehicle_boxes, grow=VEHICLE_PAD)
        return blur_boxes(image, plates, grow=PLATE_GROW) if len(plates) else image


def vehicle_boxes(detections: sv.Detections) -> np.ndarray:
    """The xyxy boxes (N, 4) of the vehicles (car, motorcycle, bus, truck) among `detections`."""
    if not len(detections):
        return np.zeros((0, 4), np.float32)
    return np.asarray(detections.xyxy, np.float32)[np.isin(class_ids(detections), VEHICLES)]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _relative(plates: np.ndarray, vehicle: np.ndarray) -> np.ndarray:
    """Plate boxes as fractions of the vehicle box (0..1 inside it)."""
    w, h = max(1e-3, vehicle[2] - vehicle[0]), max(1e-3, vehicle[3] - vehicle[1])
    return (plates - vehicle[[0, 1, 0, 1]]) / np.array([w, h, w, h], np.float32)


def _absolute(relative: np.ndarray, vehicle: np.ndarray) -> np.ndarray:
    w, h = vehicle[2] - vehicle[0], vehicle[3] - vehicle[1]
    return relative * np.array([w, h, w, h], np.float32) + vehicle[[0, 1, 0, 1]]


@dataclass(slots=True)
class _Seen:
    vehicle: np.ndarray  # xyxy of the vehicle box the plates were found in
    plates: np.ndarray  # (N, 4) relative to that box
    ts: float


class PlateMasker:
    """Plates masked in a sequence of frames of one camera or clip: `mask(image, vehicles, ts)`.

    Per frame, the plates located in each vehicle box, and for a vehicle box where none is found, the
    plates remembered (for `hold_s`) from the overlapping vehicle box of an earlier frame. Without plate
    models every vehicle box is obscured whole (fail closed). Thread-safe; state is per sequence, so one
    masker per camera (live) or per clip (export)."""

    def __init__(self, redactor: PlateRedactor, hold_s: float = HOLD_S) -> None:
        self.redactor, self.hold_s = redactor, hold_s
        self._seen: list[_Seen] = []
        self._lock = threading.Lock()
        self.remembered = 0  # boxes masked from memory (the detector missed them in that frame)

    def boxes(self, image: np.ndarray, vehicles: np.ndarray, ts: float) -> np.ndarray | None:
        """The plate boxes (N, 4) to obscure in this frame; None when the plate models are unavailable."""
        vehicles = np.asarray(vehicles, np.float32).reshape(-1, 4)
        with self._lock:
            self._seen = [s for s in self._seen if 0 <= ts - s.ts <= self.hold_s]
            out: list[np.ndarray] = []
            found_now: list[_Seen] = []
            for vehicle in vehicles:
                found = self.redactor.plate_boxes(image, vehicle[None])
                if found is None:
                    return None
                if len(found):
                    out.append(found)
                    found_now.append(_Seen(vehicle, _relative(found, vehicle), ts))
                    continue
                best = max(self._seen, key=lambda s: _iou(s.vehicle, vehicle), default=None)
                if best is not None and _iou(best.vehicle, vehicle) >= HOLD_IOU:
                    out.append(_absolute(best.plates, vehicle))
                    self.remembered += len(best.plates)
            self._seen.extend(found_now)
        return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 4), np.float32)

    def mask(self, image: np.ndarray, vehicles: np.ndarray, ts: float) -> np.ndarray:
        """A copy of `image` with the plates of its vehicle boxes obscured (`image` when there is none)."""
        vehicles = np.asarray(vehicles, np.float32).reshape(-1, 4)
        if not len(vehicles):
            return image
        plates = self.boxes(image, vehicles, ts)
        if plates is None:
            return blur_boxes(image, vehicles, grow=VEHICLE_PAD)
        return blur_boxes(image, plates, grow=PLATE_GROW) if len(plates) else image


class ClipPlateRedactor:
    """A `safecity.media.redaction.Redactor` for frames without tracks (exported clips): the vehicle
    detector finds the vehicles of each frame, a `PlateMasker` obscures their plates. One per clip."""

    def __init__(
        self, detect: Callable[[np.ndarray], sv.Detections], redactor: PlateRedactor, fps: float = CLIP_FPS
    ) -> None:
        self.detect, self.masker, self.fps = detect, PlateMasker(redactor), fps
        self.frames = 0

    def redact(self, image: np.ndarray) -> np.ndarray:
        ts = self.frames / self.fps
        self.frames += 1
        return self.masker.mask(image, vehicle_boxes(self.detect(image)), ts)


def photo_tiles(width: int, height: int, grid: int = PHOTO_GRID, margin: float = PHOTO_MARGIN) -> np.ndarray:
    """A `grid` x `grid` split of a photo (xyxy), each tile grown by `margin` of the photo's side (and
    widened 5% more by `PlateRedactor.plate_boxes`), so a plate on a seam is whole in one of them."""
    mx, my, tx, ty = margin * width, margin * height, width / grid, height / grid
    tiles = [
        (max(0.0, x - mx), max(0.0, y - my), min(float(width), x + tx + mx), min(float(height), y + ty + my))
        for y in (i * ty for i in range(grid))
        for x in (i * tx for i in range(grid))
    ]
    return np.asarray(tiles, np.float32)


class PhotoPlateRedactor:
    """A `Redactor` for uploaded photos: plate-shaped text anywhere in the photo obscured. The text detector
    looks at the whole photo (large plates: a close-up of a car), then at its tiles, each enlarged up to
    twice (`TILE_UPSCALE`): a plate of a car across the street is found at twice the size that the whole
    photo misses, and in a photo larger than the detector's input a tile is seen closer to full size.
    Every look is at most `side` pixels on its longer side. Fails closed: without the plate models the
    whole photo is obscured."""

    def __init__(
        self,
        redactor: PlateRedactor,
        side: int | None = PHOTO_SIDE,
        grid: int = PHOTO_GRID,
        margin: float = PHOTO_MARGIN,
    ) -> None:
        self.redactor, self.side, self.grid, self.margin = redactor, side, grid, margin

    def plate_boxes(self, image: np.ndarray) -> np.ndarray | None:
        h, w = image.shape[:2]
        whole = self.redactor.plate_boxes(image, np.array([[0, 0, w, h]], np.float32), side=self.side)
        if whole is None:
            return None
        found = [whole]
        for tile in photo_tiles(w, h, self.grid, self.margin):
            boxes = self.redactor.plate_boxes(image, tile[None], TILE_UPSCALE, self.side)
            if boxes is None:
                return None
            found.append(boxes[boxes[:, 3] - boxes[:, 1] <= TILE_MAX_PLATE * (tile[3] - tile[1])])
        return np.concatenate(found)

    def redact(self, image: np.ndarray) -> np.ndarray:
        plates = self.plate_boxes(image)
        if plates is None:
            return obscure_all(image)
        return blur_boxes(image, plates, grow=PLATE_GROW) if len(plates) else image


_default: PlateRedactor | None = None
_default_lock = threading.Lock()


def default_plate_redactor() -> PlateRedactor:
    """A process-wide plate redactor on the installed plate models, for a process without a node's
    `Plates` (as `face_redaction.default_redactor` is for faces)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = PlateRedactor(_installed_reader)
        return _default


def _installed_reader() -> PlateReader:
    from safecity.vision.models import default_cache_dir
    from safecity.vision.plates_models import plate_model_paths

    return PlateReader(*plate_model_paths(default_cache_dir()))


class RedactorChain:
    """Redactors applied in turn (faces, then plates): itself a `Redactor`."""

    def __init__(self, *redactors: Redactor) -> None:
        self.redactors = redactors

    def redact(self, image: np.ndarray) -> np.ndarray:
        for r in self.redactors:
            image = r.redact(image)
        return image
