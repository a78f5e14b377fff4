"""data center: recording segments, clips, evidence locks.

Revision ID: 0004_media
Revises: 0003_operations
Create Date: 2025-01-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_media"
down_revision: str | None = "0003_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _segments() -> None:
    op.create_table(
        "recording_segments",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("transcoded", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_recording_segments"),
    )
    op.create_index("ix_recording_segments_camera_id_start", "recording_segments", ["camera_id", "start"])
    op.create_index("ix_recording_segments_start", "recording_segments", ["start"])
    op.create_index("ix_recording_segments_key", "recording_segments", ["key"], unique=True)


def _clips() -> None:
    op.create_table(
        "media_clips",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("redacted", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_media_clips"),
    )
    op.create_index("ix_media_clips_camera_id_start", "media_clips", ["camera_id", "start"])
    op.create_index("ix_media_clips_event_id", "media_clips", ["event_id"])
    op.create_index("ix_media_clips_start", "media_clips", ["start"])


def _locks() -> None:
    op.create_table(
        "evidence_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("case_ref", sa.String(length=128), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by", sa.String(length=128), nullable=True),
        sa.Column("release_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_locks"),
    )
    op.create_index("ix_evidence_locks_expires_at", "evidence_locks", ["expires_at"])
    op.create_table(
        "evidence_lock_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lock_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=True),
        sa.Column("camera_id", sa.String(length=128), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["lock_id"], ["evidence_locks.id"], name="fk_evidence_lock_items_lock_id_evidence_locks"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_lock_items"),
    )
    op.create_index("ix_evidence_lock_items_lock_id", "evidence_lock_items", ["lock_id"])


def upgrade() -> None:
    _segments()
    _clips()
    _locks()


def downgrade() -> None:
    op.drop_index("ix_evidence_lock_items_lock_id", table_name="evidence_lock_items")
    op.drop_table("evidence_lock_items")
    op.drop_index("ix_evidence_locks_expires_at", table_name="evidence_locks")
    op.drop_table("evidence_locks")
    op.drop_index("ix_media_clips_start", table_name="media_clips")
    op.drop_index("ix_media_clips_event_id", table_name="media_clips")
    op.drop_index("ix_media_clips_camera_id_start", table_name="media_clips")
    op.drop_table("media_clips")
    op.drop_index("ix_recording_segments_key", table_name="recording_segments")
    op.drop_index("ix_recording_segments_start", table_name="recording_segments")
    op.drop_index("ix_recording_segments_camera_id_start", table_name="recording_segments")
    op.drop_table("recording_segments")
