"""Dashboard queries over a DuckDB connection prepared by `db.session` (views `events`, `occupancy`).

Each function selects aggregates only and suppresses small counts before returning (see `privacy`).
Hours, days and weekdays are those of `Scope.timezone`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from safecity.analytics.config import Metric
from safecity.analytics.lake import QUARTER_US
from safecity.analytics.privacy import check_columns, suppress
from safecity.analytics.results import (
    BucketSize,
    Change,
    Comparison,
    DirectionCount,
    DwellBin,
    DwellResult,
    Heatmap,
    HourStat,
    Key,
    PeakHours,
    Point,
    Series,
    SeriesResult,
    VehicleClass,
    VehicleCounts,
    ZoneDwell,
)

DWELL_EDGES_S: tuple[float, ...] = (0, 10, 30, 60, 120, 300, 600, 1800, 3600)
# the detector's vehicle classes (COCO); a coach is a `bus`, a taxi a `car` (no class tells them apart)
VEHICLE_LABELS: tuple[str, ...] = ("car", "bus", "truck", "motorcycle", "bicycle")
VEHICLE_NAMES = {"car": "Cars and taxis", "bus": "Buses and coaches", "truck": "Trucks",
                 "motorcycle": "Motorcycles", "bicycle": "Bicycles"}  # fmt: skip
_VEHICLE = "label IN (" + ", ".join(f"'{v}'" for v in VEHICLE_LABELS) + ")"


@dataclass(frozen=True, slots=True)
class MetricDef:
    where: str
    value: str  # over `events`
    keys: tuple[str, ...]
    rollup_value: str = "sum(n)"  # the same over `rollup` (lake.ROLLUP: counts per quarter-hour)

    def source(self, scope: Scope) -> tuple[str, str]:
        """(view, value expression): the quarter-hour rollup when the scope allows it, else the events."""
        return ("rollup", self.rollup_value) if scope.aligned else ("events", self.value)


METRICS: dict[str, MetricDef] = {
    # people entering zones (zones with enter_exit_events)
    "footfall": MetricDef("kind = 'zone_enter' AND label = 'person'", "count(*)", ("camera_id", "zone_id")),
    # line crossings per class and direction (traffic and pedestrian counts)
    "crossings": MetricDef(
        "kind = 'line_crossing'", "count(*)", ("camera_id", "line_id", "label", "direction")
    ),
    # people present: distinct tracks per occupancy sample, summed over samples
    "presence": MetricDef(
        "kind = 'occupancy' AND label = 'person'", "sum(count)", ("camera_id",), rollup_value="sum(total)"
    ),
    # crowding episodes
    "crowding": MetricDef("kind = 'crowding'", "count(*)", ("camera_id", "zone_id")),
    # vehicles crossing counting lines, per class and direction (traffic counts)
    "vehicles": MetricDef(
        f"kind = 'line_crossing' AND {_VEHICLE}", "count(*)", ("camera_id", "line_id", "label", "direction")
    ),
}


@dataclass(frozen=True, slots=True)
class Scope:
    """The period and filters of one query (the connection's window must cover since..until)."""

    since: datetime
    until: datetime
    timezone: str = "UTC"
    min_count: int = 5
    camera_id: str | None = None
    zone_id: str | None = None
    line_id: str | None = None
    label: str | None = None
    zones: frozenset[tuple[str, str]] | None = field(default=None)  # (camera, zone) of a site

    def where(self, metric: MetricDef | None = None) -> tuple[str, list[Any]]:
        """SQL conditions (ANDed) and their parameters for this scope and metric."""
        clauses = ["start_ts >= ?", "start_ts < ?"]
        params: list[Any] = [self.since.astimezone(UTC), self.until.astimezone(UTC)]
        if metric is not None:
            clauses.append(f"({metric.where})")
        for column in ("camera_id", "zone_id", "line_id", "label"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if self.zones is not None and (metric is None or "zone_id" in metric.keys):
            pairs = sorted(self.zones) or [("", "")]
            # events tied to no zone (line crossings, samples, presence anomalies) are not zone-filtered
            either = " OR ".join("(camera_id = ? AND zone_id = ?)" for _ in pairs)
            clauses.append(f"(zone_id IS NULL OR {either})")
            params.extend(v for pair in pairs for v in pair)
        return " AND ".join(clauses), params

    @property
    def aligned(self) -> bool:
        """Whether since and until fall on UTC quarter-hours (the rollup's granularity)."""
        return all(int(t.timestamp() * 1_000_000) % QUARTER_US == 0 for t in (self.since, self.until))

    def local(self, column: str = "start_ts") -> str:
        return f"timezone('{self.timezone.replace(chr(39), '')}', {column})"


def bucket_expr(scope: Scope, bucket: BucketSize) -> str:
    """Epoch seconds of the start of the local hour/day of `start_ts`."""
    tz = scope.timezone.replace("'", "")
    return f"epoch(timezone('{tz}', date_trunc('{bucket}', {scope.local()})))"


def fetch(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    cursor = con.execute(sql, params)
    check_columns([d[0] for d in cursor.description or ()])
    return cursor.fetchall()


def _key(metric: MetricDef, values: tuple[Any, ...]) -> Key:
    return Key(**dict(zip(metric.keys, values, strict=True)))


def _at(epoch: float, scope: Scope) -> datetime:
    from zoneinfo import ZoneInfo

    return datetime.fromtimestamp(epoch, tz=UTC).astimezone(ZoneInfo(scope.timezone))


def series(
    con: duckdb.DuckDBPyConnection, metric: Metric, scope: Scope, bucket: BucketSize = "hour"
) -> SeriesResult:
    """Per key (zone, line/label/direction, camera): the metric per local hour or day."""
    m = METRICS[metric]
    where, params = scope.where(m)
    keys = ", ".join(m.keys)
    view, value = m.source(scope)
    rows = fetch(
        con,
        f"SELECT {keys}, {bucket_expr(scope, bucket)} AS bucket, {value} AS value FROM {view} "
        f"WHERE {where} GROUP BY ALL ORDER BY {keys}, bucket",
        params,
    )
    grouped: dict[tuple[Any, ...], list[tuple[float, int]]] = {}
    for row in rows:
        grouped.setdefault(tuple(row[: len(m.keys)]), []).append((row[-2], int(row[-1] or 0)))
    k = scope.min_count
    out = [
        Series(
            key=_key(m, key),
            total=suppress(sum(v for _, v in pts), k),
            points=[Point(at=_at(at, scope), value=suppress(v, k)) for at, v in pts],
        )
        for key, pts in grouped.items()
    ]
    grand = sum(v for pts in grouped.values() for _, v in pts)
    return SeriesResult(
        metric=metric, bucket=bucket, since=scope.since, until=scope.until, timezone=scope.timezone,
        min_count=k, total=suppress(grand, k), series=out,
    )  # fmt: skip


def heatmap(con: duckdb.DuckDBPyConnection, camera_id: str, scope: Scope) -> Heatmap | None:
    """Distinct tracks per grid cell of one camera, summed over the occupancy samples of the scope.

    Only samples in which at least `min_count` distinct tracks were in the frame count (a lone walker's
    path is never drawn, however long they stay); then cells below `min_count` are suppressed. None when
    the camera has no grid sample in the period. Grids of another size (the grid settings changed) are
    left out: the newest size wins."""
    where = "camera_id = ? AND start_ts >= ? AND start_ts < ?" + (" AND label = ?" if scope.label else "")
    params: list[Any] = [camera_id, scope.since.astimezone(UTC), scope.until.astimezone(UTC)]
    params += [scope.label] if scope.label else []
    dims = fetch(
        con, f"SELECT cols, rows FROM occupancy WHERE {where} ORDER BY start_ts DESC LIMIT 1", params
    )
    if not dims:
        return None
    cols, rows = int(dims[0][0]), int(dims[0][1])
    k = scope.min_count
    where += " AND cols = ? AND rows = ?"
    params += [cols, rows]
    cells = fetch(
        con,
        f"SELECT cell, sum(n) AS n FROM occupancy WHERE {where} AND tracks >= ? GROUP BY cell",
        [*params, k],
    )
    samples = fetch(
        con,
        "SELECT count(DISTINCT start_ts) FILTER (WHERE tracks >= ?) AS kept, "
        f"count(DISTINCT start_ts) FILTER (WHERE tracks < ?) AS withheld FROM occupancy WHERE {where}",
        [k, k, *params],
    )
    dense = [0] * (cols * rows)
    for cell, n in cells:
        if 0 <= int(cell) < len(dense):
            dense[int(cell)] = int(n)
    shown = [suppress(n, k) for n in dense]
    visible = [n for n in shown if n is not None]
    return Heatmap(
        camera_id=camera_id, label=scope.label, since=scope.since, until=scope.until, cols=cols, rows=rows,
        samples=int(samples[0][0]), samples_withheld=int(samples[0][1]), cells=shown,
        max=max(visible) if visible else None, min_count=k,
    )  # fmt: skip


def local_days(scope: Scope) -> int:
    return max(1, math.ceil((scope.until - scope.since).total_seconds() / 86_400))


def peak_hours(con: duckdb.DuckDBPyConnection, metric: Metric, scope: Scope, top: int = 3) -> PeakHours:
    """The metric by local hour of the day (and by weekday x hour); the busiest hours first."""
    m = METRICS[metric]
    where, params = scope.where(m)
    view, value = m.source(scope)
    rows = fetch(
        con,
        f"SELECT isodow({scope.local()}) AS dow, hour({scope.local()}) AS h, {value} AS value FROM {view} "
        f"WHERE {where} GROUP BY ALL",
        params,
    )
    k, days = scope.min_count, local_days(scope)
    by_hour = [0] * 24
    matrix = [[0] * 24 for _ in range(7)]
    for dow, hour, value in rows:
        by_hour[int(hour)] += int(value or 0)
        matrix[int(dow) - 1][int(hour)] += int(value or 0)
    hours = [
        HourStat(hour=h, total=suppress(n, k), per_day=None if suppress(n, k) is None else round(n / days, 2))
        for h, n in enumerate(by_hour)
    ]
    ranked = sorted((h for h in hours if h.total is not None), key=lambda h: (-(h.total or 0), h.hour))
    return PeakHours(
        metric=metric, since=scope.since, until=scope.until, timezone=scope.timezone, days=days, min_count=k,
        hours=hours, peaks=[h.hour for h in ranked[:top]],
        weekday_hour=[[suppress(n, k) for n in row] for row in matrix],
    )  # fmt: skip


def _change(key: Key | None, cur: int, prev: int, k: int) -> Change:
    c, p = suppress(cur, k), suppress(prev, k)
    both = c is not None and p is not None
    return Change(
        key=key, current=c, previous=p, delta=cur - prev if both else None,
        ratio=round(cur / prev, 4) if both and prev else None,
    )  # fmt: skip


def compare(con: duckdb.DuckDBPyConnection, metric: Metric, scope: Scope) -> Comparison:
    """The metric over the scope against the period of the same length just before it.

    The connection's window must start at `scope.since - (scope.until - scope.since)`."""
    m = METRICS[metric]
    length = scope.until - scope.since
    prev_since = scope.since - length
    widened = Scope(**{**{f: getattr(scope, f) for f in scope.__dataclass_fields__}, "since": prev_since})
    where, params = widened.where(m)
    keys = ", ".join(m.keys)
    view, value = m.source(widened)
    rows = fetch(
        con,
        f"SELECT {keys}, {value} FILTER (WHERE start_ts >= ?) AS cur, "
        f"{value} FILTER (WHERE start_ts < ?) AS prev FROM {view} WHERE {where} "
        f"GROUP BY ALL ORDER BY {keys}",
        [scope.since.astimezone(UTC), scope.since.astimezone(UTC), *params],
    )
    k = scope.min_count
    changes = [_change(_key(m, r[: len(m.keys)]), int(r[-2] or 0), int(r[-1] or 0), k) for r in rows]
    total = _change(None, sum(int(r[-2] or 0) for r in rows), sum(int(r[-1] or 0) for r in rows), k)
    return Comparison(
        metric=metric, since=scope.since, until=scope.until, previous_since=prev_since,
        previous_until=scope.since, min_count=k, total=total, changes=changes,
    )  # fmt: skip


def _dwell_bins(edges: tuple[float, ...]) -> str:
    """count(*) per [lo, hi) bin of dwell `d`, over zone_exit rows only."""
    bounds: list[float | None] = [*edges, None]
    parts = []
    for i, lo in enumerate(edges):
        hi = bounds[i + 1]
        cond = f"kind = 'zone_exit' AND d >= {lo}" + (f" AND d < {hi}" if hi is not None else "")
        parts.append(f"count(*) FILTER (WHERE {cond}) AS b{i}")
    return ", ".join(parts)


_DWELL = MetricDef("kind IN ('zone_exit', 'loitering')", "count(*)", ("camera_id", "zone_id"))


def _zone_dwell(row: tuple[Any, ...], k: int) -> ZoneDwell:
    camera_id, zone_id, loitering, visits, p50, p90, *bins = row
    ok = int(visits) >= k
    edges: list[float | None] = [*DWELL_EDGES_S, None]
    return ZoneDwell(
        camera_id=camera_id,
        zone_id=zone_id,
        visits=suppress(visits, k),
        loitering=suppress(loitering, k),
        p50_s=round(p50, 1) if ok and p50 is not None else None,
        p90_s=round(p90, 1) if ok and p90 is not None else None,
        bins=[
            DwellBin(lo_s=float(edges[i] or 0.0), hi_s=edges[i + 1], count=suppress(n, k))
            for i, n in enumerate(bins)
        ],
    )


def dwell(con: duckdb.DuckDBPyConnection, scope: Scope, label: str = "person") -> DwellResult:
    """Time spent in each zone (zone_exit: last seen - first seen inside), as a histogram with p50/p90
    (only over at least `min_count` visits), and the zone's loitering events."""
    s = Scope(**{**{f: getattr(scope, f) for f in scope.__dataclass_fields__}, "label": label})
    where, params = s.where(_DWELL)
    exits = "FILTER (WHERE kind = 'zone_exit')"
    rows = fetch(
        con,
        "WITH v AS (SELECT camera_id, zone_id, kind, epoch(end_ts) - epoch(start_ts) AS d FROM events "
        f"WHERE {where}) SELECT camera_id, zone_id, count(*) FILTER (WHERE kind = 'loitering') AS loitering, "
        f"count(*) {exits} AS visits, quantile_cont(d, 0.5) {exits} AS p50, "
        f"quantile_cont(d, 0.9) {exits} AS p90, {_dwell_bins(DWELL_EDGES_S)} "
        "FROM v GROUP BY ALL ORDER BY camera_id, zone_id",
        params,
    )
    zones = [_zone_dwell(row, s.min_count) for row in rows]
    return DwellResult(since=s.since, until=s.until, label=label, min_count=s.min_count, zones=zones)


# every vehicle event the vehicle panel counts: crossings, zone entries, occupancy samples (count = tracks)
_VEHICLES = MetricDef(
    f"kind IN ('line_crossing', 'zone_enter', 'occupancy') AND {_VEHICLE}",
    "sum(CASE WHEN kind = 'occupancy' THEN count ELSE 1 END)",
    ("camera_id", "zone_id", "line_id", "label", "direction"),
    rollup_value="sum(CASE WHEN kind = 'occupancy' THEN total ELSE n END)",
)


def vehicles(con: duckdb.DuckDBPyConnection, scope: Scope) -> VehicleCounts:
    """Vehicles per class: line crossings (in total, per direction, per local hour), zone entries and
    vehicles in view (distinct vehicle tracks per occupancy sample, summed: counted without any line)."""
    where, params = scope.where(_VEHICLES)
    view, value = _VEHICLES.source(scope)
    rows = fetch(
        con,
        f"SELECT label, kind, direction, hour({scope.local()}) AS h, {value} AS n FROM {view} "
        f"WHERE {where} GROUP BY ALL",
        params,
    )
    k = scope.min_count
    crossings = {v: [0] * 24 for v in VEHICLE_LABELS}
    directions: dict[str, dict[str, int]] = {v: {} for v in VEHICLE_LABELS}
    arrivals = dict.fromkeys(VEHICLE_LABELS, 0)
    present = dict.fromkeys(VEHICLE_LABELS, 0)
    for label, kind, direction, hour, n in rows:
        n = int(n or 0)
        if kind == "line_crossing":
            crossings[label][int(hour)] += n
            name = direction or "unknown"
            directions[label][name] = directions[label].get(name, 0) + n
        elif kind == "zone_enter":
            arrivals[label] += n
        else:
            present[label] += n
    classes = [
        VehicleClass(
            label=v,
            crossings=suppress(sum(crossings[v]), k),
            by_direction=[
                DirectionCount(direction=d, count=suppress(n, k)) for d, n in sorted(directions[v].items())
            ],
            by_hour=[suppress(n, k) for n in crossings[v]],
            arrivals=suppress(arrivals[v], k),
            present=suppress(present[v], k),
        )
        for v in VEHICLE_LABELS
    ]
    return VehicleCounts(
        since=scope.since, until=scope.until, timezone=scope.timezone, min_count=k,
        crossings=suppress(sum(sum(c) for c in crossings.values()), k), classes=classes,
    )  # fmt: skip
