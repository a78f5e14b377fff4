"""Event store against real databases: SQLite files in tmp_path, and PostgreSQL at 127.0.0.1:5432.

Each PostgreSQL test runs in a fresh schema (via the connection's search_path), dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from safecity.store import EventQuery, SqlStore, Store, default_url, make_engine, open_store, upgrade
from safecity.store.migrate import alembic_config, current_revisions, head_revisions
from safecity.store.models import Base
from safecity.types import Event, EventKind

PG_HOST, PG_PORT, PG_DB, PG_USER = "127.0.0.1", 5432, "test", "postgres"
T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _pg_unreachable_reason() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg (psycopg[binary]) is not installed"
    try:
        psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {PG_HOST}:{PG_PORT}/{PG_DB} unreachable: {exc}"
    return None


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield default_url(tmp_path / "data")
        return
    reason = _pg_unreachable_reason()
    if reason is not None:
        pytest.skip(reason)
    import psycopg

    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(host=PG_HOST, port=PG_PORT, dbname=PG_DB, user=PG_USER, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{PG_DB}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def store(db_url: str) -> Iterator[SqlStore]:
    s = SqlStore(db_url)
    yield s
    s.close()


def ev(camera: str = "cam1", kind: EventKind = EventKind.LINE_CROSSING, minute: int = 0, **kw: Any) -> Event:
    start = T0 + timedelta(minutes=minute)
    return Event(camera_id=camera, kind=kind, start=start, end=start + timedelta(seconds=2), **kw)


def test_migrations_create_the_schema(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        inspector = sa.inspect(engine)
        assert "events" in inspector.get_table_names()
        columns = {c["name"] for c in inspector.get_columns("events")}
        assert columns == {c.name for c in Base.metadata.tables["events"].columns}
        assert inspector.get_pk_constraint("events")["constrained_columns"] == ["id"]
        indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("events")}
        assert indexes == {
            "ix_events_camera_id_start": ["camera_id", "start"],
            "ix_events_kind_start": ["kind", "start"],
            "ix_events_start": ["start"],
        }
        with engine.connect() as conn:
            assert current_revisions(conn) == head_revisions()
    finally:
        engine.dispose()


def test_migration_head_matches_models(db_url: str) -> None:
    upgrade(db_url)
    engine = make_engine(db_url)
    try:
        with engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
            # The comparison is live: a model the migrations do not have shows up as a diff.
            extra = sa.MetaData()
            for table in Base.metadata.tables.values():
                table.to_metadata(extra)
            sa.Table("not_migrated", extra, sa.Column("id", sa.Integer, primary_key=True))
            assert [d[0] for d in compare_metadata(ctx, extra)] == ["add_table"]
    finally:
        engine.dispose()


def test_upgrade_is_repeatable_and_downgrade_reverses(db_url: str) -> None:
    upgrade(db_url)
    upgrade(db_url)  # already at head: a no-op
    cfg = alembic_config(db_url)
    command.downgrade(cfg, "base")
    engine = make_engine(db_url)
    try:
        assert "events" not in sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()
    upgrade(db_url)
    with SqlStore(db_url) as s:
        assert s.count(EventQuery()) == 0


def test_sqlite_pragmas(tmp_path: Path) -> None:
    engine = make_engine(default_url(tmp_path))
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        engine.dispose()


def test_open_store_is_a_store(db_url: str) -> None:
    s = open_store(db_url)
    try:
        assert isinstance(s, Store)
    finally:
        s.close()


def test_append_and_query_round_trip_all_fields(store: SqlStore) -> None:
    e = ev(label="person", track_id=7, line_id="gate", zone_id="z1", direction="in", count=3,
           score=0.875, snapshot="snapshots/cam1/2025-03-01/x.jpg")  # fmt: skip
    store.append([e])
    assert store.query(EventQuery()) == [e]


def test_filters(store: SqlStore) -> None:
    a = ev("cam1", EventKind.LINE_CROSSING, 0, label="person", line_id="gate")
    b = ev("cam2", EventKind.ZONE_ENTER, 1, label="car", zone_id="plaza")
    c = ev("cam1", EventKind.CROWDING, 2, count=40, zone_id="plaza")
    store.append([a, b, c])
    assert store.query(EventQuery(camera_id="cam1")) == [c, a]
    assert store.query(EventQuery(kind=EventKind.ZONE_ENTER)) == [b]
    assert store.query(EventQuery(label="person")) == [a]
    assert store.query(EventQuery(line_id="gate")) == [a]
    assert store.query(EventQuery(zone_id="plaza")) == [c, b]
    assert store.query(EventQuery(camera_id="cam1", zone_id="plaza")) == [c]
    assert store.query(EventQuery(camera_id="nope")) == []
    # since inclusive, until exclusive, on start
    assert store.query(EventQuery(since=T0 + timedelta(minutes=1))) == [c, b]
    assert store.query(EventQuery(until=T0 + timedelta(minutes=1))) == [a]
    window = EventQuery(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=2))
    assert store.query(window) == [b]
    assert store.count(window) == 1
    assert store.count(EventQuery(zone_id="plaza")) == 2


def test_newest_first_pagination_and_count(store: SqlStore) -> None:
    events = [ev(minute=m) for m in range(25)]
    store.append(events[::2])
    store.append(events[1::2])  # insertion order differs from time order
    newest_first = sorted(events, key=lambda e: e.start, reverse=True)
    pages = [store.query(EventQuery(limit=10, offset=o)) for o in (0, 10, 20, 30)]
    assert [len(p) for p in pages] == [10, 10, 5, 0]
    assert [e for p in pages for e in p] == newest_first
    assert store.count(EventQuery(limit=1, offset=3)) == 25  # count ignores paging
    assert store.query(EventQuery(limit=0)) == []


def test_same_start_orders_stably_by_id(store: SqlStore) -> None:
    events = [ev(id=f"{i:032x}") for i in range(5)]
    store.append(events)
    assert store.query(EventQuery()) == events[::-1]


def test_reappend_same_id_is_a_noop(store: SqlStore) -> None:
    e = ev(label="person")
    store.append([e])
    store.append([e])
    store.append([e, ev(minute=1)])
    changed = Event(camera_id="other", kind=EventKind.LOITERING, start=e.start, end=e.end, id=e.id)
    store.append([changed])  # same id: the first write wins, rows are never updated
    assert store.count(EventQuery()) == 2
    assert store.query(EventQuery(until=T0 + timedelta(seconds=1))) == [e]


def test_append_empty_is_fine(store: SqlStore) -> None:
    store.append([])
    assert store.count(EventQuery()) == 0


def test_timezone_round_trip(store: SqlStore) -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    start = datetime(2025, 6, 30, 23, 59, 59, 123456, tzinfo=ist)
    e = Event(camera_id="cam1", kind=EventKind.ZONE_EXIT, start=start, end=start + timedelta(microseconds=1))
    store.append([e])
    (got,) = store.query(EventQuery())
    assert got.start == start and got.end == e.end  # same instants, microseconds kept
    assert got.start.utcoffset() == timedelta(0) and got.end.utcoffset() == timedelta(0)
    assert got.start.replace(tzinfo=None) == datetime(2025, 6, 30, 18, 29, 59, 123456)
    # time filters given in another zone mean the same instant
    assert store.query(EventQuery(since=start)) == [e]
    assert store.query(EventQuery(until=start)) == []


def test_naive_datetimes_are_rejected(store: SqlStore) -> None:
    naive = datetime(2025, 1, 1, 12, 0)
    with pytest.raises(sa.exc.StatementError, match="naive datetime"):
        store.append([Event(camera_id="cam1", kind=EventKind.CROWDING, start=naive, end=naive)])
    with pytest.raises(ValueError, match="timezone-aware"):
        EventQuery(since=naive)
    assert store.count(EventQuery()) == 0


def test_query_validation() -> None:
    with pytest.raises(ValueError):
        EventQuery(limit=-1)
    with pytest.raises(ValueError):
        EventQuery(offset=-5)


def test_events_survive_reopening(db_url: str) -> None:
    events = [ev(minute=m, kind=k) for m, k in enumerate(EventKind)]
    with SqlStore(db_url) as s:
        s.append(events)
    with SqlStore(db_url) as s:  # migrations at open leave existing rows alone
        assert s.query(EventQuery()) == events[::-1]
        s.append(events)
        assert s.count(EventQuery()) == len(events)


def test_closed_store_refuses_work(store: SqlStore) -> None:
    store.close()
    store.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        store.append([ev()])


def test_default_url_creates_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "nested" / "data"
    url = default_url(data_dir)
    assert url == f"sqlite:///{data_dir / 'safecity.db'}"
    with SqlStore(url) as s:
        s.append([ev()])
    assert (data_dir / "safecity.db").is_file()


def test_unsupported_dialect_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        SqlStore("mysql://user@localhost/db")
