"""SQLAlchemy 2 models of the event store.

Portable on purpose: the same models (and the same Alembic migrations) serve SQLite, the embedded
default, and PostgreSQL, the scale-out store. So `kind` is a plain string column (not a native ENUM:
a new `EventKind` must not need an `ALTER TYPE`), and times go through `UTCDateTime`, which stores
timezone-aware UTC on PostgreSQL (`timestamptz`) and naive UTC text on SQLite, and always hands back
aware UTC datetimes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, Index, Integer, MetaData, String
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

EVENTS_TABLE = "events"

# Named constraints, so later migrations can drop or alter them by name on every dialect.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A datetime column that only accepts aware datetimes and always returns aware UTC ones."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only accepts timezone-aware datetimes")
        value = value.astimezone(UTC)
        # SQLite has no time zone type; naive UTC text keeps string order == time order.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every safecity table; `Base.metadata` is Alembic's target."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class EventRow(Base):
    """One row per `safecity.types.Event`. Append-only: rows are inserted, never updated."""

    __tablename__ = EVENTS_TABLE
    __table_args__ = (
        Index("ix_events_camera_id_start", "camera_id", "start"),
        Index("ix_events_kind_start", "kind", "start"),
        Index("ix_events_start", "start"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    schema_version: Mapped[int] = mapped_column(Integer, nullable=False)
    camera_id: Mapped[str] = mapped_column(String(128), nullable=False)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    label: Mapped[str | None] = mapped_column(String(64))
    track_id: Mapped[int | None] = mapped_column(Integer)
    line_id: Mapped[str | None] = mapped_column(String(128))
    zone_id: Mapped[str | None] = mapped_column(String(128))
    direction: Mapped[str | None] = mapped_column(String(32))
    count: Mapped[int | None] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    snapshot: Mapped[str | None] = mapped_column(String(512))
    grid: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # OccupancyGrid.to_dict() (0005_analytics)
    value: Mapped[float | None] = mapped_column(Float)  # a measurement, e.g. km/h of `speed` (0015_traffic)
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
