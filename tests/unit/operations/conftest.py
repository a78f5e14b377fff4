"""Operations tests on real, migrated databases: SQLite in tmp_path, PostgreSQL at 127.0.0.1 (no mocks)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from safecity.operations.alerts import ensure_default_rules
from safecity.operations.engine import AlertEngine
from safecity.operations.live import NullLive
from safecity.operations.rules import DEFAULT_RULES
from safecity.store import default_url, make_engine, upgrade
from safecity.types import Event, EventKind

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


PG = {"host": "127.0.0.1", "port": 5432, "dbname": "test", "user": "postgres"}


def _postgres_url() -> Iterator[str]:
    """A fresh schema in the PostgreSQL test database (dropped afterwards); skip when unreachable."""
    try:
        import psycopg

        admin = psycopg.connect(**PG, autocommit=True, connect_timeout=3)  # type: ignore[arg-type]
    except Exception as exc:  # ImportError or connection refused
        pytest.skip(f"PostgreSQL at {PG['host']}:{PG['port']} unavailable: {exc}")
    schema = f"ops_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            yield f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{PG['dbname']}?options=-csearch_path%3D{schema}"
        finally:
            admin.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    urls = iter([default_url(tmp_path)]) if request.param == "sqlite" else _postgres_url()
    url = next(urls)
    upgrade(url)
    eng = make_engine(url)
    try:
        yield eng
    finally:
        eng.dispose()
        next(urls, None)  # drops the PostgreSQL schema


@pytest.fixture
def sessions(engine: Engine) -> Callable[[], Session]:
    def factory() -> Session:
        return Session(engine, expire_on_commit=False)

    with factory() as db:
        ensure_default_rules(db, DEFAULT_RULES)
        db.commit()
    return factory


@pytest.fixture
def db(sessions: Callable[[], Session]) -> Iterator[Session]:
    with sessions() as s:
        yield s


@pytest.fixture
def live() -> NullLive:
    return NullLive()


@pytest.fixture
def alert_engine(sessions: Callable[[], Session], live: NullLive) -> AlertEngine:
    return AlertEngine(sessions, live, rules_ttl_s=0.0)


EventBuilder = Callable[..., Event]


def build_event(
    kind: EventKind = EventKind.CROWDING,
    *,
    at: datetime = T0,
    camera: str = "cam1",
    zone: str | None = "plaza",
    **kw: Any,
) -> Event:
    """A real Event as the rules engine emits it (crowding carries the occupancy in `count`)."""
    if kind == EventKind.CROWDING:
        kw.setdefault("count", 5)
    if kind == EventKind.LINE_CROSSING:
        zone, kw = None, {"line_id": "door", "direction": "in", "label": "person", **kw}
    return Event(camera_id=camera, kind=kind, start=at - timedelta(seconds=2), end=at, zone_id=zone, **kw)


@pytest.fixture
def make_event() -> EventBuilder:
    """`make_event(kind, at=..., camera=..., zone=..., **Event fields)`."""
    return build_event
