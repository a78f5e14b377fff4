"""analytics: the occupancy grid of `occupancy` events (events.grid, JSON, nullable).

Revision ID: 0005_analytics
Revises: 0004_media
Create Date: 2025-01-05 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_analytics"
down_revision: str | None = "0004_media"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a nullable column: no table rewrite, existing rows read as "no grid" (SQLite and PostgreSQL alike)
    op.add_column("events", sa.Column("grid", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("grid")
