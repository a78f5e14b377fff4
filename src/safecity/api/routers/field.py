"""The field unit's own view (field:respond): its dispatches, and its reports en route / on scene / closed.

Only the dispatches of the unit linked to the caller's account exist here: another unit's dispatch is
404, as if there were none. Each report moves the dispatch, the unit, the incident and its timeline, and
is pushed live (`dispatch_update`, `incident_update`, `unit_update`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from safecity.api.deps import DbSession, Node, Principal, require
from safecity.api.routers._operations import IdPath, actor, publish, translated
from safecity.api.routers.field_ops import IdempotencyKey, finish
from safecity.operations import dispatch as service
from safecity.operations import field_units
from safecity.operations.incident_schemas import FieldDispatchPublic, FieldStatusUpdate, IncidentSummary
from safecity.operations.models import IncidentRow
from safecity.operations.schemas import UnitPublic
from safecity.operations.views import field_dispatch_view

router = APIRouter(prefix="/field", tags=["field"])
Responder = Annotated[Principal, Depends(require("field:respond"))]


@router.get("/unit", response_model=UnitPublic)
def my_unit(db: DbSession, who: Responder) -> UnitPublic:
    """The unit the caller's account answers for (404 when none)."""
    unit = service.unit_of_user(db, who.user_id)
    if unit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "your account is not linked to a field unit")
    return UnitPublic.model_validate(unit)


@router.get("/dispatches", response_model=list[FieldDispatchPublic])
def my_dispatches(
    db: DbSession, who: Responder, active: Annotated[bool, Query(description="Only open dispatches")] = False
) -> list[FieldDispatchPublic]:
    """The caller's unit's dispatches, newest first, each with its incident."""
    return [field_dispatch_view(db, d) for d in service.field_dispatches(db, who.user_id, active)]


@router.post("/dispatches/{dispatch_id}/status", response_model=FieldDispatchPublic)
def report_status(
    dispatch_id: IdPath,
    body: FieldStatusUpdate,
    db: DbSession,
    node: Node,
    who: Responder,
    key: IdempotencyKey = None,
) -> Any:
    """en_route -> on_scene -> closed (forward only, a step may be skipped; 409 otherwise).
    With an `Idempotency-Key`, a replay returns the first answer (the field app's offline queue)."""
    if (first := field_units.replayed(db, who.user_id, key)) is not None:
        return first
    with translated():
        row = service.own_dispatch(db, dispatch_id, who.user_id)
        service.report_status(db, row, body, actor(who))
        out = field_dispatch_view(db, row)
        incident = db.get(IncidentRow, row.incident_id)
        unit = UnitPublic.model_validate(service.get_unit(db, row.unit_id))
        summary = IncidentSummary.model_validate(incident)
        answer = finish(db, who, key, "status", out)
    publish(node, "dispatch_update", out, summary.camera_id, [who.user_id])
    publish(node, "incident_update", summary, summary.camera_id)
    publish(node, "unit_update", unit, None)
    return answer
