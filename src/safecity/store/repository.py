"""Event repository: the `Store` protocol, `EventQuery`, and the SQL implementation.

The module-level functions take an explicit `Connection` (the API can run them inside its own
transaction); `SqlStore` wraps them with an engine and runs the migrations when it opens.
Append-only by design: there is no update or delete here. Retention is a separate, governed path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, cast, runtime_checkable

from sqlalchemy import Connection, Select, Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.sql.elements import ColumnElement

from safecity.store.engine import make_engine
from safecity.store.migrate import upgrade_engine
from safecity.store.models import EventRow
from safecity.types import Event, EventKind, OccupancyGrid

_EVENTS = cast(Table, EventRow.__table__)
_EVENT_COLUMNS = (
    "id", "schema_version", "camera_id", "kind", "label", "track_id", "line_id", "zone_id",
    "direction", "count", "score", "snapshot", "grid", "start", "end", "value",
)  # fmt: skip


def _check_aware(name: str, value: datetime | None) -> None:
    if value is not None and (value.tzinfo is None or value.utcoffset() is None):
        raise ValueError(f"EventQuery.{name} must be timezone-aware, got {value!r}")


@dataclass(frozen=True, slots=True)
class EventQuery:
    """Filters for `Store.query` / `Store.count`; unset fields do not filter.

    `since` is inclusive and `until` exclusive, both on the event `start`. Results are newest first
    (by `start`, then `id` for a stable order); `limit` and `offset` page through them.
    """

    camera_id: str | None = None
    kind: EventKind | None = None
    label: str | None = None
    line_id: str | None = None
    zone_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 100
    offset: int = 0

    def __post_init__(self) -> None:
        if self.limit < 0 or self.offset < 0:
            raise ValueError(f"limit and offset must be >= 0, got {self.limit}, {self.offset}")
        _check_aware("since", self.since)
        _check_aware("until", self.until)


@runtime_checkable
class Store(Protocol):
    """Where events are kept. Append-only; `append` is idempotent by event id."""

    def append(self, events: Sequence[Event]) -> None: ...

    def query(self, q: EventQuery) -> list[Event]: ...

    def count(self, q: EventQuery) -> int: ...

    def close(self) -> None: ...


def _to_row(event: Event, created_at: datetime) -> dict[str, Any]:
    row = {name: getattr(event, name) for name in _EVENT_COLUMNS}
    row["kind"] = EventKind(event.kind).value
    row["grid"] = None if event.grid is None else event.grid.to_dict()
    row["created_at"] = created_at
    return row


def _from_row(row: RowMapping) -> Event:
    values = {name: row[name] for name in _EVENT_COLUMNS}
    values["kind"] = EventKind(values["kind"])
    values["grid"] = None if values["grid"] is None else OccupancyGrid.from_dict(values["grid"])
    return Event(**values)


def event_filters(q: EventQuery, cameras: frozenset[str] | None = None) -> list[ColumnElement[bool]]:
    """WHERE clauses for `q`'s filters, restricted to `cameras` when given (None: all cameras)."""
    c = _EVENTS.c
    clauses: list[ColumnElement[bool]] = []
    for name in ("camera_id", "label", "line_id", "zone_id"):
        value = getattr(q, name)
        if value is not None:
            clauses.append(c[name] == value)
    if q.kind is not None:
        clauses.append(c.kind == EventKind(q.kind).value)
    if q.since is not None:
        clauses.append(c.start >= q.since)
    if q.until is not None:
        clauses.append(c.start < q.until)
    if cameras is not None:
        clauses.append(c.camera_id.in_(sorted(cameras)))
    return clauses


def append_events(conn: Connection, events: Sequence[Event]) -> None:
    """Insert `events`; ids already stored are skipped (INSERT ... ON CONFLICT DO NOTHING)."""
    if not events:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        stmt: Any = sqlite.insert(_EVENTS).on_conflict_do_nothing(index_elements=["id"])
    elif dialect == "postgresql":
        stmt = postgresql.insert(_EVENTS).on_conflict_do_nothing(index_elements=["id"])
    else:
        raise NotImplementedError(f"idempotent append is not implemented for dialect {dialect!r}")
    now = datetime.now(UTC)
    conn.execute(stmt, [_to_row(e, now) for e in events])


def query_events(conn: Connection, q: EventQuery) -> list[Event]:
    """Events matching `q`, newest first, paged by `q.limit` / `q.offset`."""
    if q.limit == 0:
        return []
    stmt: Select[Any] = (
        select(*(_EVENTS.c[name] for name in _EVENT_COLUMNS))
        .where(*event_filters(q))
        .order_by(_EVENTS.c.start.desc(), _EVENTS.c.id.desc())
        .limit(q.limit)
        .offset(q.offset)
    )
    return [_from_row(row) for row in conn.execute(stmt).mappings()]


def count_events(conn: Connection, q: EventQuery) -> int:
    """How many events match `q`'s filters (ignoring `limit` and `offset`)."""
    stmt = select(func.count()).select_from(_EVENTS).where(*event_filters(q))
    return int(conn.execute(stmt).scalar_one())


class SqlStore:
    """`Store` on SQLAlchemy: SQLite (default) or PostgreSQL. Migrates the database to head on open."""

    def __init__(self, url: str) -> None:
        self._engine = make_engine(url)
        self._closed = False
        try:
            upgrade_engine(self._engine)
        except BaseException:
            self._engine.dispose()
            raise

    @property
    def url(self) -> str:
        return self._engine.url.render_as_string(hide_password=True)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("store is closed")

    def append(self, events: Sequence[Event]) -> None:
        self._check_open()
        with self._engine.begin() as conn:
            append_events(conn, events)

    def query(self, q: EventQuery) -> list[Event]:
        self._check_open()
        with self._engine.connect() as conn:
            return query_events(conn, q)

    def count(self, q: EventQuery) -> int:
        self._check_open()
        with self._engine.connect() as conn:
            return count_events(conn, q)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def __enter__(self) -> SqlStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_store(url: str) -> Store:
    """Open (and migrate) the event store at `url`."""
    return SqlStore(url)
