"""The typed containers that cross stage boundaries (DESIGN.md: one container per boundary).

Detections and Tracks are supervision's struct-of-arrays `Detections` (xyxy, confidence, class_id,
tracker_id): the tracker, line and zone primitives we build on all speak it, so wrapping it would only add
copies. Tracks are Detections whose `tracker_id` is set.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import supervision as sv

Detections = sv.Detections
Tracks = sv.Detections

EVENT_SCHEMA_VERSION = 1

# COCO-80 ids of the classes the platform cares about; the detector filters to the configured subset.
COCO_CLASSES: dict[int, str] = {0: "person", 1: "bicycle", 2: "car", 3: "motorcycle", 5: "bus", 7: "truck"}
LABEL_TO_COCO: dict[str, int] = {v: k for k, v in COCO_CLASSES.items()}


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded picture of one camera.

    `pts` is the stream's own presentation time in seconds (monotonic within one connection);
    `ts` is the absolute UTC time in epoch seconds that the pipeline assigns it.
    """

    camera_id: str
    seq: int
    pts: float
    ts: float
    image: np.ndarray  # HxWx3 uint8, BGR

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


class EventKind(enum.StrEnum):
    LINE_CROSSING = "line_crossing"
    ZONE_ENTER = "zone_enter"
    ZONE_EXIT = "zone_exit"
    CROWDING = "crowding"
    LOITERING = "loitering"
    OCCUPANCY = "occupancy"  # periodic aggregated occupancy grid of a camera (`Event.grid`), analytics
    ANOMALY = "anomaly"  # a level far from its usual value for that hour and weekday, analytics
    SPEED = "speed"  # a vehicle timed between two lines (`Event.value`: km/h), traffic
    SPEEDING = "speeding"  # a `speed` above the rule's limit
    WRONG_WAY = "wrong_way"  # a track moving against a zone's allowed direction
    PLATE_READ = "plate_read"  # a vehicle track's plate was read (the text only in `plate_reads`)


def new_event_id() -> str:
    return uuid.uuid4().hex


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


@dataclass(frozen=True, slots=True)
class OccupancyGrid:
    """How many distinct tracks stood in each cell of a `cols` x `rows` grid laid over the frame during
    one period (an `occupancy` event's start..end). An aggregate by construction: no track ids, no
    positions of a single track over time. Sparse: `cells` holds (row * cols + col, tracks), only
    non-zero cells, by ascending cell index."""

    cols: int
    rows: int
    cells: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if self.cols < 1 or self.rows < 1:
            raise ValueError(f"an occupancy grid needs cols, rows >= 1, got {self.cols}x{self.rows}")
        size = self.cols * self.rows
        if any(not 0 <= i < size or n < 1 for i, n in self.cells):
            raise ValueError(f"occupancy grid cells must be (index < {size}, count >= 1)")

    def to_dict(self) -> dict[str, object]:
        return {"cols": self.cols, "rows": self.rows, "cells": [[i, n] for i, n in self.cells]}

    @classmethod
    def from_dict(cls, data: object) -> OccupancyGrid:
        if not isinstance(data, dict):
            raise ValueError(f"an occupancy grid is an object, got {type(data).__name__}")
        cols, rows, cells = data.get("cols"), data.get("rows"), data.get("cells")
        if not isinstance(cols, int) or not isinstance(rows, int) or not isinstance(cells, list):
            raise ValueError("an occupancy grid needs integer cols, rows and a list of cells")
        if not all(isinstance(c, list) and len(c) == 2 and all(type(v) is int for v in c) for c in cells):
            raise ValueError("occupancy grid cells must be [index, count] integer pairs")
        return cls(cols, rows, tuple((int(i), int(n)) for i, n in cells))


@dataclass(frozen=True, slots=True)
class Event:
    """What leaves a camera worker. Append-only; `schema_version` lets consumers read old rows."""

    camera_id: str
    kind: EventKind
    start: datetime
    end: datetime
    label: str | None = None
    track_id: int | None = None
    line_id: str | None = None
    zone_id: str | None = None
    direction: str | None = None
    count: int | None = None
    score: float | None = None
    snapshot: str | None = None  # a key in media storage, never pixels
    grid: OccupancyGrid | None = None  # `occupancy` events only
    value: float | None = None  # a measurement: km/h for `speed` and `speeding` events
    id: str = field(default_factory=new_event_id)
    schema_version: int = EVENT_SCHEMA_VERSION


def class_ids(d: sv.Detections) -> np.ndarray:
    """COCO class per detection (supervision types the field as optional; our detector always sets it)."""
    return d.class_id if d.class_id is not None else np.full(len(d), -1, np.int64)


def track_ids(d: sv.Detections) -> np.ndarray:
    return d.tracker_id if d.tracker_id is not None else np.full(len(d), -1, np.int64)


def subset(d: sv.Detections, mask: np.ndarray) -> sv.Detections:
    """`d[mask]` typed as Detections (supervision's __getitem__ is typed for every index kind)."""
    out = d[mask]
    assert isinstance(out, sv.Detections)
    return out


def empty_tracks() -> sv.Detections:
    """No tracks, with every per-box field present so callers can zip over them."""
    d = sv.Detections.empty()
    d.tracker_id = np.zeros(0, np.int64)
    d.class_id = np.zeros(0, np.int64)
    d.confidence = np.zeros(0, np.float32)
    return d
