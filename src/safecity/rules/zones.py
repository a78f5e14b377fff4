"""Zone occupancy, crowding and loitering, on supervision's `PolygonZone`.

A track briefly missed by the detector must not reset its loitering clock or emit a spurious exit, so
membership ends only after `EXIT_GRACE_S` without being seen inside. Crowding is debounced in time on
both edges (an episode starts after `min_duration_s` at or above the threshold and ends after as long
below `clear_below`), so one crowded period is one event.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import supervision as sv

from safecity.config.models import ZoneConfig
from safecity.types import COCO_CLASSES, LABEL_TO_COCO, Event, EventKind, class_ids, subset, track_ids, utc

EXIT_GRACE_S = 2.0


@dataclass(slots=True)
class _Member:
    first_ts: float
    last_ts: float
    label: str
    loiter_reported: bool = False


@dataclass(slots=True)
class _Crowding:
    above_since: float | None = None
    below_since: float | None = None
    active: bool = False
    peak: int = 0


class ZoneMonitor:
    def __init__(self, camera_id: str, cfg: ZoneConfig, labels: tuple[str, ...]) -> None:
        self.camera_id = camera_id
        self.cfg = cfg
        self.class_ids = np.array([LABEL_TO_COCO[x] for x in (cfg.classes or labels)])
        polygon = np.array(cfg.polygon, dtype=np.int64)
        self.zone = sv.PolygonZone(polygon=polygon, triggering_anchors=(sv.Position.BOTTOM_CENTER,))
        self.members: dict[int, _Member] = {}
        self.occupancy = 0
        self._crowd = _Crowding()

    def update(self, tracks: sv.Detections, ts: float, on_event: Callable[[Event, int | None], None]) -> None:
        inside: list[int] = []
        if len(tracks):
            mask = np.isin(class_ids(tracks), self.class_ids)
            mask[mask] = self.zone.trigger(subset(tracks, mask))
            inside = [int(i) for i in np.nonzero(mask)[0]]
        self.occupancy = len(inside)
        for i in inside:
            self._see(tracks, i, ts, on_event)
        self._expire(ts, on_event)
        if self.cfg.crowding is not None:
            self._crowding(ts, on_event)

    def _see(
        self, tracks: sv.Detections, i: int, ts: float, on_event: Callable[[Event, int | None], None]
    ) -> None:
        tid = int(track_ids(tracks)[i])
        m = self.members.get(tid)
        if m is None:
            m = self.members[tid] = _Member(ts, ts, COCO_CLASSES[int(class_ids(tracks)[i])])
            if self.cfg.enter_exit_events:
                on_event(self._event(EventKind.ZONE_ENTER, ts, ts, label=m.label, track_id=tid), i)
        m.last_ts = ts
        rule = self.cfg.loitering
        if rule is not None and not m.loiter_reported and ts - m.first_ts >= rule.after_s:
            m.loiter_reported = True
            on_event(self._event(EventKind.LOITERING, m.first_ts, ts, label=m.label, track_id=tid), i)

    def _expire(self, ts: float, on_event: Callable[[Event, int | None], None]) -> None:
        for tid in [t for t, m in self.members.items() if ts - m.last_ts > EXIT_GRACE_S]:
            m = self.members.pop(tid)
            if self.cfg.enter_exit_events:
                on_event(
                    self._event(EventKind.ZONE_EXIT, m.first_ts, m.last_ts, label=m.label, track_id=tid), None
                )

    def _crowding(self, ts: float, on_event: Callable[[Event, int | None], None]) -> None:
        rule = self.cfg.crowding
        assert rule is not None
        c = self._crowd
        clear_below = rule.clear_below if rule.clear_below is not None else rule.threshold
        if self.occupancy >= rule.threshold:
            c.below_since = None
            c.above_since = ts if c.above_since is None else c.above_since
            c.peak = max(c.peak, self.occupancy)
            if not c.active and ts - c.above_since >= rule.min_duration_s:
                c.active = True
                on_event(self._event(EventKind.CROWDING, c.above_since, ts, count=c.peak), None)
        elif self.occupancy < clear_below:
            c.below_since = ts if c.below_since is None else c.below_since
            if ts - c.below_since >= rule.min_duration_s or not c.active:
                self._crowd = _Crowding()

    def _event(
        self,
        kind: EventKind,
        start: float,
        end: float,
        *,
        label: str | None = None,
        track_id: int | None = None,
        count: int | None = None,
    ) -> Event:
        return Event(
            camera_id=self.camera_id,
            kind=kind,
            start=utc(start),
            end=utc(end),
            zone_id=self.cfg.id,
            label=label,
            track_id=track_id,
            count=count,
        )
