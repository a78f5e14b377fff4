"""Incidents: creation (by hand, from alerts, from a public report), status, notes, SOP checklist, and the
append-only timeline that records every step with who and when. Explicit session; the caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safecity.operations import alerts as alert_repo
from safecity.operations.alerts import CameraScope
from safecity.operations.catalogue import INCIDENT_TYPES, KIND_TO_INCIDENT_TYPE, incident_type
from safecity.operations.domain import (
    ACTIVE_DISPATCH,
    INCIDENT_TRANSITIONS,
    Actor,
    AlertStatus,
    ConflictError,
    DispatchStatus,
    IncidentStatus,
    NotFoundError,
    Severity,
    TimelineKind,
    UnitStatus,
    now_utc,
)
from safecity.operations.incident_schemas import IncidentCreate, IncidentUpdate
from safecity.operations.models import (
    AlertRow,
    ChecklistItemRow,
    DispatchRow,
    FieldUnitRow,
    IncidentRow,
    TimelineRow,
)


def add_timeline(
    db: Session,
    incident: IncidentRow,
    kind: TimelineKind,
    actor: Actor,
    message: str,
    data: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> TimelineRow:
    entry = TimelineRow(
        incident_id=incident.id, at=at or now_utc(), kind=kind.value, actor_id=actor.id, actor=actor.name,
        message=message, data=data or {},
    )  # fmt: skip
    db.add(entry)
    incident.updated_at = entry.at
    db.flush()
    return entry


def get_incident(db: Session, incident_id: int, cameras: CameraScope = None) -> IncidentRow:
    row = db.get(IncidentRow, incident_id)
    if row is None or (cameras is not None and row.camera_id is not None and row.camera_id not in cameras):
        raise NotFoundError(f"no incident {incident_id}")
    return row


def list_incidents(
    db: Session, status: IncidentStatus | None, cameras: CameraScope, limit: int = 50, offset: int = 0
) -> tuple[list[IncidentRow], int]:
    where: list[ColumnElement[bool]] = []
    if cameras is not None:
        where.append(IncidentRow.camera_id.in_(sorted(cameras)) | IncidentRow.camera_id.is_(None))
    if status is not None:
        where.append(IncidentRow.status == status.value)
    total = int(db.scalar(select(func.count()).select_from(IncidentRow).where(*where)) or 0)
    rows = db.scalars(
        select(IncidentRow).where(*where).order_by(IncidentRow.created_at.desc(), IncidentRow.id.desc())
        .limit(limit).offset(offset)
    )  # fmt: skip
    return list(rows), total


def _alerts_to_link(db: Session, alert_ids: Sequence[int], cameras: CameraScope) -> list[AlertRow]:
    rows = [alert_repo.get_alert(db, i, cameras) for i in alert_ids]
    for row in rows:
        if row.incident_id is not None:
            raise ConflictError(f"alert {row.id} is already linked to incident {row.incident_id}")
        if row.status == AlertStatus.CLOSED.value:
            raise ConflictError(f"alert {row.id} is closed; reopen work on it with a new incident by hand")
    return rows


def _link(db: Session, incident: IncidentRow, rows: Sequence[AlertRow], actor: Actor) -> None:
    for row in rows:
        row.incident_id = incident.id
        if row.status == AlertStatus.OPEN.value:
            alert_repo.acknowledge(db, row, actor)
        add_timeline(
            db, incident, TimelineKind.ALERT_LINKED, actor, f"Alert {row.id} linked: {row.title}",
            {"alert_id": row.id, "severity": row.severity, "kind": row.kind},
        )  # fmt: skip


def _defaults(data: IncidentCreate, rows: Sequence[AlertRow]) -> tuple[str, Severity, str]:
    first = rows[0] if rows else None
    type_id = data.type or (KIND_TO_INCIDENT_TYPE.get(first.kind, "other") if first else "other")
    itype = incident_type(type_id)
    if data.priority is not None:
        priority = data.priority
    elif rows:
        priority = max((Severity(r.severity) for r in rows), key=lambda s: s.rank)
    else:
        priority = itype.default_priority
    title = data.title or (first.title if first else itype.name)
    return type_id, priority, title


def create_incident(
    db: Session,
    data: IncidentCreate,
    actor: Actor,
    cameras: CameraScope = None,
    *,
    source: str | None = None,
    origin_at: datetime | None = None,
) -> IncidentRow:
    """A new incident with its type's checklist; `data.alert_ids` are linked and acknowledged."""
    rows = _alerts_to_link(db, data.alert_ids, cameras)
    type_id, priority, title = _defaults(data, rows)
    now = now_utc()
    first_seen = min((r.first_seen for r in rows), default=None)
    incident = IncidentRow(
        title=title, type=type_id, priority=priority.value, status=IncidentStatus.NEW.value,
        description=data.description, source=source or ("alert" if rows else "manual"),
        camera_id=data.camera_id or (rows[0].camera_id if rows else None), lat=data.lat, lon=data.lon,
        origin_at=origin_at or first_seen or now, created_at=now, created_by_id=actor.id,
        created_by=actor.name, updated_at=now,
    )  # fmt: skip
    db.add(incident)
    db.flush()
    for position, step in enumerate(INCIDENT_TYPES[type_id].checklist):
        db.add(ChecklistItemRow(incident_id=incident.id, item_id=step.id, position=position, text=step.text,
                                done=False))  # fmt: skip
    add_timeline(
        db, incident, TimelineKind.CREATED, actor, f"Incident created: {title}",
        {"type": type_id, "priority": priority.value, "source": incident.source}, at=now,
    )  # fmt: skip
    _link(db, incident, rows, actor)
    return incident


