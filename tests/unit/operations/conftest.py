"""Operations tests run on a real, migrated SQLite database in tmp_path (no mocks)."""

from __future__ import annotations

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


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    url = default_url(tmp_path)
    upgrade(url)
    eng = make_engine(url)
    yield eng
    eng.dispose()


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
