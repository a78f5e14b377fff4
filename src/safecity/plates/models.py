"""The `plate_reads` table (migration 0016_plates): one row per vehicle track whose plate was read; vehicle
hotlists, their entries, hits and the hits' reviews (migration 0017_hotlists).

The plate text lives only here, never in the append-only `events` table: retention deletes a non-hit
read (row and crop) after `plates.non_hit_retention_hours`, and nothing else keeps it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

import safecity.biometrics.models  # noqa: F401  (bio_authorizations, which hotlists reference)
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


# --- vehicle hotlists (migration 0017_hotlists): under an authorization of scope `vehicles` -------------

NAME = String(128)


class HotlistRow(Base):
    __tablename__ = "hotlists"
    __table_args__ = (Index("ix_hotlists_status", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), nullable=False, unique=True)
    description: Mapped[str] = mapped_column(Text, nullable=False)
    cameras: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    fuzzy: Mapped[bool] = mapped_column(Boolean, nullable=False)  # also raise look-alike reads (flagged)
    status: Mapped[str] = mapped_column(String(16), nullable=False)  # draft | active | stopped
    authorization_id: Mapped[int | None] = mapped_column(ForeignKey("bio_authorizations.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    created_by: Mapped[str] = mapped_column(NAME, nullable=False)
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    activated_by: Mapped[str | None] = mapped_column(NAME)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_by: Mapped[str | None] = mapped_column(NAME)
    stop_reason: Mapped[str | None] = mapped_column(Text)


class HotlistEntryRow(Base):
    __tablename__ = "hotlist_entries"
    __table_args__ = (
        Index("ix_hotlist_entries_hotlist_id", "hotlist_id"),
        Index("ix_hotlist_entries_plate", "plate"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hotlist_id: Mapped[int] = mapped_column(ForeignKey("hotlists.id"), nullable=False)
    plate: Mapped[str] = mapped_column(String(16), nullable=False)  # normalized: A-Z0-9 only
    label: Mapped[str] = mapped_column(String(200), nullable=False)  # why listed: "stolen 2026-12-01"
    source: Mapped[str] = mapped_column(String(300), nullable=False)  # report / case it comes from
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    added_by: Mapped[str] = mapped_column(NAME, nullable=False)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_by: Mapped[str | None] = mapped_column(NAME)
    remove_reason: Mapped[str | None] = mapped_column(Text)


class PlateHitRow(Base):
    """A read that matched a hotlist entry: pending until two different people confirmed it against the
    plate crop. The read text and crop are forgotten if it is rejected (the read is then a non-hit)."""

    __tablename__ = "plate_hits"
    __table_args__ = (
        Index("ix_plate_hits_status_seen_at", "status", "seen_at"),
        Index("ix_plate_hits_hotlist_id", "hotlist_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    read_id: Mapped[str | None] = mapped_column(String(32))  # plate_reads.id (no FK: retention owns reads)
    hotlist_id: Mapped[int] = mapped_column(ForeignKey("hotlists.id"), nullable=False)
    entry_id: Mapped[int] = mapped_column(ForeignKey("hotlist_entries.id"), nullable=False)
    camera_id: Mapped[str] = mapped_column(String(128), nullable=False)
    track_id: Mapped[int | None] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    plate: Mapped[str | None] = mapped_column(String(16))  # the read text; None once rejected
    listed: Mapped[str] = mapped_column(String(16), nullable=False)  # the entry's plate
    fuzzy: Mapped[bool] = mapped_column(Boolean, nullable=False)  # look-alike, not exact
    confidence: Mapped[float] = mapped_column(Float, nullable=False)
    crop_key: Mapped[str | None] = mapped_column(String(512))  # the read's crop under `plates/`
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    acted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acted_by: Mapped[str | None] = mapped_column(NAME)
    act_note: Mapped[str | None] = mapped_column(Text)


class PlateHitReviewRow(Base):
    __tablename__ = "plate_hit_reviews"
    __table_args__ = (UniqueConstraint("hit_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hit_id: Mapped[int] = mapped_column(ForeignKey("plate_hits.id"), nullable=False)
    user_id: Mapped[int] = mapped_column(Integer, nullable=False)
    username: Mapped[str] = mapped_column(NAME, nullable=False)
    decision: Mapped[str] = mapped_column(String(16), nullable=False)  # confirm | reject
    note: Mapped[str] = mapped_column(Text, nullable=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
