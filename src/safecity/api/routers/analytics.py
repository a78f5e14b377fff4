"""Urban analytics (analytics:read; downloads analytics:export): aggregates only, small counts suppressed.

Every query is limited to the cameras the caller may see. Times: ISO 8601; without an offset they are
local times of `analytics.timezone`. Default period: the last 24 hours. Metrics: footfall (zone entries
of people), crossings (line crossings per class and direction), presence (people in view, summed over
occupancy samples), crowding (crowding episodes), vehicles (line crossings of vehicle classes per class
and direction); `/vehicles` gives the vehicle panel (per class: crossings per direction and hour, zone
entries, vehicles in view).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from starlette.concurrency import run_in_threadpool

from safecity.analytics.config import Metric
from safecity.analytics.dashboard import SiteDashboard, SiteInfo
from safecity.analytics.results import (
    Anomaly,
    BucketSize,
    Comparison,
    DwellResult,
    Heatmap,
    PeakHours,
    SeriesResult,
    VehicleCounts,
)
from safecity.analytics.runtime import AnalyticsJobs, analytics_for, start_jobs
from safecity.analytics.service import Analytics, Busy, Filters, whole_hour
from safecity.api.deps import Principal, ensure_camera_visible, get_node, require
from safecity.app import App

log = logging.getLogger(__name__)
router = APIRouter(prefix="/analytics", tags=["analytics"])
Reader = Annotated[Principal, Depends(require("analytics:read"))]
Exporter = Annotated[Principal, Depends(require("analytics:export"))]
Name = Annotated[str | None, Query(min_length=1, max_length=128)]
Time = Annotated[
    datetime | None, Query(description="ISO 8601; local time of analytics.timezone if no offset")
]
MAX_RANGE = timedelta(days=400)
_JOBS: dict[int, AnalyticsJobs] = {}
T = TypeVar("T")


def on_start(node: App) -> None:
    _JOBS[id(node)] = start_jobs(node.settings, node.engine, node.session, node.bus)


def on_stop(node: App) -> None:
    jobs = _JOBS.pop(id(node), None)
    if jobs is not None:
        jobs.stop()


def _analytics(request: Request) -> Analytics:
    found = getattr(request.app.state, "analytics", None)
    if not isinstance(found, Analytics):
        node = get_node(request)
        found = request.app.state.analytics = analytics_for(node.settings, node.engine)
    return found


async def get_analytics(request: Request) -> Analytics:
    # async: made once per node (on a worker thread), then only read: no thread hop per request
    found = getattr(request.app.state, "analytics", None)
    return found if isinstance(found, Analytics) else await run_in_threadpool(_analytics, request)


Service = Annotated[Analytics, Depends(get_analytics)]


def _period(a: Analytics, since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    zone = ZoneInfo(a.cfg.timezone)

    def aware(t: datetime) -> datetime:
        return (t if t.tzinfo else t.replace(tzinfo=zone)).astimezone(UTC)

    end = aware(until) if until else whole_hour(datetime.now(UTC)) + timedelta(hours=1)
    start = aware(since) if since else end - timedelta(days=1)
    if not start < end:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "since must be before until")
    if end - start > MAX_RANGE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, f"at most {MAX_RANGE.days} days at once")
    return start, end


def _filters(
    who: Principal, camera_id: str | None, zone_id: str | None, line_id: str | None, label: str | None
) -> Filters:
    if camera_id is not None:
        ensure_camera_visible(who, camera_id, hide=False)
    return Filters(camera_id=camera_id, zone_id=zone_id, line_id=line_id, label=label)


def _busy(exc: Busy) -> HTTPException:
    return HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc), headers={"Retry-After": "2"})


def _in_period(
    a: Analytics, since: datetime | None, until: datetime | None, query: Callable[[datetime, datetime], T]
) -> T:
    """`query(start, end)` over the requested period (422 if invalid); a busy service answers 503."""
    start, end = _period(a, since, until)
    try:
        return query(start, end)
    except Busy as exc:
        raise _busy(exc) from exc


@router.get("/sites", response_model=list[SiteInfo])
async def sites(a: Service, who: Reader) -> list[SiteInfo]:  # async: configuration only, no I/O
    """The configured sites, each with the cameras of it the caller may see."""
    return [
        SiteInfo(id=s.id, name=s.name or s.id, cameras=a.site_cameras(s, who.cameras)) for s in a.cfg.sites
    ]


@router.get("/series", response_model=SeriesResult)
def series(
    a: Service,
    who: Reader,
    metric: Metric = "footfall",
    bucket: BucketSize = "hour",
    since: Time = None,
    until: Time = None,
    camera_id: Name = None,
    zone_id: Name = None,
    line_id: Name = None,
    label: Name = None,
) -> SeriesResult:
    """The metric per hour or day, per zone (footfall, crowding), line/class/direction (crossings) or
    camera (presence)."""
    return _in_period(
        a,
        since,
        until,
        lambda start, end: a.series(
            metric, start, end, who.cameras, _filters(who, camera_id, zone_id, line_id, label), bucket
        ),
    )


@router.get("/vehicles", response_model=VehicleCounts)
def vehicles(
    a: Service,
    who: Reader,
    since: Time = None,
    until: Time = None,
    camera_id: Name = None,
    zone_id: Name = None,
    line_id: Name = None,
) -> VehicleCounts:
    """Vehicles per class (car, bus/coach, truck, motorcycle, bicycle): line crossings in total, per
    direction and per local hour of the day; zone entries; vehicles in view (distinct vehicle tracks per
    occupancy sample, summed). Only the cameras the caller may see."""
    return _in_period(
        a,
        since,
        until,
        lambda start, end: a.vehicles(
            start, end, who.cameras, _filters(who, camera_id, zone_id, line_id, None)
        ),
    )


@router.get("/heatmap/{camera_id}", response_model=Heatmap)
def heatmap(
    camera_id: str, a: Service, who: Reader, since: Time = None, until: Time = None, label: Name = None
) -> Heatmap:
    """Occupancy density of one camera on its grid (row-major cells over the frame), to overlay on
    `/api/cameras/{camera_id}/snapshot.jpg`. 404 when the camera has no occupancy sample in the period."""
    ensure_camera_visible(who, camera_id)
    found = _in_period(a, since, until, lambda start, end: a.heatmap(camera_id, start, end, label))
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no occupancy samples of {camera_id!r} in that period"
        )
    return found


@router.get("/dwell", response_model=DwellResult)
def dwell(
    a: Service,
    who: Reader,
    since: Time = None,
    until: Time = None,
    camera_id: Name = None,
    zone_id: Name = None,
    label: Name = None,
) -> DwellResult:
    """Time spent in zones: a histogram per zone, median and 90th percentile, loitering events."""
    return _in_period(
        a,
        since,
        until,
        lambda start, end: a.dwell(start, end, who.cameras, _filters(who, camera_id, zone_id, None, label)),
    )


@router.get("/peak-hours", response_model=PeakHours)
def peak_hours(
    a: Service,
    who: Reader,
    metric: Metric = "footfall",
    since: Time = None,
    until: Time = None,
    camera_id: Name = None,
    zone_id: Name = None,
    line_id: Name = None,
    label: Name = None,
) -> PeakHours:
    """The metric by hour of the day and by weekday x hour; the busiest hours."""
    return _in_period(
        a,
        since,
        until,
        lambda start, end: a.peak_hours(
            metric, start, end, who.cameras, _filters(who, camera_id, zone_id, line_id, label)
        ),
    )


@router.get("/compare", response_model=Comparison)
def compare(
    a: Service,
    who: Reader,
    metric: Metric = "footfall",
    since: Time = None,
    until: Time = None,
    camera_id: Name = None,
    zone_id: Name = None,
    line_id: Name = None,
    label: Name = None,
) -> Comparison:
    """The period against the period of the same length just before it, in total and per key."""
    return _in_period(
        a,
        since,
        until,
        lambda start, end: a.compare(
            metric, start, end, who.cameras, _filters(who, camera_id, zone_id, line_id, label)
        ),
    )


@router.get("/anomalies", response_model=list[Anomaly])
def anomalies(
    a: Service,
    who: Reader,
    hour: Annotated[datetime | None, Query(description="Default: the last whole hour")] = None,
) -> list[Anomaly]:
    """Levels far from their usual value for that weekday and hour (median/MAD over past weeks)."""
    at = whole_hour(_period(a, hour, hour + timedelta(hours=1) if hour else None)[0]) if hour else None
    try:
        return a.anomalies(at or whole_hour(datetime.now(UTC)) - timedelta(hours=1), who.cameras)
    except Busy as exc:
        raise _busy(exc) from exc


@router.get("/sites/{site_id}/dashboard", response_model=SiteDashboard)
def site_dashboard(
    site_id: str, a: Service, who: Reader, since: Time = None, until: Time = None
) -> SiteDashboard:
    """Safe Tourism dashboard of a site: footfall, presence, crowding, incidents by type and hour,
    response times (report -> dispatch -> on scene)."""
    site = a.cfg.site(site_id)
    if site is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no site {site_id!r}")
    return _in_period(a, since, until, lambda start, end: a.dashboard(site, start, end, who.cameras))


def _series_rows(result: SeriesResult) -> list[dict[str, Any]]:
    return [
        {**s.key.model_dump(), "at": p.at.isoformat(), "value": p.value}
        for s in result.series
        for p in s.points
    ]


def _download(rows: list[dict[str, Any]], fmt: str, name: str) -> Response:
    columns = ["camera_id", "zone_id", "line_id", "label", "direction", "at", "value"]
    if fmt == "parquet":
        buf = io.BytesIO()
        table = pa.Table.from_pylist(
            rows, schema=pa.schema([(c, pa.int64() if c == "value" else pa.string()) for c in columns])
        )
        pq.write_table(table, buf)
        body, media = buf.getvalue(), "application/vnd.apache.parquet"
    else:
        text = io.StringIO()
        writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        body, media = text.getvalue().encode(), "text/csv; charset=utf-8"
    disposition = f'attachment; filename="{name}.{fmt}"'
    return Response(body, media_type=media, headers={"Content-Disposition": disposition})


@router.get("/export", response_class=Response, responses={200: {"content": {"text/csv": {}}}})
def export(
    a: Service,
    who: Exporter,
    metric: Metric = "footfall",
    bucket: BucketSize = "hour",
    fmt: Annotated[Literal["csv", "parquet"], Query(alias="format")] = "csv",
    since: Time = None,
    until: Time = None,
    camera_id: Name = None,
    zone_id: Name = None,
    line_id: Name = None,
    label: Name = None,
) -> Response:
    """The series of a metric as a file (suppressed counts are empty cells)."""
    start, end = _period(a, since, until)
    try:
        result = a.series(
            metric, start, end, who.cameras, _filters(who, camera_id, zone_id, line_id, label), bucket
        )
    except Busy as exc:
        raise _busy(exc) from exc
    name = f"{metric}-{bucket}-{start.date().isoformat()}-{end.date().isoformat()}"
    return _download(_series_rows(result), fmt, name)


@router.get(
    "/reports/{day}",
    response_class=Response,
    responses={200: {"content": {"text/html": {}, "application/pdf": {}}}},
)
def daily_report(
    day: date,
    a: Service,
    who: Exporter,
    fmt: Annotated[Literal["html", "pdf"], Query(alias="format")] = "html",
) -> Response:
    """The daily report of a local day, for the caller's cameras: HTML, or PDF printed by Chromium."""
    import tempfile
    from pathlib import Path

    from safecity.analytics.report import print_pdf, render

    try:
        page = render(a, day, who.cameras)
    except Busy as exc:
        raise _busy(exc) from exc
    if fmt == "html":
        return Response(page, media_type="text/html; charset=utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "report.html"
        src.write_text(page, encoding="utf-8")
        try:
            pdf = print_pdf(src, Path(tmp) / "report.pdf", a.cfg.report.chromium).read_bytes()
        except RuntimeError as exc:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    disposition = f'attachment; filename="report-{day.isoformat()}.pdf"'
    return Response(pdf, media_type="application/pdf", headers={"Content-Disposition": disposition})
