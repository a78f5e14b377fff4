"""Alembic environment of the safecity store, driven from `safecity.store.migrate`.

Online mode uses the connection passed in `config.attributes["connection"]` when there is one
(the store migrates on its own connection), otherwise an engine built from `sqlalchemy.url`.
Offline mode (`alembic upgrade --sql`) renders SQL for `sqlalchemy.url`'s dialect.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import safecity.accounts.models  # users, sessions, api_tokens
import safecity.biometrics.models  # bio_*: authorizations, watchlists, entries, matches, searches
import safecity.federation.models  # fed_*: national summaries, handoffs, media requests, cursors
import safecity.governance.audit  # audit_log, audit_head
import safecity.governance.evidence  # evidence_locks, evidence_lock_items
import safecity.operations.models  # alerts, incidents, field units, dispatches, public reports
import safecity.plates.models  # plate_reads
import safecity.recording.models  # recording_segments, media_clips
import safecity.store.cameras  # cameras (the run-time source of truth)
import safecity.store.coordination  # noqa: F401  (cluster_leases, rate_limit_hits)
from safecity.store.engine import make_engine
from safecity.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite ALTERs go through table copies
        compare_type=True,
    )


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set sqlalchemy.url or pass a connection in config.attributes['connection']")
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
