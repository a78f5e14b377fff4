"""field: idempotency keys of field-app requests; escalation stamps of dispatches and alerts.

Revision ID: 0013_field
Revises: 0011_security
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_field"
down_revision: str | None = "0011_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "field_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("response", sa.JSON(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key"),
    )
    op.create_index("ix_field_requests_created_at", "field_requests", ["created_at"])
    with op.batch_alter_table("dispatches") as batch:
        batch.add_column(sa.Column("escalated_at", TZ, nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("escalated_at", TZ, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("escalated_at")
    with op.batch_alter_table("dispatches") as batch:
        batch.drop_column("escalated_at")
    op.drop_index("ix_field_requests_created_at", table_name="field_requests")
    op.drop_table("field_requests")
