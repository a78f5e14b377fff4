"""Incidents (incidents:read / incidents:write), their checklists and notes, and dispatch (dispatch:create).

Incidents tied to a camera are visible only to callers who may see that camera. Creating an incident from
alerts acknowledges them, so it also needs alerts:act.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Response, status

from safecity.api.camera_store import get_camera
from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.replies import json_reply
from safecity.api.routers._operations import IdPath, actor, commit, publish, translated
from safecity.app import App
from safecity.operations import alerts as alert_repo
from safecity.operations import dispatch as dispatch_service
from safecity.operations import incidents as service
from safecity.operations.catalogue import INCIDENT_TYPES
from safecity.operations.domain import IncidentStatus
from safecity.operations.incident_schemas import (
    ChecklistStepPublic,
    ChecklistUpdate,
    DispatchCreate,
    DispatchPublic,
    IncidentCreate,
    IncidentPage,
    IncidentPublic,
    IncidentSummary,
    IncidentTypePublic,
    IncidentUpdate,
    NoteCreate,
)
from safecity.operations.models import AlertRow, IncidentRow
from safecity.operations.schemas import AlertPublic, UnitPublic
from safecity.operations.views import dispatch_view, field_dispatch_view, incident_view, summaries

router = APIRouter(tags=["incidents"])
Reader = Annotated[Principal, Depends(require("incidents:read"))]
Writer = Annotated[Principal, Depends(require("incidents:write"))]
Dispatcher = Annotated[Principal, Depends(require("dispatch:create"))]
ItemId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.-]{1,32}$")]


@router.get("/incident-types", response_model=list[IncidentTypePublic])
def incident_types(who: Reader) -> list[IncidentTypePublic]:
    """The built-in incident types and their SOP checklists."""
    return [
        IncidentTypePublic(
            id=t.id, name=t.name, default_priority=t.default_priority,
            checklist=[ChecklistStepPublic(id=s.id, text=s.text) for s in t.checklist],
        )
        for t in INCIDENT_TYPES.values()
    ]  # fmt: skip


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    db: DbSession,
    who: Reader,
    status_: Annotated[IncidentStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Incidents, newest first."""
    rows, total = service.list_incidents(db, status_, who.cameras, limit, offset)
    return json_reply(IncidentPage(items=summaries(rows), total=total, limit=limit, offset=offset), db)


def with_camera_position(db: DbSession, body: IncidentCreate) -> IncidentCreate:
    """An incident without a position takes its camera's (an alert's camera, or the one given)."""
    camera_id = body.camera_id
    if camera_id is None and body.alert_ids:
        first = db.get(AlertRow, body.alert_ids[0])
        camera_id = first.camera_id if first is not None else None
    cam = get_camera(db, camera_id) if body.lat is None and camera_id else None
    if cam is None or cam.lat is None or cam.lon is None:
        return body
    return body.model_copy(update={"lat": cam.lat, "lon": cam.lon})


def _changed(db: DbSession, node: App, row: IncidentRow, kind: str = "incident_update") -> IncidentPublic:
    out = incident_view(db, row)
    commit(db)
    publish(node, kind, IncidentSummary.model_validate(row), row.camera_id)
    return out


@router.post("/incidents", response_model=IncidentPublic, status_code=status.HTTP_201_CREATED)
def create_incident(body: IncidentCreate, db: DbSession, node: Node, who: Writer) -> IncidentPublic:
    """By hand, or from alerts (`alert_ids`: linked and acknowledged; needs alerts:act too)."""
    if body.alert_ids and not who.has("alerts:act"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "linking alerts acknowledges them: alerts:act required"
        )
    if body.camera_id is not None and not who.can_see_camera(body.camera_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to camera {body.camera_id!r}")
    body = with_camera_position(db, body)
    with translated():
        row = service.create_incident(db, body, actor(who), who.cameras)
        linked = [AlertPublic.model_validate(alert_repo.get_alert(db, i)) for i in body.alert_ids]
        out = _changed(db, node, row, "incident")
    for alert in linked:  # linked and acknowledged
        publish(node, "alert_update", alert, alert.camera_id)
    return out


@router.get("/incidents/{incident_id}", response_model=IncidentPublic)
def get_incident(incident_id: IdPath, db: DbSession, who: Reader) -> IncidentPublic:
    with translated():
        return incident_view(db, service.get_incident(db, incident_id, who.cameras))


@router.patch("/incidents/{incident_id}", response_model=IncidentPublic)
def update_incident(
    incident_id: IdPath, body: IncidentUpdate, db: DbSession, node: Node, who: Writer
) -> IncidentPublic:
    """Edit fields, link more alerts, or move the status (on_scene, resolved, closed; 409 if not allowed)."""
    if body.alert_ids and not who.has("alerts:act"):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN, "linking alerts acknowledges them: alerts:act required"
        )
    if body.camera_id is not None and not who.can_see_camera(body.camera_id):
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"no access to camera {body.camera_id!r}")
    with translated():
        row = service.get_incident(db, incident_id, who.cameras)
        service.update_incident(db, row, body, actor(who), who.cameras)
        linked = [AlertPublic.model_validate(alert_repo.get_alert(db, i)) for i in body.alert_ids]
        out = _changed(db, node, row)
    for alert in linked:
        publish(node, "alert_update", alert, alert.camera_id)
    return out


@router.post("/incidents/{incident_id}/notes", response_model=IncidentPublic, status_code=201)
def add_note(incident_id: IdPath, body: NoteCreate, db: DbSession, node: Node, who: Writer) -> IncidentPublic:
    with translated():
        row = service.get_incident(db, incident_id, who.cameras)
        service.add_note(db, row, body.text, actor(who))
        return _changed(db, node, row)


@router.post("/incidents/{incident_id}/checklist/{item_id}", response_model=IncidentPublic)
def checklist(
    incident_id: IdPath, item_id: ItemId, body: ChecklistUpdate, db: DbSession, node: Node, who: Writer
) -> IncidentPublic:
    """Tick or untick one SOP step (idempotent)."""
    with translated():
        row = service.get_incident(db, incident_id, who.cameras)
        service.set_checklist(db, row, item_id, body.done, actor(who))
        return _changed(db, node, row)


@router.post(
    "/incidents/{incident_id}/dispatch", response_model=DispatchPublic, status_code=status.HTTP_201_CREATED
)
def dispatch(
    incident_id: IdPath, body: DispatchCreate, db: DbSession, node: Node, who: Dispatcher
) -> DispatchPublic:
    """Send an available unit (409 when it is busy or off duty, or the incident is resolved/closed)."""
    with translated():
        incident = service.get_incident(db, incident_id, who.cameras)
        row = dispatch_service.dispatch_unit(db, incident, body.unit_id, body.note, actor(who))
        unit = dispatch_service.get_unit(db, row.unit_id)
        out, field_out = dispatch_view(db, row, incident), field_dispatch_view(db, row)
        summary, unit_out = IncidentSummary.model_validate(incident), UnitPublic.model_validate(unit)
        commit(db)
    users = [unit.user_id] if unit.user_id is not None else None
    publish(node, "dispatch", field_out, incident.camera_id, users)
    publish(node, "incident_update", summary, incident.camera_id)
    publish(node, "unit_update", unit_out, None)
    return out
