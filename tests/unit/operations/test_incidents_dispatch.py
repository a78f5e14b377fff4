"""Incidents from alerts and by hand, SOP checklists, the timeline, dispatch and the field unit's flow."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from safecity.operations import alerts as alert_repo
from safecity.operations import dispatch as dispatch_service
from safecity.operations import incidents as service
from safecity.operations.catalogue import INCIDENT_TYPES
from safecity.operations.domain import Actor, ConflictError, NotFoundError, Severity, UnitKind
from safecity.operations.engine import AlertEngine
from safecity.operations.incident_schemas import FieldStatusUpdate, IncidentCreate, IncidentUpdate
from safecity.operations.models import IncidentRow
from safecity.operations.rules import Observation
from safecity.operations.schemas import UnitCreate, UnitUpdate
from safecity.operations.views import dispatch_view, incident_view
from safecity.types import Event, EventKind

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
OP, FIELD_A, FIELD_B = Actor(1, "operator"), Actor(10, "foot-12"), Actor(11, "car-3")


def raise_alerts(engine: AlertEngine, make_event: Callable[..., Event]) -> list[int]:
    crowd = make_event(EventKind.CROWDING, at=T0)
    loiter = make_event(EventKind.LOITERING, at=T0 + timedelta(seconds=30), label="person", track_id=4)
    return [c.alert.id for ev in (crowd, loiter) for c in engine.observe(Observation.from_event(ev))]


def kinds(db: Session, incident: IncidentRow) -> list[str]:
    return [t.kind for t in incident_view(db, incident).timeline]


def test_checklists_have_three_to_six_steps() -> None:
    assert {
        "crowding",
        "lost_person",
        "theft",
        "medical",
        "public_disorder",
        "suspicious_object",
        "other",
    } <= set(INCIDENT_TYPES)
    for t in INCIDENT_TYPES.values():
        assert 3 <= len(t.checklist) <= 6 and len({s.id for s in t.checklist}) == len(t.checklist)


def test_incident_from_alerts_links_and_acknowledges_them(
    db: Session, alert_engine: AlertEngine, make_event: Callable[..., Event]
) -> None:
    ids = raise_alerts(alert_engine, make_event)
    incident = service.create_incident(db, IncidentCreate(alert_ids=ids), OP)
    db.commit()
    view = incident_view(db, incident)
    assert view.type == "crowding" and view.priority == Severity.HIGH  # highest linked severity
    assert view.status == "new" and view.source == "alert" and view.camera_id == "cam1"
    assert view.origin_at == T0 and view.alert_ids == ids
    assert [c.item_id for c in view.checklist] == [s.id for s in INCIDENT_TYPES["crowding"].checklist]
    assert [t.kind for t in view.timeline] == ["created", "alert_linked", "alert_linked"]
    assert all(t.actor == "operator" for t in view.timeline)
    for alert_id in ids:
        alert = alert_repo.get_alert(db, alert_id)
        assert alert.status == "acknowledged" and alert.acknowledged_by == "operator"
        assert alert.incident_id == incident.id
    with pytest.raises(ConflictError, match=f"already linked to incident {incident.id}"):
        service.create_incident(db, IncidentCreate(alert_ids=ids[:1]), OP)
    with pytest.raises(NotFoundError):
        service.create_incident(db, IncidentCreate(alert_ids=[ids[0]]), OP, frozenset({"other-cam"}))


def test_incident_by_hand_checklist_notes_and_status(db: Session) -> None:
    data = IncidentCreate(title="Child lost near the fountain", type="lost_person", lat=41.9, lon=12.48)
    incident = service.create_incident(db, data, OP)
    assert (incident.priority, incident.source, incident.origin_at) == ("high", "manual", incident.created_at)
    item = service.set_checklist(db, incident, "describe", True, OP)
    assert item.done and item.done_by == "operator" and item.done_at is not None
    service.set_checklist(db, incident, "describe", True, OP)  # idempotent: no second entry
    service.set_checklist(db, incident, "describe", False, OP)
    with pytest.raises(NotFoundError, match="no checklist item 'nope'"):
        service.set_checklist(db, incident, "nope", True, OP)
    service.add_note(db, incident, "Mother waiting at the info desk", OP)
    service.update_incident(db, incident, IncidentUpdate(priority=Severity.CRITICAL, status="resolved"), OP)
    view = incident_view(db, incident)
    assert view.priority == "critical" and view.status == "resolved" and view.resolved_at is not None
    assert [t.kind for t in view.timeline] == [
        "created",
        "checklist",
        "checklist",
        "note",
        "updated",
        "status",
    ]
    assert view.timeline[2].message.startswith("Checklist undone")
    service.update_incident(db, incident, IncidentUpdate(status="closed"), OP)
    with pytest.raises(ConflictError, match="is closed"):
        service.update_incident(db, incident, IncidentUpdate(status="on_scene"), OP)
    with pytest.raises(ConflictError, match="is closed"):
        service.set_checklist(db, incident, "describe", True, OP)
    with pytest.raises(ValueError):
        IncidentCreate(type="alien_invasion")
    with pytest.raises(ValueError):
        IncidentUpdate.model_validate({"status": "dispatched"})  # only dispatching sets it


def _units(db: Session) -> tuple[int, int]:
    a = dispatch_service.create_unit(
        db, UnitCreate(call_sign="Foot-12", kind=UnitKind.FOOT_PATROL, user_id=10)
    )
    b = dispatch_service.create_unit(db, UnitCreate(call_sign="Car-3", kind=UnitKind.CAR, user_id=11))
    return a.id, b.id


def test_units_are_unique_and_cannot_go_off_duty_while_dispatched(db: Session) -> None:
    unit_a, _ = _units(db)
    with pytest.raises(ConflictError, match="call sign 'Foot-12' is taken"):
        dispatch_service.create_unit(db, UnitCreate(call_sign="Foot-12", kind=UnitKind.CAR))
    with pytest.raises(ConflictError, match="already answers for unit Foot-12"):
        dispatch_service.create_unit(db, UnitCreate(call_sign="Med-1", kind=UnitKind.MEDICAL, user_id=10))
    incident = service.create_incident(db, IncidentCreate(title="Pickpocket", type="theft"), OP)
    dispatch_service.dispatch_unit(db, incident, unit_a, None, OP)
    unit = dispatch_service.get_unit(db, unit_a)
    with pytest.raises(ConflictError, match=f"on incident {incident.id}"):
        dispatch_service.update_unit(db, unit, UnitUpdate(status="off_duty"))


def test_dispatch_and_field_flow_update_unit_incident_timeline_and_response_times(
    db: Session, alert_engine: AlertEngine, make_event: Callable[..., Event]
) -> None:
    alert_ids = raise_alerts(alert_engine, make_event)  # (the engine writes in its own transaction)
    unit_a, unit_b = _units(db)
    incident = service.create_incident(db, IncidentCreate(alert_ids=alert_ids), OP)
    d = dispatch_service.dispatch_unit(db, incident, unit_a, "Go to the north gate", OP)
    assert incident.status == "dispatched" and incident.dispatched_at == d.dispatched_at
    assert dispatch_service.get_unit(db, unit_a).status == "dispatched"
    with pytest.raises(ConflictError, match="Foot-12 is dispatched"):
        dispatch_service.dispatch_unit(db, incident, unit_a, None, OP)
    d2 = dispatch_service.dispatch_unit(db, incident, unit_b, None, OP)

    dispatch_service.report_status(db, d, FieldStatusUpdate(status="en_route", lat=41.9, lon=12.5), FIELD_A)
    unit = dispatch_service.get_unit(db, unit_a)
    assert (unit.status, unit.lat, unit.lon) == ("en_route", 41.9, 12.5) and unit.position_at is not None
    assert incident.status == "dispatched"
    dispatch_service.report_status(db, d, FieldStatusUpdate(status="on_scene", note="crowd of ~40"), FIELD_A)
    assert incident.status == "on_scene" and incident.on_scene_at == d.on_scene_at
    with pytest.raises(ConflictError, match="already on_scene"):
        dispatch_service.report_status(db, d, FieldStatusUpdate(status="en_route"), FIELD_A)
    dispatch_service.report_status(db, d, FieldStatusUpdate(status="closed"), FIELD_A)
    assert incident.status == "on_scene"  # car-3 is still out
    assert dispatch_service.get_unit(db, unit_a).status == "available"
    dispatch_service.report_status(db, d2, FieldStatusUpdate(status="closed"), FIELD_B)  # skips steps
    assert incident.status == "resolved"
    db.commit()

    view = dispatch_view(db, d)
    assert view.call_sign == "Foot-12" and view.note == "crowd of ~40"
    origin = incident.origin_at
    assert view.to_dispatch_s == pytest.approx((d.dispatched_at - origin).total_seconds(), abs=1e-3)
    assert (
        view.to_dispatch_s is not None and view.to_en_route_s is not None and view.to_on_scene_s is not None
    )
    assert 0 < view.to_dispatch_s <= view.to_en_route_s <= view.to_on_scene_s
    assert kinds(db, incident) == [
        "created", "alert_linked", "alert_linked", "dispatch", "status", "dispatch",
        "unit_status", "unit_status", "status", "unit_status", "unit_status", "status",
    ]  # fmt: skip
    timeline = incident_view(db, incident).timeline
    assert timeline[6].actor == "foot-12" and timeline[6].data["lat"] == 41.9
    assert timeline[-1].message.endswith("last unit closed its dispatch")


def test_field_unit_sees_only_its_own_dispatches(db: Session) -> None:
    unit_a, unit_b = _units(db)
    incident = service.create_incident(db, IncidentCreate(title="Fight", type="public_disorder"), OP)
    da = dispatch_service.dispatch_unit(db, incident, unit_a, None, OP)
    db_ = dispatch_service.dispatch_unit(db, incident, unit_b, None, OP)
    assert [d.id for d in dispatch_service.field_dispatches(db, 10)] == [da.id]
    assert [d.id for d in dispatch_service.field_dispatches(db, 11)] == [db_.id]
    assert dispatch_service.field_dispatches(db, 99) == []  # an account with no unit
    assert dispatch_service.own_dispatch(db, da.id, 10).id == da.id
    with pytest.raises(NotFoundError):
        dispatch_service.own_dispatch(db, db_.id, 10)
    with pytest.raises(NotFoundError):
        dispatch_service.own_dispatch(db, da.id, 99)


def test_closing_an_incident_stands_its_units_down(db: Session) -> None:
    unit_a, _ = _units(db)
    incident = service.create_incident(db, IncidentCreate(title="Bag left", type="suspicious_object"), OP)
    d = dispatch_service.dispatch_unit(db, incident, unit_a, None, OP)
    service.update_incident(db, incident, IncidentUpdate(status="closed"), OP)
    assert d.status == "closed" and d.closed_at is not None
    assert dispatch_service.get_unit(db, unit_a).status == "available"
    assert kinds(db, incident)[-2:] == ["unit_status", "status"]
    with pytest.raises(ConflictError, match="is closed"):
        dispatch_service.dispatch_unit(db, incident, unit_a, None, OP)
    with pytest.raises(ConflictError, match="already closed"):
        dispatch_service.report_status(db, d, FieldStatusUpdate(status="closed"), FIELD_A)
