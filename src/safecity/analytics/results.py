"""What analytics queries return: aggregates only (the API's response schemas too).

Every count is `int | None`: None means "fewer than `min_count`" (suppressed, see `privacy`).
Times are aware datetimes; buckets are whole hours or days of the configured time zone.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from safecity.analytics.config import Metric

Count = int | None
BucketSize = Literal["hour", "day"]


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class Key(_Out):
    """What a series counts: the camera and, depending on the metric, zone / line / label / direction."""

    camera_id: str
    zone_id: str | None = None
    line_id: str | None = None
    label: str | None = None
    direction: str | None = None


class Point(_Out):
    at: datetime = Field(description="Start of the bucket")
    value: Count


class Series(_Out):
    key: Key
    total: Count
    points: list[Point]


class SeriesResult(_Out):
    metric: Metric
    bucket: BucketSize
    since: datetime
    until: datetime
    timezone: str
    min_count: int
    total: Count
    series: list[Series]


class Heatmap(_Out):
    camera_id: str
    label: str | None
    since: datetime
    until: datetime
    cols: int
    rows: int
    samples: int = Field(description="Occupancy samples (periods) behind the map")
    samples_withheld: int = Field(description="Samples left out: fewer than min_count tracks in the frame")
    cells: list[Count] = Field(description="Distinct tracks per cell summed over samples, row-major")
    max: Count
    min_count: int


class DwellBin(_Out):
    lo_s: float
    hi_s: float | None
    count: Count


class ZoneDwell(_Out):
    camera_id: str
    zone_id: str
    visits: Count
    p50_s: float | None
    p90_s: float | None
    bins: list[DwellBin]
    loitering: Count


class DwellResult(_Out):
    since: datetime
    until: datetime
    label: str
    min_count: int
    zones: list[ZoneDwell]


class HourStat(_Out):
    hour: int
    total: Count
    per_day: float | None


class PeakHours(_Out):
    metric: Metric
    since: datetime
    until: datetime
    timezone: str
    days: int
    min_count: int
    hours: list[HourStat]
    peaks: list[int] = Field(description="Busiest hours of the day, busiest first")
    weekday_hour: list[list[Count]] = Field(description="7 x 24 totals, Monday first")


class Change(_Out):
    key: Key | None = Field(description="None: all keys together")
    current: Count
    previous: Count
    delta: int | None
    ratio: float | None = Field(description="current / previous")


class Comparison(_Out):
    metric: Metric
    since: datetime
    until: datetime
    previous_since: datetime
    previous_until: datetime
    min_count: int
    total: Change
    changes: list[Change]


class Anomaly(_Out):
    metric: Metric
    key: Key
    hour: datetime
    observed: Count
    median: float
    mad: float
    score: float = Field(description="Robust z: (observed - median) / max(1.4826 MAD, sqrt(max(median, 1)))")
    history: int = Field(description="Past hours (same weekday and hour) behind the baseline")
    direction: Literal["above", "below"]


class DirectionCount(_Out):
    direction: str = Field(description="The counting line's direction name (its in_name / out_name)")
    count: Count


class VehicleClass(_Out):
    label: str = Field(description="car, bus (coaches), truck, motorcycle or bicycle")
    crossings: Count = Field(description="Line crossings in every direction (traffic counts)")
    by_direction: list[DirectionCount]
    by_hour: list[Count] = Field(description="Line crossings per local hour of the day (24)")
    arrivals: Count = Field(description="Zone entries (zones with enter/exit events: bays, drop-off areas)")
    present: Count = Field(description="Vehicles in view: distinct tracks per occupancy sample, summed")


class VehicleCounts(_Out):
    since: datetime
    until: datetime
    timezone: str
    min_count: int
    crossings: Count = Field(description="Line crossings of all vehicle classes")
    classes: list[VehicleClass] = Field(description="Each vehicle class, in a fixed order")
