"""Tables of federation. A national site fills the `fed_*` summary tables from its cities' streams;
a city keeps its sync cursors, the handoffs it sent or received and the media requests it answered.
Every summary row is keyed by (site, id at that site): a city's numbering never collides with another's.
`fed_messages` is the ledger of every message ingested (its id is the JetStream de-duplication id), which
is what makes "every message exactly once" checkable and gives the propagation lag.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base, UTCDateTime

SITE = String(32)
SHORT = String(128)


class FedMessageRow(Base):
    __tablename__ = "fed_messages"
    __table_args__ = (Index("ix_fed_messages_site_seq", "site", "stream_seq"),)

    msg_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    site: Mapped[str] = mapped_column(SITE, nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    stream_seq: Mapped[int] = mapped_column(Integer, nullable=False)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class FedSiteRow(Base):
    __tablename__ = "fed_sites"

    site: Mapped[str] = mapped_column(SITE, primary_key=True)
    name: Mapped[str] = mapped_column(SHORT, nullable=False)
    level: Mapped[str] = mapped_column(String(16), nullable=False)
    parent: Mapped[str | None] = mapped_column(SITE)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    ui_url: Mapped[str | None] = mapped_column(String(300))
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class FedCameraRow(Base):
    __tablename__ = "fed_cameras"

    site: Mapped[str] = mapped_column(SITE, primary_key=True)
    camera_id: Mapped[str] = mapped_column(SHORT, primary_key=True)
    status: Mapped[str] = mapped_column(SHORT, nullable=False)
    fps: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class FedEventRow(Base):
    __tablename__ = "fed_events"
    __table_args__ = (Index("ix_fed_events_site_at", "site", "at"),)

    site: Mapped[str] = mapped_column(SITE, primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_kind: Mapped[str] = mapped_column(SHORT, nullable=False)
    camera_id: Mapped[str] = mapped_column(SHORT, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    label: Mapped[str | None] = mapped_column(SHORT)
    zone_id: Mapped[str | None] = mapped_column(SHORT)
    line_id: Mapped[str | None] = mapped_column(SHORT)
    direction: Mapped[str | None] = mapped_column(SHORT)
    count: Mapped[int | None] = mapped_column(Integer)


class FedAlertRow(Base):
    __tablename__ = "fed_alerts"
    __table_args__ = (Index("ix_fed_alerts_status_last_seen", "status", "last_seen"),)

    site: Mapped[str] = mapped_column(SITE, primary_key=True)
    alert_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    alert_kind: Mapped[str] = mapped_column(SHORT, nullable=False)
    severity: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    title: Mapped[str] = mapped_column(String(256), nullable=False)
    camera_id: Mapped[str | None] = mapped_column(SHORT)
    zone_id: Mapped[str | None] = mapped_column(SHORT)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int | None] = mapped_column(Integer)
    occurrences: Mapped[int] = mapped_column(Integer, nullable=False)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FedIncidentRow(Base):
    __tablename__ = "fed_incidents"

    site: Mapped[str] = mapped_column(SITE, primary_key=True)
    incident_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    camera_id: Mapped[str | None] = mapped_column(SHORT)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    origin_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    on_scene_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FedAggregateRow(Base):
    __tablename__ = "fed_aggregates"

    site: Mapped[str] = mapped_column(SITE, primary_key=True)
    hour: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    metric: Mapped[str] = mapped_column(String(32), primary_key=True)
    key: Mapped[str] = mapped_column(SHORT, primary_key=True)
    value: Mapped[float] = mapped_column(Float, nullable=False)


class FedHandoffRow(Base):
    """A handoff as this site knows it (national: every one; a city: those it sent or received)."""

    __tablename__ = "fed_handoffs"

    handoff_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    from_site: Mapped[str] = mapped_column(SITE, nullable=False)
    to_site: Mapped[str] = mapped_column(SITE, nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False)
    incident_id: Mapped[int] = mapped_column(Integer, nullable=False)
    remote_incident_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200), nullable=False)
    type: Mapped[str] = mapped_column(String(32), nullable=False)
    priority: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(SHORT, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    answered_by: Mapped[str | None] = mapped_column(SHORT)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class FedMediaRequestRow(Base):
    __tablename__ = "fed_media_requests"

    request_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(SITE, nullable=False)
    incident_id: Mapped[int] = mapped_column(Integer, nullable=False)
    media: Mapped[str] = mapped_column(String(16), nullable=False)
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    requested_by: Mapped[str] = mapped_column(SHORT, nullable=False)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # pending | approved | refused
    decided_by: Mapped[str | None] = mapped_column(SHORT)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    redacted_url: Mapped[str | None] = mapped_column(String(300))


class FedCursorRow(Base):
    """City: how far each kind of record has been published (resumes after a restart)."""

    __tablename__ = "fed_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
