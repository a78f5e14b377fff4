"""plates: the `plate_reads` table (plate text, confidence, country, direction, crop key of one read).

Revision ID: 0016_plates
Revises: 0015_traffic
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_plates"
down_revision: str | None = "0015_traffic"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plate_reads",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("event_id", sa.String(32), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("country", sa.String(16), nullable=False),
        sa.Column("direction", sa.String(16), nullable=False),
        sa.Column("crop", sa.String(512), nullable=True),
        sa.Column("hit", sa.Boolean(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_plate_reads_plate", "plate_reads", ["plate"])
    op.create_index("ix_plate_reads_seen_at", "plate_reads", ["seen_at"])
    op.create_index("ix_plate_reads_camera_id_seen_at", "plate_reads", ["camera_id", "seen_at"])


def downgrade() -> None:
    op.drop_table("plate_reads")
