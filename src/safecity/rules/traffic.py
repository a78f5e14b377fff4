"""Traffic rules: average speed between two lines, and travel against a zone's allowed direction.

Speed is the average over the stretch between two counting lines whose ground distance the operator
measured (as average-speed enforcement systems do): one `speed` event per vehicle that crosses both lines
within `max_gap_s`, in either order, plus a `speeding` event above the limit. It needs no camera
calibration, only the distance; the error is that of the crossing times, i.e. +/- one analysed frame.

Wrong way: inside a zone with an allowed direction, a track's displacement since it entered is compared
with that direction; once it has moved `wrong_way_min_px` and points more than 120 degrees away, one
`wrong_way` event is raised for that track.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import supervision as sv

from safecity.config.models import SpeedConfig, ZoneConfig
from safecity.types import COCO_CLASSES, LABEL_TO_COCO, Event, EventKind, class_ids, subset, track_ids, utc

MAX_PENDING = 4096  # first crossings remembered per speed rule (the oldest are dropped first)
WRONG_WAY_COS = -0.5  # cos(120 degrees)
EXIT_GRACE_S = 2.0


class SpeedMeter:
    """Pairs the line crossings of one track on two lines into one average speed."""

    def __init__(self, camera_id: str, cfg: SpeedConfig) -> None:
        self.camera_id, self.cfg = camera_id, cfg
        self.labels = set(cfg.classes)
        self._first: OrderedDict[int, tuple[str, float]] = OrderedDict()  # track -> (line, ts)

    def crossed(self, event: Event, on_event: Callable[[Event], None]) -> None:
        """Feed a `line_crossing` event of this camera."""
        if event.line_id not in (self.cfg.from_line, self.cfg.to_line) or event.label not in self.labels:
            return
        if event.track_id is None:
            return
        ts = event.start.timestamp()
        first = self._first.pop(event.track_id, None)
        if first is None or first[0] == event.line_id or ts - first[1] > self.cfg.max_gap_s or ts <= first[1]:
            self._first[event.track_id] = (str(event.line_id), ts)
            while len(self._first) > MAX_PENDING:
                self._first.popitem(last=False)
            return
        kmh = round(self.cfg.distance_m / (ts - first[1]) * 3.6, 1)
        direction = f"{first[0]}->{event.line_id}"
        on_event(self._event(EventKind.SPEED, event, first[1], direction, kmh))
        if self.cfg.limit_kmh is not None and kmh > self.cfg.limit_kmh:
            on_event(self._event(EventKind.SPEEDING, event, first[1], direction, kmh))

    def _event(self, kind: EventKind, crossing: Event, start: float, direction: str, kmh: float) -> Event:
        return Event(
            camera_id=self.camera_id,
            kind=kind,
            start=utc(start),
            end=crossing.end,
            label=crossing.label,
            track_id=crossing.track_id,
            line_id=self.cfg.id,
            direction=direction,
            value=kmh,
        )


class WrongWayMonitor:
    """One `wrong_way` event per track that moves against the zone's allowed direction."""

    def __init__(self, camera_id: str, cfg: ZoneConfig, labels: tuple[str, ...]) -> None:
        assert cfg.direction is not None
        self.camera_id, self.cfg = camera_id, cfg
        dx, dy = cfg.direction
        norm = math.hypot(dx, dy)
        if norm == 0:
            raise ValueError(f"zone {cfg.id}: direction must not be (0, 0)")
        self.allowed = np.array([dx / norm, dy / norm])
        self.class_ids = np.array([LABEL_TO_COCO[x] for x in (cfg.classes or labels)])
        polygon = np.array(cfg.polygon, dtype=np.int64)
        self.zone = sv.PolygonZone(polygon=polygon, triggering_anchors=(sv.Position.BOTTOM_CENTER,))
        # track -> (entry point, last seen, reported)
        self._entered: dict[int, tuple[np.ndarray, float, bool]] = {}

    def update(self, tracks: sv.Detections, ts: float, on_event: Callable[[Event, int | None], None]) -> None:
        if len(tracks):
            mask = np.isin(class_ids(tracks), self.class_ids)
            mask[mask] = self.zone.trigger(subset(tracks, mask))
            anchors = tracks.get_anchors_coordinates(sv.Position.BOTTOM_CENTER)
            for i in np.nonzero(mask)[0]:
                self._see(tracks, int(i), anchors[i], ts, on_event)
        for tid in [t for t, (_, last, _) in self._entered.items() if ts - last > EXIT_GRACE_S]:
            del self._entered[tid]

    def _see(self, tracks: sv.Detections, i: int, point: np.ndarray, ts: float,
             on_event: Callable[[Event, int | None], None]) -> None:  # fmt: skip
        tid = int(track_ids(tracks)[i])
        start, _, reported = self._entered.get(tid, (point, ts, False))
        moved = point - start
        length = float(np.hypot(*moved))
        against = length > 0 and float(moved @ self.allowed) / length < WRONG_WAY_COS
        if not reported and length >= self.cfg.wrong_way_min_px and against:
            reported = True
            on_event(self._event(tid, COCO_CLASSES[int(class_ids(tracks)[i])], ts), i)
        self._entered[tid] = (start, ts, reported)

    def _event(self, tid: int, label: str, ts: float) -> Event:
        return Event(
            camera_id=self.camera_id,
            kind=EventKind.WRONG_WAY,
            start=utc(ts),
            end=utc(ts),
            label=label,
            track_id=tid,
            zone_id=self.cfg.id,
        )
