"""The Safe Tourism dashboard of one site: footfall, people present, crowding, vehicles (coaches, cars and
taxis, per direction and hour), incidents by type and hour, and response times (report -> dispatch -> on
scene).

Incidents come from the operations tables (`incidents`): those of the site's cameras, plus those with
no camera (public reports) inside the site's area. They are loaded through SQLAlchemy into an Arrow
table and queried in DuckDB like the events (`attach_incidents`).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any, cast

import duckdb
import pyarrow as pa
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Engine, Table, or_, select

from safecity.analytics.config import SiteArea, SiteConfig
from safecity.analytics.privacy import enough, suppress
from safecity.analytics.queries import Scope, fetch, series, vehicles
from safecity.analytics.results import Count, SeriesResult, VehicleCounts

TS = pa.timestamp("us", tz="UTC")
INCIDENT_SCHEMA = pa.schema(
    [
        ("type", pa.string()), ("camera_id", pa.string()), ("origin_at", TS), ("dispatched_at", TS),
        ("on_scene_at", TS),
    ]
)  # fmt: skip


class _Out(BaseModel):
    model_config = ConfigDict(frozen=True)


class SiteInfo(_Out):
    id: str
    name: str
    cameras: list[str]


class Crowding(_Out):
    episodes: Count
    anomalies: Count
    by_hour: list[Count]


class TypeCount(_Out):
    type: str
    count: Count
    by_hour: list[Count]


class Incidents(_Out):
    total: Count
    by_type: list[TypeCount]


class Stat(_Out):
    n: Count
    p50_s: float | None
    p90_s: float | None


class ResponseTimes(_Out):
    report_to_dispatch: Stat
    dispatch_to_scene: Stat
    report_to_scene: Stat


class SiteDashboard(_Out):
    site: SiteInfo
    since: datetime
    until: datetime
    timezone: str
    min_count: int
    footfall: SeriesResult
    presence: SeriesResult
    crowding: Crowding
    vehicles: VehicleCounts  # coaches are `bus`; taxis are counted among `car` (no class tells them apart)
    incidents: Incidents
    response: ResponseTimes


def site_scope(scope: Scope, site: SiteConfig) -> Scope:
    zones = None if site.zones is None else frozenset(tuple(z.split("/", 1)) for z in site.zones)
    fields = {f: getattr(scope, f) for f in scope.__dataclass_fields__}
    return Scope(**{**fields, "zones": cast(Any, zones)})


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _in_area(area: SiteArea | None, lat: float | None, lon: float | None) -> bool:
    return (
        area is not None
        and lat is not None
        and lon is not None
        and (_distance_m(area.lat, area.lon, lat, lon) <= area.radius_m)
    )


def load_incidents(
    engine: Engine, since: datetime, until: datetime, cameras: frozenset[str], area: SiteArea | None
) -> pa.Table:
    """Incidents that began in [since, until) on `cameras`, or without a camera inside `area`."""
    from safecity.operations.models import IncidentRow

    t = cast(Table, IncidentRow.__table__).c
    stmt = select(t.type, t.camera_id, t.origin_at, t.dispatched_at, t.on_scene_at, t.lat, t.lon).where(
        t.origin_at >= since,
        t.origin_at < until,
        or_(t.camera_id.in_(sorted(cameras)), t.camera_id.is_(None)),
    )
    with engine.connect() as conn:
        rows = [r for r in conn.execute(stmt) if r.camera_id is not None or _in_area(area, r.lat, r.lon)]
    columns: list[tuple[Any, ...]] = list(zip(*[r[:5] for r in rows], strict=True)) or [()] * 5
    return pa.Table.from_arrays(
        [pa.array(col, field.type) for col, field in zip(columns, INCIDENT_SCHEMA, strict=True)],
        schema=INCIDENT_SCHEMA,
    )


def attach_incidents(con: duckdb.DuckDBPyConnection, table: pa.Table) -> None:
    con.register("_incidents", table)
    con.execute("CREATE OR REPLACE TEMP VIEW incidents AS SELECT * FROM _incidents")


def _by_hour(rows: list[tuple[Any, ...]], k: int) -> list[Count]:
    hours = [0] * 24
    for hour, n in rows:
        hours[int(hour)] += int(n)
    return [suppress(n, k) for n in hours]


def crowding(con: duckdb.DuckDBPyConnection, scope: Scope) -> Crowding:
    where, params = scope.where()
    view, n = ("rollup", "sum(n)") if scope.aligned else ("events", "count(*)")
    rows = fetch(
        con,
        f"SELECT hour({scope.local()}) AS h, {n} FILTER (WHERE kind = 'crowding') AS crowding, "
        f"{n} FILTER (WHERE kind = 'anomaly' AND direction = 'above') AS anomalies "
        f"FROM {view} WHERE {where} AND kind IN ('crowding', 'anomaly') GROUP BY ALL",
        params,
    )
    k = scope.min_count
    return Crowding(
        episodes=suppress(sum(r[1] or 0 for r in rows), k),  # sum() of no row is NULL
        anomalies=suppress(sum(r[2] or 0 for r in rows), k),
        by_hour=_by_hour([(r[0], r[1] or 0) for r in rows], k),
    )


def incidents(con: duckdb.DuckDBPyConnection, scope: Scope) -> Incidents:
    rows = fetch(
        con,
        f"SELECT type, hour({scope.local('origin_at')}) AS h, count(*) AS n FROM incidents "
        "WHERE origin_at >= ? AND origin_at < ? GROUP BY ALL ORDER BY type",
        [scope.since.astimezone(UTC), scope.until.astimezone(UTC)],
    )
    k = scope.min_count
    types: dict[str, list[tuple[int, int]]] = {}
    for kind, hour, n in rows:
        types.setdefault(kind, []).append((hour, n))
    by_type = [
        TypeCount(type=kind, count=suppress(sum(n for _, n in hours), k), by_hour=_by_hour(hours, k))
        for kind, hours in types.items()
    ]
    return Incidents(total=suppress(sum(r[2] for r in rows), k), by_type=by_type)


def _stat(con: duckdb.DuckDBPyConnection, expr: str, scope: Scope) -> Stat:
    rows = fetch(
        con,
        f"WITH d AS (SELECT {expr} AS s FROM incidents WHERE origin_at >= ? AND origin_at < ?) "
        "SELECT count(s) AS n, quantile_cont(s, 0.5) AS p50, quantile_cont(s, 0.9) AS p90 FROM d",
        [scope.since.astimezone(UTC), scope.until.astimezone(UTC)],
    )
    n, p50, p90 = rows[0]
    ok = enough(int(n), scope.min_count)
    return Stat(
        n=suppress(n, scope.min_count),
        p50_s=round(p50, 1) if ok and p50 is not None else None,
        p90_s=round(p90, 1) if ok and p90 is not None else None,
    )


def response_times(con: duckdb.DuckDBPyConnection, scope: Scope) -> ResponseTimes:
    """Seconds from the report (an incident's origin: first alert or public report) to the first
    dispatch, from dispatch to the first unit on scene, and from report to on scene."""

    def span(a: str, b: str) -> str:
        return f"CASE WHEN {b} >= {a} THEN epoch({b}) - epoch({a}) END"

    return ResponseTimes(
        report_to_dispatch=_stat(con, span("origin_at", "dispatched_at"), scope),
        dispatch_to_scene=_stat(con, span("dispatched_at", "on_scene_at"), scope),
        report_to_scene=_stat(con, span("origin_at", "on_scene_at"), scope),
    )


def dashboard(
    con: duckdb.DuckDBPyConnection, site: SiteConfig, scope: Scope, cameras: list[str]
) -> SiteDashboard:
    """The dashboard of `site` (the connection holds its events and incidents for the scope)."""
    s = site_scope(scope, site)
    return SiteDashboard(
        site=SiteInfo(id=site.id, name=site.name or site.id, cameras=cameras),
        since=s.since, until=s.until, timezone=s.timezone, min_count=s.min_count,
        footfall=series(con, "footfall", s), presence=series(con, "presence", s),
        crowding=crowding(con, s), vehicles=vehicles(con, s), incidents=incidents(con, s),
        response=response_times(con, s),
    )  # fmt: skip
