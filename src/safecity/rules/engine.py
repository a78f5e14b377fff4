"""All rules of one camera: `update(tracks, ts) -> [(event, subject index)]`."""

from __future__ import annotations

from dataclasses import dataclass

import supervision as sv

from safecity.config.models import CameraConfig
from safecity.rules.lines import LineCounter
from safecity.rules.traffic import SpeedMeter, WrongWayMonitor
from safecity.rules.zones import ZoneMonitor
from safecity.types import Event, EventKind


@dataclass(frozen=True, slots=True)
class RuleHit:
    event: Event
    subject: int | None  # index into this frame's tracks, for the snapshot's box; None for zone-wide events


class CameraRules:
    def __init__(self, camera: CameraConfig, labels: tuple[str, ...]) -> None:
        self.lines = [LineCounter(camera.id, cfg, labels) for cfg in camera.lines]
        self.zones = [ZoneMonitor(camera.id, cfg, labels) for cfg in camera.zones]
        self.speeds = [SpeedMeter(camera.id, cfg) for cfg in camera.speeds]
        self.wrong_way = [WrongWayMonitor(camera.id, z, labels) for z in camera.zones if z.direction]

    def update(self, tracks: sv.Detections, ts: float) -> list[RuleHit]:
        hits: list[RuleHit] = []

        def emit(event: Event, subject: int | None) -> None:
            hits.append(RuleHit(event, subject))
            if event.kind == EventKind.LINE_CROSSING:
                for meter in self.speeds:
                    meter.crossed(event, lambda e: hits.append(RuleHit(e, subject)))

        for line in self.lines:
            line.update(tracks, ts, emit)
        for zone in self.zones:
            zone.update(tracks, ts, emit)
        for monitor in self.wrong_way:
            monitor.update(tracks, ts, emit)
        return hits

    def line_counts(self) -> dict[str, dict[tuple[str, str], int]]:
        return {line.cfg.id: dict(line.counts) for line in self.lines}

    def occupancy(self) -> dict[str, int]:
        return {zone.cfg.id: zone.occupancy for zone in self.zones}
