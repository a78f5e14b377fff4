"""audit_keyed: each audit entry carries an Ed25519 signature of its hash (the key is outside the
database; see governance/audit_keys.py). Entries written before keying keep NULL: the witness's genesis
record vouches for them through the chain.

Revision ID: 0009_audit_keyed
Revises: 0008_runtime
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_audit_keyed"
down_revision: str | None = "0008_runtime"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("audit_log")}
    if "sig" in columns:  # guarded, like 0006: a database may already have it
        return
    op.add_column("audit_log", sa.Column("sig", sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("sig")
