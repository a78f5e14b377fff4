"""SQLAlchemy models of operations: alert rules, alerts, incidents (checklist, timeline), field units,
dispatches and public reports.

Users live in the accounts tables of another migration branch, so who-did-what is kept as the user id
and the user name at the time (no foreign key): a renamed or deleted account does not rewrite history.
Timestamps of every step are columns, so response times can be computed by plain SQL later.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base, UTCDateTime

ID = Integer  # a user id (users.id of the accounts branch; no foreign key, see above)
NAME = String(128)  # a user name / call sign
CAMERA = String(128)


class AlertRuleRow(Base):
    __tablename__ = "alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    event_kinds: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    labels: Mapped[list[str] | None] = mapped_column(JSON)
    camera_ids: Mapped[list[str] | None] = mapped_column(JSON)
    zone_ids: Mapped[list[str] | None] = mapped_column(JSON)
    line_ids: Mapped[list[str] | None] = mapped_column(JSON)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    cooldown_s: Mapped[float] = mapped_column(Float, nullable=False)
    dedup_by: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_by: Mapped[str] = mapped_column(NAME, nullable=False)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        Index("ix_incidents_status_created_at", "status", "created_at"),
        Index("ix_incidents_camera_id", "camera_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    source: Mapped[str] = mapped_column(String(16), nullable=False)  # manual | alert | report
    camera_id: Mapped[str | None] = mapped_column(CAMERA)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    origin_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)  # first alert / report / now
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by_id: Mapped[int | None] = mapped_column(ID)
    created_by: Mapped[str] = mapped_column(NAME, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (
        Index("ix_alerts_dedup_key_status", "dedup_key", "status"),
        Index("ix_alerts_status_last_seen", "status", "last_seen"),
        Index("ix_alerts_camera_id_last_seen", "camera_id", "last_seen"),
        Index("ix_alerts_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int | None] = mapped_column(ForeignKey("alert_rules.id"))
    rule_name: Mapped[str] = mapped_column(String(128), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    dedup_key: Mapped[str] = mapped_column(String(512), nullable=False)
    title: Mapped[str] = mapped_column(String(256), nullable=False)
    camera_id: Mapped[str | None] = mapped_column(CAMERA)
    zone_id: Mapped[str | None] = mapped_column(String(128))
    line_id: Mapped[str | None] = mapped_column(String(128))
    label: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int | None] = mapped_column(Integer)  # the largest count seen (crowding occupancy)
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False)
    first_event_id: Mapped[str | None] = mapped_column(String(32))
    last_event_id: Mapped[str | None] = mapped_column(String(32))
    snapshot: Mapped[str | None] = mapped_column(String(512))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ID)
    acknowledged_by: Mapped[str | None] = mapped_column(NAME)
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    assigned_by_id: Mapped[int | None] = mapped_column(ID)
    assigned_by: Mapped[str | None] = mapped_column(NAME)
    assignee_id: Mapped[int | None] = mapped_column(ID)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ID)
    closed_by: Mapped[str | None] = mapped_column(NAME)
    close_note: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # critical, not acknowledged in time


class ChecklistItemRow(Base):
    __tablename__ = "incident_checklist"
    __table_args__ = (UniqueConstraint("incident_id", "item_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), nullable=False)
    item_id: Mapped[str] = mapped_column(String(32), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(String(300), nullable=False)
    done: Mapped[bool] = mapped_column(Boolean, nullable=False)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_id: Mapped[int | None] = mapped_column(ID)
    done_by: Mapped[str | None] = mapped_column(NAME)


class TimelineRow(Base):
    """Append-only: entries are inserted, never updated or deleted."""

    __tablename__ = "incident_timeline"
    __table_args__ = (Index("ix_incident_timeline_incident_id_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    actor_id: Mapped[int | None] = mapped_column(ID)
    actor: Mapped[str] = mapped_column(NAME, nullable=False)
    message: Mapped[str] = mapped_column(Text, nullable=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)


class FieldUnitRow(Base):
    __tablename__ = "field_units"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_sign: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    user_id: Mapped[int | None] = mapped_column(ID, unique=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    position_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class DispatchRow(Base):
    __tablename__ = "dispatches"
    __table_args__ = (
        Index("ix_dispatches_unit_id_status", "unit_id", "status"),
        Index("ix_dispatches_incident_id", "incident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), nullable=False)
    unit_id: Mapped[int] = mapped_column(ForeignKey("field_units.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    dispatched_by_id: Mapped[int | None] = mapped_column(ID)
    dispatched_by: Mapped[str] = mapped_column(NAME, nullable=False)
    en_route_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # not acknowledged in time


class PublicReportRow(Base):
    __tablename__ = "public_reports"
    __table_args__ = (Index("ix_public_reports_status_created_at", "status", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    category: Mapped[str] = mapped_column(String(32), nullable=False)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    camera_id: Mapped[str | None] = mapped_column(CAMERA)
    observed_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    photo_key: Mapped[str | None] = mapped_column(String(512))
    contact: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    triaged_by_id: Mapped[int | None] = mapped_column(ID)
    triaged_by: Mapped[str | None] = mapped_column(NAME)
    triage_note: Mapped[str | None] = mapped_column(Text)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"))


class FieldRequestRow(Base):
    """A field-app request already applied, by its idempotency key: a replay (lost answer, offline queue)
    gets the first answer back instead of acting twice."""

    __tablename__ = "field_requests"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ID, nullable=False)
    key: Mapped[str] = mapped_column(String(64), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)  # position | status | message | duty
    response: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False, index=True)
