"""API shapes of incidents, their checklists and timelines, and dispatches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from safecity.operations.catalogue import INCIDENT_TYPES
from safecity.operations.domain import DispatchStatus, IncidentStatus, Severity, TimelineKind
from safecity.operations.fields import DbId, Ident, Lat, Lon, Text
from safecity.operations.schemas import Note


def _known_type(value: str | None) -> str | None:
    if value is not None and value not in INCIDENT_TYPES:
        raise ValueError(f"unknown incident type {value!r}; one of {', '.join(INCIDENT_TYPES)}")
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ChecklistStepPublic(BaseModel):
    id: str
    text: str


class IncidentTypePublic(BaseModel):
    id: str
    name: str
    default_priority: Severity
    checklist: list[ChecklistStepPublic]


class IncidentCreate(_In):
    """By hand, or from alerts (`alert_ids`: they are linked and acknowledged)."""

    title: Text | None = Field(None, min_length=1, max_length=200, description="Default: from type/alerts")
    type: str | None = Field(None, description="Incident type id (default: from the alerts, else 'other')")
    priority: Severity | None = Field(None, description="Default: highest alert severity, else the type's")
    description: Note = ""
    camera_id: Ident | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    alert_ids: list[DbId] = Field(default_factory=list, max_length=100)

    _type = field_validator("type")(_known_type)

    @model_validator(mode="after")
    def _pair(self) -> IncidentCreate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        if len(set(self.alert_ids)) != len(self.alert_ids):
            raise ValueError("alert_ids has duplicates")
        return self


class IncidentUpdate(_In):
    title: Text | None = Field(None, min_length=1, max_length=200)
    priority: Severity | None = None
    description: Note | None = None
    status: Literal[IncidentStatus.ON_SCENE, IncidentStatus.RESOLVED, IncidentStatus.CLOSED] | None = Field(
        None, description="dispatched is set by dispatching a unit"
    )
    camera_id: Ident | None = None
    lat: Lat | None = None
    lon: Lon | None = None
    alert_ids: list[DbId] = Field(default_factory=list, max_length=100, description="More alerts to link")

    @model_validator(mode="after")
    def _pair(self) -> IncidentUpdate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon (null both to clear the position), or neither")
        nulled = sorted(n for n in ("title", "priority", "description") if n in self.model_fields_set
                        and getattr(self, n) is None)  # fmt: skip
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null (leave it out to keep it)")
        return self


class NoteCreate(_In):
    text: Text = Field(..., min_length=1, max_length=4000)


class ChecklistUpdate(_In):
    done: bool


class DispatchCreate(_In):
    unit_id: DbId
    note: Text | None = Field(None, max_length=2000, description="Instructions for the unit")


class FieldStatusUpdate(_In):
    status: Literal[DispatchStatus.EN_ROUTE, DispatchStatus.ON_SCENE, DispatchStatus.CLOSED]
    lat: Lat | None = None
    lon: Lon | None = None
    note: Text | None = Field(None, max_length=2000)

    @model_validator(mode="after")
    def _pair(self) -> FieldStatusUpdate:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("give both lat and lon, or neither")
        return self


class ChecklistItemPublic(_Out):
    item_id: str
    text: str
    done: bool
    done_at: datetime | None
    done_by: str | None


class TimelineEntryPublic(_Out):
    id: int
    at: datetime
    kind: TimelineKind
    actor: str
    message: str
    data: dict[str, Any]


class DispatchPublic(BaseModel):
    id: int
    incident_id: int
    unit_id: int
    call_sign: str
    status: DispatchStatus
    note: str | None
    dispatched_at: datetime
    dispatched_by: str
    en_route_at: datetime | None
    on_scene_at: datetime | None
    closed_at: datetime | None
    to_dispatch_s: float | None = Field(description="Seconds from the incident's origin to dispatch")
    to_en_route_s: float | None = Field(description="Seconds from the incident's origin to en route")
    to_on_scene_s: float | None = Field(description="Seconds from the incident's origin to on scene")


class IncidentSummary(_Out):
    id: int
    title: str
    type: str
    priority: Severity
    status: IncidentStatus
    source: str
    description: str
    camera_id: str | None
    lat: float | None
    lon: float | None
    origin_at: datetime = Field(description="First alert seen / report received / created")
    created_at: datetime
    created_by: str
    updated_at: datetime
    dispatched_at: datetime | None
    on_scene_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


class IncidentPublic(IncidentSummary):
    alert_ids: list[int]
    report_ids: list[int]
    checklist: list[ChecklistItemPublic]
    timeline: list[TimelineEntryPublic]
    dispatches: list[DispatchPublic]


class IncidentPage(BaseModel):
    items: list[IncidentSummary]
    total: int
    limit: int
    offset: int


class FieldDispatchPublic(DispatchPublic):
    """A unit's own dispatch, with what it needs to know about the incident."""

    incident: IncidentSummary
