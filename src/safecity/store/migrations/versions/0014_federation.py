"""federation: national summaries (fed_*), handoffs, media requests, city sync cursors.

Revision ID: 0014_federation
Revises: 0013_field
Create Date: 2026-12-04 13:39:41.298833
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_federation"
down_revision: str | None = "0013_field"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "fed_aggregates",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("hour", TZ, nullable=False),
        sa.Column("metric", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("site", "hour", "metric", "key", name=op.f("pk_fed_aggregates")),
    )
    op.create_table(
        "fed_alerts",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("alert_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("alert_kind", sa.String(length=128), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=True),
        sa.Column("zone_id", sa.String(length=128), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("first_seen", TZ, nullable=False),
        sa.Column("last_seen", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("site", "alert_id", name=op.f("pk_fed_alerts")),
    )
    with op.batch_alter_table("fed_alerts", schema=None) as batch_op:
        batch_op.create_index("ix_fed_alerts_status_last_seen", ["status", "last_seen"], unique=False)

    op.create_table(
        "fed_cameras",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=128), nullable=False),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("updated_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("site", "camera_id", name=op.f("pk_fed_cameras")),
    )
    op.create_table(
        "fed_cursors",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_fed_cursors")),
    )
    op.create_table(
        "fed_events",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("event_kind", sa.String(length=128), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("label", sa.String(length=128), nullable=True),
        sa.Column("zone_id", sa.String(length=128), nullable=True),
        sa.Column("line_id", sa.String(length=128), nullable=True),
        sa.Column("direction", sa.String(length=128), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("site", "event_id", name=op.f("pk_fed_events")),
    )
    with op.batch_alter_table("fed_events", schema=None) as batch_op:
        batch_op.create_index("ix_fed_events_site_at", ["site", "at"], unique=False)

    op.create_table(
        "fed_handoffs",
        sa.Column("handoff_id", sa.String(length=64), nullable=False),
        sa.Column("from_site", sa.String(length=32), nullable=False),
        sa.Column("to_site", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("remote_incident_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("answered_by", sa.String(length=128), nullable=True),
        sa.Column("answered_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("handoff_id", name=op.f("pk_fed_handoffs")),
    )
    op.create_table(
        "fed_incidents",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("camera_id", sa.String(length=128), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("origin_at", TZ, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("dispatched_at", TZ, nullable=True),
        sa.Column("on_scene_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("site", "incident_id", name=op.f("pk_fed_incidents")),
    )
    op.create_table(
        "fed_media_requests",
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("media", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(length=128), nullable=False),
        sa.Column("requested_at", TZ, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", TZ, nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("redacted_url", sa.String(length=300), nullable=True),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_fed_media_requests")),
    )
    op.create_table(
        "fed_messages",
        sa.Column("msg_id", sa.String(length=200), nullable=False),
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("stream_seq", sa.Integer(), nullable=False),
        sa.Column("sent_at", TZ, nullable=False),
        sa.Column("received_at", TZ, nullable=False),
        sa.PrimaryKeyConstraint("msg_id", name=op.f("pk_fed_messages")),
    )
    with op.batch_alter_table("fed_messages", schema=None) as batch_op:
        batch_op.create_index("ix_fed_messages_site_seq", ["site", "stream_seq"], unique=False)

    op.create_table(
        "fed_sites",
        sa.Column("site", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent", sa.String(length=32), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("ui_url", sa.String(length=300), nullable=True),
        sa.Column("last_seen", TZ, nullable=False),
        sa.PrimaryKeyConstraint("site", name=op.f("pk_fed_sites")),
    )


def downgrade() -> None:
    op.drop_table("fed_sites")
    with op.batch_alter_table("fed_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_fed_messages_site_seq")

    op.drop_table("fed_messages")
    op.drop_table("fed_media_requests")
    op.drop_table("fed_incidents")
    op.drop_table("fed_handoffs")
    with op.batch_alter_table("fed_events", schema=None) as batch_op:
        batch_op.drop_index("ix_fed_events_site_at")

    op.drop_table("fed_events")
    op.drop_table("fed_cursors")
    op.drop_table("fed_cameras")
    with op.batch_alter_table("fed_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_fed_alerts_status_last_seen")

    op.drop_table("fed_alerts")
    op.drop_table("fed_aggregates")
