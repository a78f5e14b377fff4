"""Index of recordings (one row per MP4 segment) and of clips cut from them.

A segment row is written only once its file is finalized and stored (see `recording.recorder`), so the
index never points at half a file. `status`: `complete` (closed normally), `salvaged` (recovered after
a crash: valid up to its last whole fragment), `missing` (the row outlived its file; found by reconcile).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from safecity.store.models import Base, UTCDateTime


class SegmentStatus(enum.StrEnum):
    COMPLETE = "complete"
    SALVAGED = "salvaged"
    MISSING = "missing"


class SegmentRow(Base):
    __tablename__ = "recording_segments"
    __table_args__ = (
        Index("ix_recording_segments_camera_id_start", "camera_id", "start"),
        Index("ix_recording_segments_start", "start"),
        Index("ix_recording_segments_key", "key", unique=True),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(128), nullable=False)
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    key: Mapped[str] = mapped_column(String(512), nullable=False)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    codec: Mapped[str] = mapped_column(String(32), nullable=False)
    width: Mapped[int] = mapped_column(Integer, nullable=False)
    height: Mapped[int] = mapped_column(Integer, nullable=False)
    transcoded: Mapped[bool] = mapped_column(Boolean, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)


class ClipRow(Base):
    __tablename__ = "media_clips"
    __table_args__ = (
        Index("ix_media_clips_camera_id_start", "camera_id", "start"),
        Index("ix_media_clips_event_id", "event_id"),
        Index("ix_media_clips_start", "start"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(128), nullable=False)
    event_id: Mapped[str | None] = mapped_column(String(32))
    start: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    end: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    key: Mapped[str] = mapped_column(String(512), nullable=False)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    reason: Mapped[str] = mapped_column(String(32), nullable=False)  # event | request | export
    redacted: Mapped[bool] = mapped_column(Boolean, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
