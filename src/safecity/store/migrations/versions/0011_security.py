"""security: API token scopes; TOTP second factor and hashed recovery codes; session stages.

Revision ID: 0011_security
Revises: 0009_audit_keyed
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_security"
down_revision: str | None = "0009_audit_keyed"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as t:
        t.add_column(sa.Column("scopes", sa.JSON(), nullable=True))
    with op.batch_alter_table("users") as t:
        t.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        t.add_column(sa.Column("totp_enabled_at", TZ, nullable=True))
        t.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("sessions") as t:
        t.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=255), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_recovery_codes_user_id", "recovery_codes", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_recovery_codes_user_id", table_name="recovery_codes")
    op.drop_table("recovery_codes")
    with op.batch_alter_table("sessions") as t:
        t.drop_column("stage")
    with op.batch_alter_table("users") as t:
        t.drop_column("totp_last_step")
        t.drop_column("totp_enabled_at")
        t.drop_column("totp_secret")
    with op.batch_alter_table("api_tokens") as t:
        t.drop_column("scopes")