def _check_open(incident: IncidentRow) -> None:
    if incident.status == IncidentStatus.CLOSED.value:
        raise ConflictError(f"incident {incident.id} is closed")


def set_status(
    db: Session, incident: IncidentRow, target: IncidentStatus, actor: Actor, why: str = ""
) -> None:
    """Move an incident by hand; closing it stands down the units still dispatched to it."""
    current = IncidentStatus(incident.status)
    if target == current:
        return
    if target not in INCIDENT_TRANSITIONS[current]:
        allowed = ", ".join(sorted(INCIDENT_TRANSITIONS[current])) or "nothing (it is final)"
        raise ConflictError(f"incident {incident.id} is {current}; it can move to {allowed}, not {target}")
    if target == IncidentStatus.CLOSED:
        stand_down(db, incident, actor)
    move(db, incident, target, actor, why)


def move(
    db: Session,
    incident: IncidentRow,
    target: IncidentStatus,
    actor: Actor,
    why: str = "",
    at: datetime | None = None,
) -> None:
    """Record a status change (no transition check: dispatch and field reports call this); `at` is the
    time of what caused it (a dispatch, a unit on scene), so the incident's stamps match the dispatch's."""
    previous, now = incident.status, at or now_utc()
    incident.status = target.value
    stamp = {
        IncidentStatus.DISPATCHED: "dispatched_at",
        IncidentStatus.ON_SCENE: "on_scene_at",
        IncidentStatus.RESOLVED: "resolved_at",
        IncidentStatus.CLOSED: "closed_at",
    }.get(target)
    if stamp is not None and getattr(incident, stamp) is None:
        setattr(incident, stamp, now)
    message = f"Status {previous} -> {target.value}" + (f": {why}" if why else "")
    add_timeline(
        db, incident, TimelineKind.STATUS, actor, message, {"from": previous, "to": target.value}, now
    )


def stand_down(db: Session, incident: IncidentRow, actor: Actor) -> None:
    """Close the incident's active dispatches and free their units."""
    active = db.scalars(
        select(DispatchRow).where(
            DispatchRow.incident_id == incident.id, DispatchRow.status.in_([s.value for s in ACTIVE_DISPATCH])
        )
    )
    for dispatch in list(active):
        dispatch.status, dispatch.closed_at = DispatchStatus.CLOSED.value, now_utc()
        unit = db.get(FieldUnitRow, dispatch.unit_id)
        if unit is not None and unit.status != UnitStatus.OFF_DUTY.value:
            unit.status, unit.updated_at = UnitStatus.AVAILABLE.value, now_utc()
        name = unit.call_sign if unit else f"unit {dispatch.unit_id}"
        add_timeline(
            db, incident, TimelineKind.UNIT_STATUS, actor, f"{name} stood down",
            {"dispatch_id": dispatch.id, "unit_id": dispatch.unit_id, "status": DispatchStatus.CLOSED.value},
        )  # fmt: skip


_EDITABLE = ("title", "priority", "description", "camera_id", "lat", "lon")


def update_incident(
    db: Session, incident: IncidentRow, change: IncidentUpdate, actor: Actor, cameras: CameraScope = None
) -> IncidentRow:
    _check_open(incident)
    fields = change.model_dump(exclude_unset=True)
    edits = {k: fields[k] for k in _EDITABLE if k in fields and fields[k] != getattr(incident, k)}
    for name, value in edits.items():
        setattr(incident, name, value.value if isinstance(value, Severity) else value)
    if edits:
        shown = {k: (v.value if isinstance(v, Severity) else v) for k, v in edits.items()}
        add_timeline(db, incident, TimelineKind.UPDATED, actor, "Updated " + ", ".join(edits), shown)
    if change.alert_ids:
        _link(db, incident, _alerts_to_link(db, change.alert_ids, cameras), actor)
    if change.status is not None:
        set_status(db, incident, IncidentStatus(change.status), actor)
    db.flush()
    return incident


def add_note(db: Session, incident: IncidentRow, text: str, actor: Actor) -> TimelineRow:
    return add_timeline(db, incident, TimelineKind.NOTE, actor, text.strip())


def set_checklist(
    db: Session, incident: IncidentRow, item_id: str, done: bool, actor: Actor
) -> ChecklistItemRow:
    _check_open(incident)
    item = db.scalar(
        select(ChecklistItemRow).where(
            ChecklistItemRow.incident_id == incident.id, ChecklistItemRow.item_id == item_id
        )
    )
    if item is None:
        raise NotFoundError(f"incident {incident.id} has no checklist item {item_id!r}")
    if item.done == done:
        return item  # idempotent: no timeline entry for a click that changes nothing
    item.done = done
    item.done_at, item.done_by_id, item.done_by = (now_utc(), actor.id, actor.name) if done else (None,) * 3
    verb = "done" if done else "undone"
    add_timeline(
        db, incident, TimelineKind.CHECKLIST, actor, f"Checklist {verb}: {item.text}",
        {"item_id": item_id, "done": done},
    )  # fmt: skip
    return item
