"""traffic: a measurement per event (events.value, float, nullable): km/h of `speed` events.

Revision ID: 0015_traffic
Revises: 0014_federation
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015_traffic"
down_revision: str | None = "0014_federation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: no table rewrite; earlier events read as "no measurement"
    op.add_column("events", sa.Column("value", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_column("value")
