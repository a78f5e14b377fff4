"""hotlists: vehicle hotlists under an authorization (scope `vehicles`), their entries, plate hits and the
hits' two-person reviews; `bio_authorizations.scope` (faces | vehicles).

Revision ID: 0017_hotlists
Revises: 0016_plates
Create Date: 2026-12-04 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_hotlists"
down_revision: str | None = "0016_plates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)
NAME = sa.String(128)


def upgrade() -> None:
    with op.batch_alter_table("bio_authorizations") as batch:
        batch.add_column(sa.Column("scope", sa.String(16), nullable=False, server_default="faces"))
    op.create_table(
        "hotlists",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False, unique=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.Column("fuzzy", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("authorization_id", sa.Integer(), sa.ForeignKey("bio_authorizations.id")),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("created_by", NAME, nullable=False),
        sa.Column("activated_at", TS),
        sa.Column("activated_by", NAME),
        sa.Column("stopped_at", TS),
        sa.Column("stopped_by", NAME),
        sa.Column("stop_reason", sa.Text()),
    )
    op.create_index("ix_hotlists_status", "hotlists", ["status"])
    op.create_table(
        "hotlist_entries",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hotlist_id", sa.Integer(), sa.ForeignKey("hotlists.id"), nullable=False),
        sa.Column("plate", sa.String(16), nullable=False),
        sa.Column("label", sa.String(200), nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("added_at", TS, nullable=False),
        sa.Column("added_by", NAME, nullable=False),
        sa.Column("removed_at", TS),
        sa.Column("removed_by", NAME),
        sa.Column("remove_reason", sa.Text()),
    )
    op.create_index("ix_hotlist_entries_hotlist_id", "hotlist_entries", ["hotlist_id"])
    op.create_index("ix_hotlist_entries_plate", "hotlist_entries", ["plate"])
    op.create_table(
        "plate_hits",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("read_id", sa.String(32)),
        sa.Column("hotlist_id", sa.Integer(), sa.ForeignKey("hotlists.id"), nullable=False),
        sa.Column("entry_id", sa.Integer(), sa.ForeignKey("hotlist_entries.id"), nullable=False),
        sa.Column("camera_id", sa.String(128), nullable=False),
        sa.Column("track_id", sa.Integer()),
        sa.Column("seen_at", TS, nullable=False),
        sa.Column("plate", sa.String(16)),
        sa.Column("listed", sa.String(16), nullable=False),
        sa.Column("fuzzy", sa.Boolean(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("crop_key", sa.String(512)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("acted_at", TS),
        sa.Column("acted_by", NAME),
        sa.Column("act_note", sa.Text()),
    )
    op.create_index("ix_plate_hits_status_seen_at", "plate_hits", ["status", "seen_at"])
    op.create_index("ix_plate_hits_hotlist_id", "plate_hits", ["hotlist_id"])
    op.create_table(
        "plate_hit_reviews",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("hit_id", sa.Integer(), sa.ForeignKey("plate_hits.id"), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", NAME, nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.UniqueConstraint("hit_id", "user_id"),
    )


def downgrade() -> None:
    op.drop_table("plate_hit_reviews")
    op.drop_table("plate_hits")
    op.drop_table("hotlist_entries")
    op.drop_table("hotlists")
    with op.batch_alter_table("bio_authorizations") as batch:
        batch.drop_column("scope")
