"""events: the append-only event table.

Revision ID: 0001_events
Revises:
Create Date: 2025-01-01 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_events"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("schema_version", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("line_id", sa.String(length=128), nullable=True),
        sa.Column("zone_id", sa.String(length=128), nullable=True),
        sa.Column("direction", sa.String(length=32), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("snapshot", sa.String(length=512), nullable=True),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_camera_id_start", "events", ["camera_id", "start"])
    op.create_index("ix_events_kind_start", "events", ["kind", "start"])
    op.create_index("ix_events_start", "events", ["start"])


def downgrade() -> None:
    op.drop_index("ix_events_start", table_name="events")
    op.drop_index("ix_events_kind_start", table_name="events")
    op.drop_index("ix_events_camera_id_start", table_name="events")
    op.drop_table("events")
