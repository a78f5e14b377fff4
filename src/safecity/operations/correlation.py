"""Correlation of an incident with other alerts and public reports close to it in space and time (the
incident page's panel, after Genetec Citigraf's "within a radius and a time window").

An alert is placed at its camera's position and spans [first_seen, last_seen]; it correlates when that
span comes within `window` of the incident's origin time and its camera is within `radius_m`. A report is
placed at its own position (shared by the reporter), else at its camera's, and correlates when it was
observed within `window` of the origin. Things already linked to the incident are not "other". Distance is
straight-line (haversine). The caller's camera access list filters both: an alert or a report tied to a
camera not shared with the caller is never returned. Read-only; explicit session.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.operations.alerts import CameraScope
from safecity.operations.field_units import EARTH_RADIUS_M, distance_m
from safecity.operations.models import AlertRow, IncidentRow, PublicReportRow

MAX_ITEMS = 200  # per kind: a panel, not a search


@dataclass(frozen=True, slots=True)
class Correlated:
    kind: str  # alert | report
    id: int
    title: str
    severity: str | None  # alerts
    category: str | None  # reports
    status: str
    camera_id: str | None
    at: datetime  # alert: first seen; report: observed
    distance_m: float
    minutes_from_incident: float  # signed: negative before the incident's origin
    incident_id: int | None
    lat: float  # where it is placed (an alert: its camera)
    lon: float


def _box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """A lat/lon box around a point that contains the circle (a cheap SQL prefilter before haversine)."""
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon


def _minutes(at: datetime, origin: datetime) -> float:
    return round((at - origin).total_seconds() / 60, 2)


def correlate(
    db: Session,
    incident: IncidentRow,
    where: tuple[float, float],
    *,
    radius_m: float,
    window: timedelta,
    cameras: CameraScope,
    camera_positions: Mapping[str, tuple[float, float]],
    alerts: bool = True,
    reports: bool = True,
) -> list[Correlated]:
    """Other alerts and reports within `radius_m` of `where` and `window` of the incident's origin,
    nearest in time first."""
    origin = incident.origin_at
    since, until = origin - window, origin + window
    out: list[Correlated] = []
    if alerts:
        near = {
            cam: distance_m(where[0], where[1], *pos)
            for cam, pos in camera_positions.items()
            if cameras is None or cam in cameras
        }
        near = {cam: d for cam, d in near.items() if d <= radius_m}
        if near:
            rows = db.scalars(
                select(AlertRow)
                .where(
                    AlertRow.camera_id.in_(sorted(near)),
                    AlertRow.first_seen <= until,
                    AlertRow.last_seen >= since,
                    (AlertRow.incident_id.is_(None)) | (AlertRow.incident_id != incident.id),
                )
                .order_by(AlertRow.first_seen.desc())
                .limit(MAX_ITEMS)
            )
            for a in rows:
                assert a.camera_id is not None
                out.append(
                    Correlated(
                        "alert",
                        a.id,
                        a.title,
                        a.severity,
                        None,
                        a.status,
                        a.camera_id,
                        a.first_seen,
                        round(near[a.camera_id], 1),
                        _minutes(a.first_seen, origin),
                        a.incident_id,
                        *camera_positions[a.camera_id],
                    )
                )
    if reports:
        lat0, lat1, lon0, lon1 = _box(where[0], where[1], radius_m)
        has_own = PublicReportRow.lat.is_not(None) & PublicReportRow.lon.is_not(None)
        in_box = has_own & PublicReportRow.lat.between(lat0, lat1) & PublicReportRow.lon.between(lon0, lon1)
        at_camera = ~has_own & PublicReportRow.camera_id.is_not(None)
        rows_r = db.scalars(
            select(PublicReportRow)
            .where(
                PublicReportRow.observed_at.between(since, until),
                in_box | at_camera,
                (PublicReportRow.incident_id.is_(None)) | (PublicReportRow.incident_id != incident.id),
            )
            .order_by(PublicReportRow.observed_at.desc())
            .limit(MAX_ITEMS)
        )
        for r in rows_r:
            if r.camera_id is not None and cameras is not None and r.camera_id not in cameras:
                continue  # a report tied to a camera not shared with the caller
            if r.lat is not None and r.lon is not None:
                pos: tuple[float, float] | None = (r.lat, r.lon)
            else:
                pos = camera_positions.get(r.camera_id or "")
            if pos is None:
                continue
            dist = distance_m(where[0], where[1], *pos)
            if dist > radius_m:
                continue
            out.append(
                Correlated(
                    "report",
                    r.id,
                    r.description[:120],
                    None,
                    r.category,
                    r.status,
                    r.camera_id,
                    r.observed_at,
                    round(dist, 1),
                    _minutes(r.observed_at, origin),
                    r.incident_id,
                    *pos,
                )
            )
    return sorted(out, key=lambda c: (abs(c.minutes_from_incident), c.distance_m, c.kind, c.id))
