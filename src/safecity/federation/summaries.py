"""Reading a city's own records into the allow-listed summaries (only the fields the types carry)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from safecity.federation.messages import Aggregate, AlertSummary, IncidentSummary
from safecity.operations.models import AlertRow, IncidentRow
from safecity.store.models import EventRow

MAX_ROWS = 5000  # per sync; the rest follow on the next one (the cursor only moves by what was read)


def alert_summaries(db: Session, since: datetime) -> list[AlertSummary]:
    rows = db.scalars(
        select(AlertRow)
        .where(
            or_(
                AlertRow.created_at >= since,
                AlertRow.last_seen >= since,
                AlertRow.acknowledged_at >= since,
                AlertRow.closed_at >= since,
            )
        )
        .order_by(AlertRow.id)
        .limit(MAX_ROWS)
    )
    return [
        AlertSummary(
            alert_id=r.id,
            alert_kind=r.kind,
            severity=r.severity,
            status=r.status,
            title=r.title,
            camera_id=r.camera_id,
            zone_id=r.zone_id,
            count=r.count,
            occurrences=r.occurrences,
            first_seen=r.first_seen,
            last_seen=r.last_seen,
            closed_at=r.closed_at,
        )
        for r in rows
    ]


def incident_summaries(db: Session, since: datetime) -> list[IncidentSummary]:
    rows = db.scalars(
        select(IncidentRow).where(IncidentRow.updated_at >= since).order_by(IncidentRow.id).limit(MAX_ROWS)
    )
    return [
        IncidentSummary(
            incident_id=r.id,
            title=r.title,
            type=r.type,
            priority=r.priority,
            status=r.status,
            camera_id=r.camera_id,
            lat=r.lat,
            lon=r.lon,
            origin_at=r.origin_at,
            created_at=r.created_at,
            dispatched_at=r.dispatched_at,
            on_scene_at=r.on_scene_at,
            resolved_at=r.resolved_at,
            closed_at=r.closed_at,
        )
        for r in rows
    ]


def _hour(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def aggregates(db: Session, since: datetime) -> list[Aggregate]:
    """Hourly footfall per camera/zone, line counts per camera/line/direction, crowding peaks per
    camera/zone, mean dispatch response time per incident type: sums, never individual tracks."""
    figures: dict[tuple[str, str, datetime], float] = defaultdict(float)
    q = select(
        EventRow.kind,
        EventRow.camera_id,
        EventRow.zone_id,
        EventRow.line_id,
        EventRow.direction,
        EventRow.count,
        EventRow.start,
    ).where(EventRow.start >= since, EventRow.kind.in_(("zone_enter", "line_crossing", "crowding")))
    for kind, camera, zone, line, direction, count, start in db.execute(q):
        hour = _hour(start)
        if kind == "zone_enter":
            figures["footfall", f"{camera}/{zone}", hour] += 1
        elif kind == "line_crossing":
            figures["line_count", f"{camera}/{line}/{direction}", hour] += 1
        else:
            key = ("crowding_peak", f"{camera}/{zone}", hour)
            figures[key] = max(figures[key], float(count or 0))
    times: dict[tuple[str, datetime], list[float]] = defaultdict(list)
    inc = select(IncidentRow.type, IncidentRow.origin_at, IncidentRow.dispatched_at).where(
        IncidentRow.dispatched_at >= since
    )
    for type_, origin, dispatched in db.execute(inc):
        if dispatched is None:
            continue
        times[type_, _hour(dispatched)].append((dispatched - origin).total_seconds())
    for (type_, hour), values in times.items():
        figures["response_time_s", type_, hour] = sum(values) / len(values)
    return [
        Aggregate(hour=hour, metric=metric, key=key, value=round(value, 3))
        for (metric, key, hour), value in sorted(
            figures.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])
        )
    ]
