"""The plate step of a camera: once per vehicle track, read its plate on the track's best frames.

`BestFrames` (shared with the face step) keeps the few largest and sharpest crops of each vehicle track
over `window_s`; when the track is released, each crop is read and the reads are voted per character
(`PlateVote`). One `TrackPlate` per track at most: the plate, its confidence, country, the direction the
vehicle moved in the image and a crop of the plate (for the person who confirms a hotlist hit). Vehicle
crops are zeroed once read. Pure: no I/O; the camera runtime turns results into `plate_read` events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import supervision as sv

from safecity.types import Frame, class_ids, track_ids
from safecity.vision.faces import BestFrames, discard
from safecity.vision.plates import PlateRead, PlateReader, PlateVote
from safecity.vision.plates_config import PlatesConfig

VEHICLES = (2, 3, 5, 7)  # COCO car, motorcycle, bus, truck
PLATE_PAD = 0.15  # of the plate's height, kept around the characters in the stored crop


def vehicle_crop(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The vehicle box widened by 5% on each side (plates sit on its edge), as a copy."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    px, py = 0.05 * (x2 - x1), 0.05 * (y2 - y1)
    top, bottom = int(max(0, y1 - py)), int(min(h, y2 + py))
    return image[top:bottom, int(max(0, x1 - px)) : int(min(w, x2 + px))].copy()


@dataclass(frozen=True, slots=True)
class TrackPlate:
    track_id: int
    read: PlateRead  # box is in the coordinates of `crop`'s source vehicle crop
    crop: np.ndarray  # the plate, BGR copy
    direction: str  # "approaching" (moving down the image), "leaving" (up) or "" (not enough motion)


class PlateStage:
    """`observe(frame, tracks) -> [TrackPlate]` for the vehicle tracks released by this frame."""

    def __init__(self, config: PlatesConfig, reader: Callable[[], PlateReader]) -> None:
        self.config = config
        self._reader_factory = reader
        self._reader: PlateReader | None = None  # loaded on the first vehicle, not at camera start
        self._best = BestFrames(
            per_track=config.per_track,
            window_s=config.window_s,
            lost_s=1.0,
            min_height_px=config.min_vehicle_px,
            classes=VEHICLES,
            crop=vehicle_crop,
        )
        self._first_y: dict[int, float] = {}
        self._last_y: dict[int, float] = {}

    def observe(self, frame: Frame, tracks: sv.Detections) -> list[TrackPlate]:
        self._follow(tracks)
        out: list[TrackPlate] = []
        for tid, candidates in self._best.observe(frame, tracks):
            try:
                plate = self._read(tid, [c.crop for c in candidates])
            finally:
                discard(*(c.crop for c in candidates))
            if plate is not None:
                out.append(plate)
            self._first_y.pop(tid, None)
            self._last_y.pop(tid, None)
        return out

    def _follow(self, tracks: sv.Detections) -> None:
        if not len(tracks):
            return
        centre_y = (tracks.xyxy[:, 1] + tracks.xyxy[:, 3]) / 2
        for tid, cls, y in zip(track_ids(tracks), class_ids(tracks), centre_y, strict=True):
            if int(cls) in VEHICLES and tid >= 0:
                self._first_y.setdefault(int(tid), float(y))
                self._last_y[int(tid)] = float(y)
        if len(self._first_y) > 4 * 1024:  # tracks that were never released (too small): forget the oldest
            for tid in list(self._first_y)[:1024]:
                self._first_y.pop(tid, None)
                self._last_y.pop(tid, None)

    def _read(self, tid: int, crops: list[np.ndarray]) -> TrackPlate | None:
        if self._reader is None:
            self._reader = self._reader_factory()
        vote = PlateVote()
        crop_of: dict[int, np.ndarray] = {}
        for crop in crops:
            reads = self._reader.read(crop)
            if reads:
                vote.add(reads[:1])
                crop_of[id(reads[0])] = crop
        result = vote.result()
        if result is None:
            return None
        source = next(
            (crop_of[id(r)] for r in vote.reads if r.plate == result.plate and id(r) in crop_of), crops[0]
        )
        return TrackPlate(tid, result, plate_crop(source, result.box), self._direction(tid))

    def _direction(self, tid: int) -> str:
        first, last = self._first_y.get(tid), self._last_y.get(tid)
        if first is None or last is None or abs(last - first) < 8:
            return ""
        return "approaching" if last > first else "leaving"


def plate_crop(image: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    h, w = image.shape[:2]
    x1, y1, x2, y2 = box
    pad = int(PLATE_PAD * (y2 - y1)) + 2
    return image[max(0, y1 - pad) : min(h, y2 + pad), max(0, x1 - pad) : min(w, x2 + pad)].copy()
