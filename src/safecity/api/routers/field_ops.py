"""Field units in the field and the control room's view of them.

- `POST /api/field/position`, `POST /api/field/duty` (field:respond): the unit's phone reports where it is
  (every `field.position_every_s` on duty and with each status report) and goes on or off duty. Both take
  an `Idempotency-Key` header: the field app's offline queue replays requests, and a replay gets the first
  answer back without acting twice.
- `GET /api/incidents/{id}/nearest-units` (units:read): available units by straight-line distance.
- `GET /api/ui-config` (any signed-in user) and `GET /api/public/ui-config`: map tiles, site time zone and
  field timings for the UI (nothing secret).
- On start, the `Escalator` checks unanswered dispatches and critical alerts (safecity.operations.escalation).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError

from safecity.api.camera_store import get_camera
from safecity.api.deps import DbSession, Node, Principal, require, require_user
from safecity.api.routers._operations import IdPath, commit, publish, translated
from safecity.app import App
from safecity.operations import dispatch as dispatch_service
from safecity.operations import field_units as service
from safecity.operations import incidents as incident_service
from safecity.operations.escalation import Escalator
from safecity.operations.fields import Lat, Lon
from safecity.operations.models import FieldUnitRow
from safecity.operations.schemas import UnitPublic

router = APIRouter(tags=["field"])
Responder = Annotated[Principal, Depends(require("field:respond"))]
Reader = Annotated[Principal, Depends(require("units:read"))]
Anyone = Annotated[Principal, Depends(require_user())]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=r"^[A-Za-z0-9_.:-]{8,64}$",
        description="A client-chosen unique key; a repeated request with it returns the first answer",
    ),
]
_ESCALATORS: dict[int, Escalator] = {}


class PositionReport(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: Lat
    lon: Lon
    at: datetime | None = Field(
        None, description="When the fix was taken (default: now); a fix older than the stored one is ignored"
    )
    accuracy_m: float | None = Field(None, ge=0, le=100_000, description="Reported accuracy (metres)")


class DutyChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on_duty: bool


class NearestUnit(BaseModel):
    unit: UnitPublic
    distance_m: float | None = Field(description="Straight-line distance; null without positions")
    stale: bool = Field(description="No position for field.stale_after_s")


class NearestUnits(BaseModel):
    lat: float | None = Field(description="The incident's position (its own, else its camera's)")
    lon: float | None
    units: list[NearestUnit]


class UiConfig(BaseModel):
    tile_url: str | None
    tile_attribution: str
    max_zoom: int
    map_center: tuple[float, float] | None
    map_zoom: int | None
    timezone: str
    position_every_s: float
    stale_after_s: float
    dispatch_ack_s: float


def camera_position(node: App, camera_id: str) -> tuple[float, float] | None:
    with node.session() as db:
        row = get_camera(db, camera_id)
        if row is None or row.lat is None or row.lon is None:
            return None
        return row.lat, row.lon


def on_start(node: App) -> None:
    escalator = Escalator(node.session, node.live, node.settings.field, lambda c: camera_position(node, c))
    escalator.start()
    _ESCALATORS[id(node)] = escalator


def on_stop(node: App) -> None:
    escalator = _ESCALATORS.pop(id(node), None)
    if escalator is not None:
        escalator.stop()


def own_unit(db: DbSession, who: Principal) -> FieldUnitRow:
    unit = dispatch_service.unit_of_user(db, who.user_id)
    if unit is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "your account is not linked to a field unit")
    return unit


def finish(db: DbSession, who: Principal, key: str | None, kind: str, out: BaseModel) -> dict[str, Any]:
    """Commit the change with its idempotency record; a twin that raced us in returns its answer."""
    answer = out.model_dump(mode="json")
    try:
        service.remember(db, who.user_id, key, kind, answer)
        commit(db)
    except IntegrityError:
        db.rollback()
        first = service.replayed(db, who.user_id, key)
        if first is None:
            raise
        return first
    return answer


@router.post("/field/position", response_model=UnitPublic)
def report_position(
    body: PositionReport, db: DbSession, node: Node, who: Responder, key: IdempotencyKey = None
) -> Any:
    """The unit's position (ignored as 'last position' when older than the one stored)."""
    if (first := service.replayed(db, who.user_id, key)) is not None:
        return first
    unit = own_unit(db, who)
    with translated():
        service.record_position(db, unit, body.lat, body.lon, body.at)
    out = UnitPublic.model_validate(unit)
    answer = finish(db, who, key, "position", out)
    publish(node, "unit_update", out, None)
    return answer


@router.post("/field/duty", response_model=UnitPublic)
def set_duty(body: DutyChange, db: DbSession, node: Node, who: Responder, key: IdempotencyKey = None) -> Any:
    """On duty (available) or off duty (409 while on a dispatch)."""
    if (first := service.replayed(db, who.user_id, key)) is not None:
        return first
    with translated():
        unit = service.set_duty(db, own_unit(db, who), body.on_duty)
    out = UnitPublic.model_validate(unit)
    answer = finish(db, who, key, "duty", out)
    publish(node, "unit_update", out, None)
    return answer


@router.get("/incidents/{incident_id}/nearest-units", response_model=NearestUnits)
def nearest_units(incident_id: IdPath, db: DbSession, node: Node, who: Reader) -> NearestUnits:
    """Available units, nearest first (fresh positions, then stale ones, then units without a position)."""
    with translated():
        incident = incident_service.get_incident(db, incident_id, who.cameras)
    cam = get_camera(db, incident.camera_id) if incident.camera_id else None
    cam_pos = (cam.lat, cam.lon) if cam is not None and cam.lat is not None and cam.lon is not None else None
    where = service.incident_position(incident, cam_pos)
    found = service.nearest_units(db, where, node.settings.field.stale_after_s)
    units = [NearestUnit(unit=UnitPublic.model_validate(c.unit), distance_m=c.distance_m, stale=c.stale)
             for c in found]  # fmt: skip
    return NearestUnits(lat=where[0] if where else None, lon=where[1] if where else None, units=units)


def _ui_config(node: App) -> UiConfig:
    s = node.settings
    return UiConfig(
        tile_url=s.map.tile_url, tile_attribution=s.map.attribution, max_zoom=s.map.max_zoom,
        map_center=s.map.center, map_zoom=s.map.zoom, timezone=s.site.timezone,
        position_every_s=s.field.position_every_s, stale_after_s=s.field.stale_after_s,
        dispatch_ack_s=s.field.dispatch_ack_s,
    )  # fmt: skip


@router.get("/ui-config", response_model=UiConfig)
def ui_config(node: Node, who: Anyone) -> UiConfig:
    """Map tiles, the site time zone and field timings."""
    return _ui_config(node)


@router.get("/public/ui-config", response_model=UiConfig)
def public_ui_config(node: Node) -> UiConfig:
    """The same, for the public report page (nothing in it is secret)."""
    return _ui_config(node)
