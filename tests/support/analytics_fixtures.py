"""Test helpers for analytics (tests/unit/analytics, tests/integration/test_analytics_*, bench): a `Seed`
that appends hand-built events of the kinds analytics reads to a real store.

    seed = Seed.open(database_url, tmp_path)
    seed.enter("cam1", "plaza", MONDAY, n=12); seed.flush()
    seed.analytics(timezone="Europe/Rome").series("footfall", since, until, None)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from safecity.analytics.config import AnalyticsConfig
from safecity.analytics.service import Analytics
from safecity.store import make_engine, open_store
from safecity.types import Event, EventKind, OccupancyGrid

MONDAY = datetime(2025, 3, 3, 9, tzinfo=UTC)  # a Monday, 09:00 UTC


@dataclass
class Seed:
    """Appends events to a real store; helpers build the kinds analytics reads."""

    engine: Engine
    data_dir: Path
    url: str
    events: list[Event] = field(default_factory=list)

    def flush(self) -> None:
        store = open_store(self.url)
        try:
            store.append(self.events)
        finally:
            store.close()
        self.events = []

    def enter(self, camera: str, zone: str, at: datetime, n: int = 1, label: str = "person") -> None:
        self.events += [
            Event(
                camera_id=camera,
                kind=EventKind.ZONE_ENTER,
                start=at,
                end=at,
                label=label,
                zone_id=zone,
                track_id=i,
            )
            for i in range(n)
        ]

    def exit(self, camera: str, zone: str, at: datetime, dwell_s: float, label: str = "person") -> None:
        self.events.append(
            Event(
                camera_id=camera, kind=EventKind.ZONE_EXIT, start=at, end=at + timedelta(seconds=dwell_s),
                label=label, zone_id=zone, track_id=1,
            )
        )  # fmt: skip

    def cross(
        self, camera: str, line: str, at: datetime, n: int = 1, label: str = "person", direction: str = "in"
    ) -> None:
        self.events += [
            Event(camera_id=camera, kind=EventKind.LINE_CROSSING, start=at, end=at, label=label, line_id=line,
                  direction=direction, track_id=i)
            for i in range(n)
        ]  # fmt: skip

    def sample(
        self,
        camera: str,
        at: datetime,
        tracks: int,
        cells: dict[int, int] | None = None,
        label: str = "person",
        period_s: float = 300,
        dims: tuple[int, int] = (4, 3),
    ) -> None:
        grid = None
        if tracks:
            grid = OccupancyGrid(dims[0], dims[1], tuple(sorted((cells or {0: tracks}).items())))
        self.events.append(
            Event(
                camera_id=camera, kind=EventKind.OCCUPANCY, start=at, end=at + timedelta(seconds=period_s),
                label=label if tracks else None, count=tracks, grid=grid,
            )
        )  # fmt: skip

    def add(self, **kw: Any) -> None:
        self.events.append(Event(**kw))

    def analytics(self, **cfg: Any) -> Analytics:
        return Analytics(AnalyticsConfig.model_validate(cfg), self.engine, self.data_dir)

    @classmethod
    def open(cls, url: str, data_dir: Path) -> Seed:
        """Migrate the store at `url` and return a seed on it (`close()` it afterwards)."""
        open_store(url).close()
        return cls(make_engine(url), data_dir, url)

    def close(self) -> None:
        self.engine.dispose()
