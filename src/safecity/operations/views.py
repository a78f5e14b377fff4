"""Public views of incidents, dispatches and reports, assembled from their rows (read-only queries)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.operations.incident_schemas import (
    ChecklistItemPublic,
    DispatchPublic,
    FieldDispatchPublic,
    IncidentPublic,
    IncidentSummary,
    TimelineEntryPublic,
)
from safecity.operations.models import (
    AlertRow,
    ChecklistItemRow,
    DispatchRow,
    FieldUnitRow,
    IncidentRow,
    PublicReportRow,
    TimelineRow,
)
from safecity.operations.schemas import ReportPublic


def _since(origin: datetime, at: datetime | None) -> float | None:
    return None if at is None else round((at - origin).total_seconds(), 3)


def dispatch_view(db: Session, row: DispatchRow, incident: IncidentRow | None = None) -> DispatchPublic:
    incident = incident or db.get(IncidentRow, row.incident_id)
    unit = db.get(FieldUnitRow, row.unit_id)
    assert incident is not None and unit is not None  # foreign keys
    origin = incident.origin_at
    return DispatchPublic(
        id=row.id, incident_id=row.incident_id, unit_id=row.unit_id, call_sign=unit.call_sign,
        status=row.status, note=row.note, dispatched_at=row.dispatched_at, dispatched_by=row.dispatched_by,
        en_route_at=row.en_route_at, on_scene_at=row.on_scene_at, closed_at=row.closed_at,
        to_dispatch_s=_since(origin, row.dispatched_at), to_en_route_s=_since(origin, row.en_route_at),
        to_on_scene_s=_since(origin, row.on_scene_at),
    )  # fmt: skip


def field_dispatch_view(db: Session, row: DispatchRow) -> FieldDispatchPublic:
    incident = db.get(IncidentRow, row.incident_id)
    assert incident is not None
    base = dispatch_view(db, row, incident)
    return FieldDispatchPublic(**base.model_dump(), incident=IncidentSummary.model_validate(incident))


def incident_view(db: Session, row: IncidentRow) -> IncidentPublic:
    by = {"incident_id": row.id}
    checklist = db.scalars(select(ChecklistItemRow).filter_by(**by).order_by(ChecklistItemRow.position))
    timeline = db.scalars(select(TimelineRow).filter_by(**by).order_by(TimelineRow.at, TimelineRow.id))
    dispatches = db.scalars(select(DispatchRow).filter_by(**by).order_by(DispatchRow.id))
    return IncidentPublic(
        **IncidentSummary.model_validate(row).model_dump(),
        alert_ids=list(db.scalars(select(AlertRow.id).filter_by(**by).order_by(AlertRow.id))),
        report_ids=list(db.scalars(select(PublicReportRow.id).filter_by(**by).order_by(PublicReportRow.id))),
        checklist=[ChecklistItemPublic.model_validate(c) for c in checklist],
        timeline=[TimelineEntryPublic.model_validate(t) for t in timeline],
        dispatches=[dispatch_view(db, d, row) for d in dispatches],
    )


def summaries(rows: Sequence[IncidentRow]) -> list[IncidentSummary]:
    return [IncidentSummary.model_validate(r) for r in rows]


def report_view(row: PublicReportRow) -> ReportPublic:
    return ReportPublic(
        id=row.id, category=row.category, description=row.description, lat=row.lat, lon=row.lon,
        camera_id=row.camera_id, observed_at=row.observed_at, has_photo=row.photo_key is not None,
        contact=row.contact, status=row.status, created_at=row.created_at, triaged_at=row.triaged_at,
        triaged_by=row.triaged_by, triage_note=row.triage_note, incident_id=row.incident_id,
    )  # fmt: skip
