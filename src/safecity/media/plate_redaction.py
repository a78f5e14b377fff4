"""Plate redaction: plates blurred in every stored snapshot, alongside faces (DESIGN: stored snapshots have
faces and plates blurred unless a privileged, audited request asks otherwise).

Only inside vehicle boxes of the snapshot's tracks: a snapshot without a vehicle costs nothing, and the
text detector never sees shop signs or street names. Inside each box the plate models' text detector
(`PlateReader.locate`, no reading) finds plate-shaped text, which is obscured like a face. The models
load on the first vehicle, once per node. If they cannot be loaded the redactor fails closed: each
vehicle box is obscured whole, and the error is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np

from safecity.media.face_redaction import blur_boxes
from safecity.vision.plates import PlateReader

log = logging.getLogger(__name__)
VEHICLE_PAD = 0.05  # of the vehicle box on each side: plates sit on its edge
PLATE_GROW = 0.25  # of the plate box on each side, blurred with it (the frame of the plate, stray glyphs)


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

    def plate_boxes(self, image: np.ndarray, vehicle_boxes: np.ndarray) -> np.ndarray | None:
        """Plate boxes (N, 4) inside the vehicle boxes; None when the models are unavailable."""
        reader = self._get()
        if reader is None:
            return None
        h, w = image.shape[:2]
        found: list[tuple[int, int, int, int]] = []
        for x1, y1, x2, y2 in np.asarray(vehicle_boxes, np.float32).reshape(-1, 4):
            px, py = VEHICLE_PAD * (x2 - x1), VEHICLE_PAD * (y2 - y1)
            region = (max(0.0, x1 - px), max(0.0, y1 - py), min(float(w), x2 + px), min(float(h), y2 + py))
            found.extend(reader.locate(image, region))
        return np.asarray(found, np.float32).reshape(-1, 4)

    def redact(self, image: np.ndarray, vehicle_boxes: np.ndarray) -> np.ndarray:
        if not len(vehicle_boxes):
            return image
        plates = self.plate_boxes(image, vehicle_boxes)
        if plates is None:
            return blur_boxes(image, vehicle_boxes, grow=VEHICLE_PAD)
        return blur_boxes(image, plates, grow=PLATE_GROW) if len(plates) else image
