"""Field units and dispatches: who is available, sending a unit to an incident, and the unit's own reports
(en route, on scene, closed) that move the dispatch, the unit, the incident and its timeline together.

Response times are the dispatch's timestamps against the incident's `origin_at` (first alert seen,
report received, or creation): dispatched_at, en_route_at, on_scene_at. Explicit session; caller commits.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.operations.domain import (
    ACTIVE_DISPATCH,
    DISPATCH_ORDER,
    UNIT_FOR_DISPATCH,
    Actor,
    ConflictError,
    DispatchStatus,
    IncidentStatus,
    NotFoundError,
    TimelineKind,
    UnitStatus,
    now_utc,
)
from safecity.operations.incident_schemas import FieldStatusUpdate
from safecity.operations.incidents import add_timeline, get_incident, move
from safecity.operations.models import DispatchRow, FieldUnitRow, IncidentRow
from safecity.operations.schemas import UnitCreate, UnitUpdate

_ACTIVE = [s.value for s in ACTIVE_DISPATCH]


# --- units ------------------------------------------------------------------------------------------


def list_units(db: Session) -> list[FieldUnitRow]:
    return list(db.scalars(select(FieldUnitRow).order_by(FieldUnitRow.call_sign)))


def get_unit(db: Session, unit_id: int) -> FieldUnitRow:
    row = db.get(FieldUnitRow, unit_id)
    if row is None:
        raise NotFoundError(f"no field unit {unit_id}")
    return row


def unit_of_user(db: Session, user_id: int) -> FieldUnitRow | None:
    return db.scalar(select(FieldUnitRow).where(FieldUnitRow.user_id == user_id))


def _check_unique(db: Session, unit_id: int | None, call_sign: str | None, user_id: int | None) -> None:
    if call_sign is not None:
        clash = db.scalar(select(FieldUnitRow).where(FieldUnitRow.call_sign == call_sign))
        if clash is not None and clash.id != unit_id:
            raise ConflictError(f"call sign {call_sign!r} is taken by unit {clash.id}")
    if user_id is not None:
        other = unit_of_user(db, user_id)
        if other is not None and other.id != unit_id:
            raise ConflictError(f"user {user_id} already answers for unit {other.call_sign}")


def create_unit(db: Session, data: UnitCreate) -> FieldUnitRow:
    _check_unique(db, None, data.call_sign, data.user_id)
    now = now_utc()
    has_pos = data.lat is not None and data.lon is not None
    row = FieldUnitRow(
        call_sign=data.call_sign, kind=data.kind.value, user_id=data.user_id, status=data.status.value,
        lat=data.lat, lon=data.lon, position_at=now if has_pos else None, created_at=now, updated_at=now,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row


def active_dispatch(db: Session, unit_id: int) -> DispatchRow | None:
    return db.scalar(
        select(DispatchRow).where(DispatchRow.unit_id == unit_id, DispatchRow.status.in_(_ACTIVE)).limit(1)
    )


def update_unit(db: Session, row: FieldUnitRow, change: UnitUpdate) -> FieldUnitRow:
    fields = change.model_dump(exclude_unset=True)
    _check_unique(db, row.id, fields.get("call_sign"), fields.get("user_id"))
    if fields.get("status") is not None and fields["status"] != row.status:
        busy = active_dispatch(db, row.id)
        if busy is not None:
            raise ConflictError(
                f"unit {row.call_sign} is {row.status} on incident {busy.incident_id}; "
                "close or stand down that dispatch first"
            )
        row.status = UnitStatus(fields["status"]).value
    for name in ("call_sign", "kind", "user_id"):
        if fields.get(name) is not None:
            setattr(row, name, fields[name])
    if change.unlink_user:
        row.user_id = None
    _move(row, change.lat, change.lon)
    row.updated_at = now_utc()
    db.flush()
    return row


def _move(unit: FieldUnitRow, lat: float | None, lon: float | None) -> None:
    if lat is not None and lon is not None:
        unit.lat, unit.lon, unit.position_at = lat, lon, now_utc()


# --- dispatch ---------------------------------------------------------------------------------------


def dispatch_unit(
    db: Session, incident: IncidentRow, unit_id: int, note: str | None, actor: Actor
) -> DispatchRow:
    if incident.status in (IncidentStatus.RESOLVED.value, IncidentStatus.CLOSED.value):
        raise ConflictError(f"incident {incident.id} is {incident.status}; units go to open incidents only")
    unit = get_unit(db, unit_id)
    if unit.status != UnitStatus.AVAILABLE.value:
        busy = active_dispatch(db, unit.id)
        where = f" on incident {busy.incident_id}" if busy else ""
        raise ConflictError(f"unit {unit.call_sign} is {unit.status}{where}, not available")
    now = now_utc()
    dispatch = DispatchRow(
        incident_id=incident.id, unit_id=unit.id, status=DispatchStatus.DISPATCHED.value, note=note,
        dispatched_at=now, dispatched_by_id=actor.id, dispatched_by=actor.name,
    )  # fmt: skip
    db.add(dispatch)
    unit.status, unit.updated_at = UnitStatus.DISPATCHED.value, now
    db.flush()
    text = f"{unit.call_sign} dispatched" + (f": {note}" if note else "")
    data = {"dispatch_id": dispatch.id, "unit_id": unit.id, "call_sign": unit.call_sign}
    add_timeline(db, incident, TimelineKind.DISPATCH, actor, text, data, at=now)
    if incident.status == IncidentStatus.NEW.value:
        move(db, incident, IncidentStatus.DISPATCHED, actor, at=now)
    return dispatch


def field_dispatches(db: Session, user_id: int, active_only: bool = False) -> list[DispatchRow]:
    """The dispatches of the caller's own unit (none when the account answers for no unit)."""
    unit = unit_of_user(db, user_id)
    if unit is None:
        return []
    stmt = select(DispatchRow).where(DispatchRow.unit_id == unit.id)
    if active_only:
        stmt = stmt.where(DispatchRow.status.in_(_ACTIVE))
    return list(db.scalars(stmt.order_by(DispatchRow.dispatched_at.desc(), DispatchRow.id.desc())))


