"""biometrics: authorizations, watchlists, entries, threshold changes, matches, reviews, searches.

Revision ID: 0007_biometrics
Revises: 0006_audit
Create Date: 2025-01-06 00:00:00+00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_biometrics"
down_revision: str | None = "0006_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)
NAME = sa.String(length=128)


def _authorizations() -> None:
    op.create_table(
        "bio_authorizations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=200), nullable=False),
        sa.Column("reference", sa.String(length=128), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.Column("starts_at", TZ, nullable=False),
        sa.Column("ends_at", TZ, nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by", NAME, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
        sa.Column("revoked_by", NAME, nullable=True),
        sa.Column("revoke_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_bio_authorizations"),
    )
    op.create_index("ix_bio_authorizations_ends_at", "bio_authorizations", ["ends_at"])


def _watchlists() -> None:
    op.create_table(
        "bio_watchlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=True),
        sa.Column("urgent_justification", sa.Text(), nullable=True),
        sa.Column("urgent_started_at", TZ, nullable=True),
        sa.Column("urgent_started_by", NAME, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", NAME, nullable=False),
        sa.Column("changed_at", TZ, nullable=False),
        sa.Column("changed_by", NAME, nullable=False),
        sa.Column("reviewed_at", TZ, nullable=True),
        sa.Column("reviewed_by", NAME, nullable=True),
        sa.Column("activated_at", TZ, nullable=True),
        sa.Column("activated_by", NAME, nullable=True),
        sa.Column("stopped_at", TZ, nullable=True),
        sa.Column("stopped_by", NAME, nullable=True),
        sa.Column("stop_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["bio_authorizations.id"],
            name="fk_bio_watchlists_authorization_id_bio_authorizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bio_watchlists"),
        sa.UniqueConstraint("name", name="uq_bio_watchlists_name"),
    )
    op.create_index("ix_bio_watchlists_status", "bio_watchlists", ["status"])


def _entries() -> None:
    op.create_table(
        "bio_watchlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("source_registry", sa.String(length=64), nullable=True),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("template", sa.LargeBinary(), nullable=True),
        sa.Column("added_at", TZ, nullable=False),
        sa.Column("added_by", NAME, nullable=False),
        sa.Column("removed_at", TZ, nullable=True),
        sa.Column("removed_by", NAME, nullable=True),
        sa.Column("remove_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["bio_watchlists.id"],
            name="fk_bio_watchlist_entries_watchlist_id_bio_watchlists",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bio_watchlist_entries"),
    )
    op.create_index("ix_bio_watchlist_entries_watchlist_id", "bio_watchlist_entries", ["watchlist_id"])


def _thresholds() -> None:
    op.create_table(
        "bio_threshold_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("previous", sa.Float(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        sa.Column("requested_by", NAME, nullable=False),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", NAME, nullable=True),
        sa.ForeignKeyConstraint(
            ["watchlist_id"],
            ["bio_watchlists.id"],
            name="fk_bio_threshold_changes_watchlist_id_bio_watchlists",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bio_threshold_changes"),
    )
    op.create_index("ix_bio_threshold_changes_watchlist_id", "bio_threshold_changes", ["watchlist_id"])


def _matches() -> None:
    op.create_table(
        "bio_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("watchlist_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("track_id", sa.Integer(), nullable=True),
        sa.Column("seen_at", TZ, nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("crop_key", sa.String(length=512), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("acted_at", TZ, nullable=True),
        sa.Column("acted_by", NAME, nullable=True),
        sa.Column("act_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["bio_watchlist_entries.id"], name="fk_bio_matches_entry_id_bio_watchlist_entries"
        ),
        sa.ForeignKeyConstraint(
            ["watchlist_id"], ["bio_watchlists.id"], name="fk_bio_matches_watchlist_id_bio_watchlists"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bio_matches"),
    )
    op.create_index("ix_bio_matches_status_seen_at", "bio_matches", ["status", "seen_at"])
    op.create_index("ix_bio_matches_watchlist_id", "bio_matches", ["watchlist_id"])
    op.create_table(
        "bio_match_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("match_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", NAME, nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.ForeignKeyConstraint(
            ["match_id"], ["bio_matches.id"], name="fk_bio_match_reviews_match_id_bio_matches"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bio_match_reviews"),
        sa.UniqueConstraint("match_id", "user_id", name="uq_bio_match_reviews_match_id_user_id"),
    )


def _searches() -> None:
    op.create_table(
        "bio_searches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("authorization_id", sa.Integer(), nullable=False),
        sa.Column("cameras", sa.JSON(), nullable=False),
        sa.Column("start", TZ, nullable=False),
        sa.Column("end", TZ, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("requested_by", NAME, nullable=False),
        sa.Column("snapshots_scanned", sa.Integer(), nullable=False),
        sa.Column("faces_compared", sa.Integer(), nullable=False),
        sa.Column("hits", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["authorization_id"],
            ["bio_authorizations.id"],
            name="fk_bio_searches_authorization_id_bio_authorizations",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bio_searches"),
    )


def upgrade() -> None:
    _authorizations()
    _watchlists()
    _entries()
    _thresholds()
    _matches()
    _searches()


def downgrade() -> None:
    op.drop_table("bio_searches")
    op.drop_table("bio_match_reviews")
    op.drop_index("ix_bio_matches_watchlist_id", table_name="bio_matches")
    op.drop_index("ix_bio_matches_status_seen_at", table_name="bio_matches")
    op.drop_table("bio_matches")
    op.drop_index("ix_bio_threshold_changes_watchlist_id", table_name="bio_threshold_changes")
    op.drop_table("bio_threshold_changes")
    op.drop_index("ix_bio_watchlist_entries_watchlist_id", table_name="bio_watchlist_entries")
    op.drop_table("bio_watchlist_entries")
    op.drop_index("ix_bio_watchlists_status", table_name="bio_watchlists")
    op.drop_table("bio_watchlists")
    op.drop_index("ix_bio_authorizations_ends_at", table_name="bio_authorizations")
    op.drop_table("bio_authorizations")
