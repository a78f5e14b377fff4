"""Line crossing counts per direction and class, on supervision's `LineZone`.

Objects are anchored at the bottom centre of their box (where they stand), which is what an operator
means by "crossed the line" for people and vehicles alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import numpy as np
import supervision as sv

from safecity.config.models import LineConfig
from safecity.types import COCO_CLASSES, LABEL_TO_COCO, Event, EventKind, class_ids, subset, track_ids, utc


class LineCounter:
    def __init__(self, camera_id: str, cfg: LineConfig, labels: tuple[str, ...]) -> None:
        self.camera_id = camera_id
        self.cfg = cfg
        self.class_ids = np.array([LABEL_TO_COCO[x] for x in (cfg.classes or labels)])
        self.zone = sv.LineZone(
            start=sv.Point(*cfg.start),
            end=sv.Point(*cfg.end),
            triggering_anchors=(sv.Position.BOTTOM_CENTER,),
        )
        self.counts: Counter[tuple[str, str]] = Counter()  # (direction name, label) -> count

    def update(self, tracks: sv.Detections, ts: float, on_event: Callable[[Event, int], None]) -> None:
        """Feed this frame's tracks; `on_event(event, index into tracks)` for each crossing."""
        if len(tracks) == 0:
            self.zone.trigger(tracks)  # lets the zone age out tracks it no longer sees
            return
        mask = np.isin(class_ids(tracks), self.class_ids)
        idx = np.nonzero(mask)[0]
        crossed_in, crossed_out = self.zone.trigger(subset(tracks, mask))
        for flags, direction in ((crossed_in, self.cfg.in_name), (crossed_out, self.cfg.out_name)):
            for j in np.nonzero(flags)[0]:
                i = int(idx[j])
                label = COCO_CLASSES[int(class_ids(tracks)[i])]
                self.counts[(direction, label)] += 1
                on_event(self._event(tracks, i, direction, label, ts), i)

    def _event(self, tracks: sv.Detections, i: int, direction: str, label: str, ts: float) -> Event:
        conf = tracks.confidence
        return Event(
            camera_id=self.camera_id,
            kind=EventKind.LINE_CROSSING,
            start=utc(ts),
            end=utc(ts),
            label=label,
            track_id=int(track_ids(tracks)[i]),
            line_id=self.cfg.id,
            direction=direction,
            count=self.counts[(direction, label)],
            score=float(conf[i]) if conf is not None else None,
        )