def own_dispatch(db: Session, dispatch_id: int, user_id: int) -> DispatchRow:
    """A dispatch of the caller's unit; another unit's dispatch is 'not found' (its existence is hidden)."""
    unit = unit_of_user(db, user_id)
    row = db.get(DispatchRow, dispatch_id)
    if unit is None or row is None or row.unit_id != unit.id:
        raise NotFoundError(f"no dispatch {dispatch_id} for your unit")
    return row


def report_status(db: Session, dispatch: DispatchRow, update: FieldStatusUpdate, actor: Actor) -> DispatchRow:
    """A unit reports en route / on scene / closed (forward only; a step may be skipped)."""
    current, target = DispatchStatus(dispatch.status), DispatchStatus(update.status)
    if DISPATCH_ORDER.index(target) <= DISPATCH_ORDER.index(current):
        raise ConflictError(f"dispatch {dispatch.id} is already {current}; it cannot go to {target}")
    now = now_utc()
    dispatch.status = target.value
    setattr(dispatch, f"{target.value}_at", now)
    if update.note:
        dispatch.note = update.note
    unit = get_unit(db, dispatch.unit_id)
    if unit.status != UnitStatus.OFF_DUTY.value:
        unit.status = UNIT_FOR_DISPATCH[target].value
    _move(unit, update.lat, update.lon)
    unit.updated_at = now
    incident = get_incident(db, dispatch.incident_id)
    data = {"dispatch_id": dispatch.id, "unit_id": unit.id, "status": target.value, "lat": update.lat,
            "lon": update.lon}  # fmt: skip
    text = f"{unit.call_sign} {target.value.replace('_', ' ')}" + (f": {update.note}" if update.note else "")
    add_timeline(db, incident, TimelineKind.UNIT_STATUS, actor, text, data, at=now)
    _follow(db, incident, target, actor, now)
    db.flush()
    return dispatch


def _follow(db: Session, incident: IncidentRow, target: DispatchStatus, actor: Actor, at: datetime) -> None:
    """The incident follows its units: first on scene -> on_scene; last one closed -> resolved."""
    status = incident.status
    if target == DispatchStatus.ON_SCENE and status in (
        IncidentStatus.NEW.value,
        IncidentStatus.DISPATCHED.value,
    ):
        move(db, incident, IncidentStatus.ON_SCENE, actor, at=at)
    elif target == DispatchStatus.CLOSED and status in (
        IncidentStatus.DISPATCHED.value,
        IncidentStatus.ON_SCENE.value,
    ):
        db.flush()
        still = db.scalar(
            select(DispatchRow.id)
            .where(DispatchRow.incident_id == incident.id, DispatchRow.status.in_(_ACTIVE))
            .limit(1)
        )
        if still is None:
            move(db, incident, IncidentStatus.RESOLVED, actor, "last unit closed its dispatch", at)
