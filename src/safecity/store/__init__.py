"""Event store: append-only events in SQLite (default) or PostgreSQL, SQLAlchemy 2 + Alembic.

Usage: `store = open_store(default_url(data_dir))`, then `store.append(events)` and
`store.query(EventQuery(camera_id="cam1", limit=50))`. Opening a store migrates it to head.
"""

from safecity.store.engine import default_url, make_engine
from safecity.store.migrate import upgrade
from safecity.store.repository import (
    EventQuery,
    SqlStore,
    Store,
    append_events,
    count_events,
    open_store,
    query_events,
)

__all__ = [
    "EventQuery",
    "SqlStore",
    "Store",
    "append_events",
    "count_events",
    "default_url",
    "make_engine",
    "open_store",
    "query_events",
    "upgrade",
]
