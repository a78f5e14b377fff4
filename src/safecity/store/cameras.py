"""The cameras table: the run-time source of truth for cameras once `safecity serve` has started.

Same fields as `CameraConfig`; lines, zones and classes are JSON validated by the very same pydantic
models on the way in and out (`to_config` rebuilds a `CameraConfig`, so a row that no longer validates is
reported, never half-used). The settings file seeds the table: `seed_cameras` inserts the file's cameras
that the table does not have, and never overwrites a row an operator has edited.

Repository functions take an explicit ORM `Session`; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import JSON, Boolean, Float, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from safecity.config.models import CameraConfig
from safecity.store.models import Base, UTCDateTime

_CONFIG_FIELDS = ("id", "name", "source", "lat", "lon", "fps", "loop", "enabled", "classes", "lines", "zones")


class CameraRow(Base):
    __tablename__ = "cameras"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), nullable=False)
    source: Mapped[str] = mapped_column(String(2048), nullable=False)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    fps: Mapped[float | None] = mapped_column(Float)
    loop: Mapped[bool] = mapped_column(Boolean, nullable=False)
    enabled: Mapped[bool] = mapped_column(Boolean, nullable=False)
    classes: Mapped[list[str] | None] = mapped_column(JSON)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    zones: Mapped[list[dict[str, Any]]] = mapped_column(JSON, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class CameraRowInvalid(ValueError):
    """A stored camera that no longer validates (e.g. written by a newer version)."""


def to_config(row: CameraRow) -> CameraConfig:
    data = {name: getattr(row, name) for name in _CONFIG_FIELDS}
    try:
        return CameraConfig.model_validate(data)
    except ValidationError as exc:
        raise CameraRowInvalid(f"camera {row.id}: stored configuration is invalid: {exc}") from exc


def _values(cfg: CameraConfig) -> dict[str, Any]:
    dumped = cfg.model_dump(mode="json")
    return {name: dumped[name] for name in _CONFIG_FIELDS}


def get_camera(db: Session, camera_id: str) -> CameraRow | None:
    return db.get(CameraRow, camera_id)


def list_cameras(db: Session, ids: Iterable[str] | None = None) -> list[CameraRow]:
    """Every camera (or those in `ids`), by id."""
    stmt = select(CameraRow).order_by(CameraRow.id)
    if ids is not None:
        stmt = stmt.where(CameraRow.id.in_(list(ids)))
    return list(db.scalars(stmt))


def insert_camera(db: Session, cfg: CameraConfig) -> CameraRow:
    now = datetime.now(UTC)
    row = CameraRow(**_values(cfg), created_at=now, updated_at=now)
    db.add(row)
    db.flush()
    return row


def update_camera(db: Session, row: CameraRow, cfg: CameraConfig) -> CameraRow:
    if cfg.id != row.id:
        raise ValueError("a camera's id cannot change")
    for name, value in _values(cfg).items():
        setattr(row, name, value)
    row.updated_at = datetime.now(UTC)
    db.flush()
    return row


def seed_cameras(db: Session, cameras: Iterable[CameraConfig]) -> list[str]:
    """Insert the cameras of the settings file that the table does not have; return their ids."""
    existing = set(db.scalars(select(CameraRow.id)))
    added = []
    for cfg in cameras:
        if cfg.id not in existing:
            insert_camera(db, cfg)
            added.append(cfg.id)
    return added
