"""Event queries restricted to a camera access list (the store's own `EventQuery` takes one camera)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import Connection, Table, func, select
from sqlalchemy.engine import RowMapping

from safecity.api.schemas import EventPublic
from safecity.store import EventQuery
from safecity.store.models import EventRow
from safecity.store.repository import event_filters
from safecity.types import Event, EventKind

_EVENTS = cast(Table, EventRow.__table__)
_COLUMNS = (
    "id", "schema_version", "camera_id", "kind", "label", "track_id", "line_id", "zone_id",
    "direction", "count", "score", "snapshot", "start", "end",
)  # fmt: skip


def _event(row: RowMapping) -> Event:
    values: dict[str, Any] = {name: row[name] for name in _COLUMNS}
    values["kind"] = EventKind(values["kind"])
    return Event(**values)


def media_url(snapshot: str | None) -> str | None:
    return f"/api/media/{snapshot}" if snapshot else None


def _public(row: RowMapping) -> EventPublic:
    # straight from the row: the Event, its dict and the ISO strings parsed back cost more than the query
    values: dict[str, Any] = {name: row[name] for name in _COLUMNS}
    values["kind"] = EventKind(values["kind"]).value
    return EventPublic(**values, snapshot_url=media_url(values["snapshot"]))


def query_visible(conn: Connection, q: EventQuery, cameras: frozenset[str] | None) -> list[EventPublic]:
    """Events matching `q` among `cameras` (None: all), newest first, paged, as the API shows them."""
    stmt = (
        select(*(_EVENTS.c[n] for n in _COLUMNS))
        .where(*event_filters(q, cameras))
        .order_by(_EVENTS.c.start.desc(), _EVENTS.c.id.desc())
        .limit(q.limit)
        .offset(q.offset)
    )
    return [_public(r) for r in conn.execute(stmt).mappings()]


def count_visible(conn: Connection, q: EventQuery, cameras: frozenset[str] | None) -> int:
    stmt = select(func.count()).select_from(_EVENTS).where(*event_filters(q, cameras))
    return int(conn.execute(stmt).scalar_one())


def get_event(conn: Connection, event_id: str) -> Event | None:
    stmt = select(*(_EVENTS.c[n] for n in _COLUMNS)).where(_EVENTS.c.id == event_id)
    row = conn.execute(stmt).mappings().first()
    return None if row is None else _event(row)
