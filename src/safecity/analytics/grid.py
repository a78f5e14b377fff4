"""The occupancy grid sampler: where people and vehicles stand, aggregated per camera and period.

Each analysed frame, every track's anchor (bottom centre of its box: where it stands) falls in one cell
of a `cols` x `rows` grid over the frame. Per clock-aligned period the sampler keeps, for each label and
cell, the set of distinct track ids seen there; when a frame of the next period arrives it emits one
`occupancy` event per label with the number of distinct tracks per cell (`Event.grid`) and drops the
ids. The ids never leave this object: an occupancy event holds counts per cell, not who went where. A
period with no track at all still yields one event (label None, count 0): the camera was watching,
so "nobody" is a real zero for the analytics, not a gap.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import supervision as sv

from safecity.analytics.config import GridConfig
from safecity.types import COCO_CLASSES, Event, EventKind, OccupancyGrid, class_ids, track_ids, utc


class OccupancySampler:
    """`update(tracks, ts, width, height) -> [occupancy events of the period that just ended]`."""

    def __init__(self, camera_id: str, cfg: GridConfig, labels: tuple[str, ...]) -> None:
        self.camera_id = camera_id
        self.cfg = cfg
        self.labels = frozenset(labels)
        self._period: int | None = None  # index of the current period (ts // period_s)
        self._seen: dict[str, dict[int, set[int]]] = defaultdict(lambda: defaultdict(set))
        self._tracks: dict[str, set[int]] = defaultdict(set)

    def cells(self, xyxy: np.ndarray, width: int, height: int) -> np.ndarray:
        """Grid cell index (row * cols + col) of each box's bottom-centre anchor."""
        x = (xyxy[:, 0] + xyxy[:, 2]) / 2.0
        y = xyxy[:, 3]
        col = np.clip((x * self.cfg.cols / max(width, 1)).astype(np.int64), 0, self.cfg.cols - 1)
        row = np.clip((y * self.cfg.rows / max(height, 1)).astype(np.int64), 0, self.cfg.rows - 1)
        return row * self.cfg.cols + col

    def update(self, tracks: sv.Detections, ts: float, width: int, height: int) -> list[Event]:
        period = math.floor(ts / self.cfg.period_s)
        out: list[Event] = []
        if self._period is None:
            self._period = period
        elif period != self._period:
            out = self.flush()
            self._period = period
        if len(tracks):
            self._add(tracks, width, height)
        return out

    def _add(self, tracks: sv.Detections, width: int, height: int) -> None:
        cells = self.cells(np.asarray(tracks.xyxy, dtype=np.float64), width, height)
        for cell, cls, tid in zip(
            cells.tolist(), class_ids(tracks).tolist(), track_ids(tracks).tolist(), strict=True
        ):
            label = COCO_CLASSES.get(int(cls))
            if label is None or label not in self.labels or tid < 0:
                continue
            self._seen[label][int(cell)].add(int(tid))
            self._tracks[label].add(int(tid))

    def flush(self) -> list[Event]:
        """The events of the current period (then forgotten); [] before the first frame."""
        if self._period is None:
            return []
        start = utc(self._period * self.cfg.period_s)
        end = utc((self._period + 1) * self.cfg.period_s)
        events = [
            Event(
                camera_id=self.camera_id,
                kind=EventKind.OCCUPANCY,
                start=start,
                end=end,
                label=label,
                count=len(self._tracks[label]),
                grid=OccupancyGrid(
                    self.cfg.cols, self.cfg.rows, tuple((c, len(ids)) for c, ids in sorted(cells.items()))
                ),
            )
            for label, cells in sorted(self._seen.items())
        ]
        if not events:
            events = [
                Event(camera_id=self.camera_id, kind=EventKind.OCCUPANCY, start=start, end=end, count=0)
            ]
        self._seen.clear()
        self._tracks.clear()
        self._period = None
        return events
