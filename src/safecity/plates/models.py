"""The `plate_reads` table (migration 0016_plates): one row per vehicle track whose plate was read.

The plate text lives only here, never in the append-only `events` table: retention deletes a non-hit
read (row and crop) after `plates.non_hit_retention_hours`, and nothing else keeps it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base, UTCDateTime

PLATE_READS_TABLE = "plate_reads"
CROPS_PREFIX = "plates"  # plate crops in media storage: plates/<camera>/<read id>.jpg


class PlateReadRow(Base):
    __tablename__ = PLATE_READS_TABLE
    __table_args__ = (
        Index("ix_plate_reads_plate", "plate"),
        Index("ix_plate_reads_seen_at", "seen_at"),
        Index("ix_plate_reads_camera_id_seen_at", "camera_id", "seen_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(32), nullable=False)  # its `plate_read` event
    camera_id: Mapped[str] = mapped_column(String(128), nullable=False)
    track_id: Mapped[int] = mapped_column(Integer, nullable=False)
    plate: Mapped[str] = mapped_column(String(16), nullable=False)  # normalized: A-Z0-9 only
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    country: Mapped[str] = mapped_column(String(16), nullable=False)
    direction: Mapped[str] = mapped_column(String(16), nullable=False)
    crop: Mapped[str | None] = mapped_column(String(512))  # media key under `plates/`
    hit: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)  # on a hotlist: kept longer
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
