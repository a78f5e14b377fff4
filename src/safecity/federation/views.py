"""The national view, read from the national site's own tables: aggregates and redacted summaries."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.federation.models import (
    FedAggregateRow,
    FedAlertRow,
    FedCameraRow,
    FedEventRow,
    FedHandoffRow,
    FedIncidentRow,
    FedSiteRow,
)
from safecity.operations.domain import AlertStatus, IncidentStatus

OPEN_ALERTS = tuple(s.value for s in AlertStatus if s != AlertStatus.CLOSED)
CLOSED_INCIDENTS = (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value)


class SiteOverview(BaseModel):
    site: str
    name: str
    level: str
    parent: str | None
    lat: float | None
    lon: float | None
    ui_url: str | None
    last_seen: datetime
    cameras: int
    cameras_ok: int
    open_alerts: int
    open_incidents: int
    events_last_hour: int
    handoffs_open: int


class Figure(BaseModel):
    site: str
    key: str
    value: float


class NationalAnalytics(BaseModel):
    since: datetime
    footfall_by_site_zone: list[Figure]  # sum over the period
    line_counts: list[Figure]
    crowding_peak: list[Figure]
    incidents_by_type: list[Figure]
    response_time_s: list[Figure]  # mean of the hourly means


def _per_site(db: Session, column: object, *where: object) -> dict[str, int]:
    q = select(column, func.count()).group_by(column).where(*where)  # type: ignore[call-overload]
    return {str(k): int(v) for k, v in db.execute(q)}


def overview(db: Session, now: datetime) -> list[SiteOverview]:
    cams = _per_site(db, FedCameraRow.site)
    ok = _per_site(db, FedCameraRow.site, FedCameraRow.status == "ok")
    alerts = _per_site(db, FedAlertRow.site, FedAlertRow.status.in_(OPEN_ALERTS))
    incidents = _per_site(db, FedIncidentRow.site, FedIncidentRow.status.not_in(CLOSED_INCIDENTS))
    events = _per_site(db, FedEventRow.site, FedEventRow.at >= now - timedelta(hours=1))
    handoffs = _per_site(db, FedHandoffRow.to_site, FedHandoffRow.state == "requested")
    return [
        SiteOverview(
            site=s.site,
            name=s.name,
            level=s.level,
            parent=s.parent,
            lat=s.lat,
            lon=s.lon,
            ui_url=s.ui_url,
            last_seen=s.last_seen,
            cameras=cams.get(s.site, 0),
            cameras_ok=ok.get(s.site, 0),
            open_alerts=alerts.get(s.site, 0),
            open_incidents=incidents.get(s.site, 0),
            events_last_hour=events.get(s.site, 0),
            handoffs_open=handoffs.get(s.site, 0),
        )
        for s in db.scalars(select(FedSiteRow).order_by(FedSiteRow.site))
    ]


def _sum(db: Session, metric: str, since: datetime, agg: object = func.sum) -> list[Figure]:
    q = (
        select(FedAggregateRow.site, FedAggregateRow.key, agg(FedAggregateRow.value))  # type: ignore[operator]
        .where(FedAggregateRow.metric == metric, FedAggregateRow.hour >= since)
        .group_by(FedAggregateRow.site, FedAggregateRow.key)
        .order_by(FedAggregateRow.site, FedAggregateRow.key)
    )
    return [Figure(site=s, key=k, value=round(float(v), 3)) for s, k, v in db.execute(q)]


def analytics(db: Session, since: datetime) -> NationalAnalytics:
    by_type = (
        select(FedIncidentRow.site, FedIncidentRow.type, func.count())
        .where(FedIncidentRow.created_at >= since)
        .group_by(FedIncidentRow.site, FedIncidentRow.type)
        .order_by(FedIncidentRow.site, FedIncidentRow.type)
    )
    return NationalAnalytics(
        since=since,
        footfall_by_site_zone=_sum(db, "footfall", since),
        line_counts=_sum(db, "line_count", since),
        crowding_peak=_sum(db, "crowding_peak", since, func.max),
        incidents_by_type=[Figure(site=s, key=t, value=n) for s, t, n in db.execute(by_type)],
        response_time_s=_sum(db, "response_time_s", since, func.avg),
    )
