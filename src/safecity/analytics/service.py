"""`Analytics`: the entry point the API, the CLI and the scheduled jobs share.

It knows where the data is (store engine, lake directory), which cameras a caller may see, the privacy
threshold and the DuckDB limits, and runs each query on its own bounded connection, at most
`duckdb.max_concurrent` at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import duckdb
from sqlalchemy import Engine

from safecity.analytics import anomaly, dashboard, db, lake, queries
from safecity.analytics.config import AnalyticsConfig, Metric, SiteConfig
from safecity.analytics.results import (
    Anomaly,
    BucketSize,
    Comparison,
    DwellResult,
    Heatmap,
    PeakHours,
    SeriesResult,
    VehicleCounts,
)

T = TypeVar("T")
Cameras = frozenset[str] | None  # None: every camera


class Busy(RuntimeError):
    """Too many analytics queries are running; try again shortly."""


@dataclass(frozen=True, slots=True)
class Filters:
    camera_id: str | None = None
    zone_id: str | None = None
    line_id: str | None = None
    label: str | None = None


@dataclass
class Analytics:
    cfg: AnalyticsConfig
    engine: Engine
    data_dir: Path
    source: db.Source | None = None  # default: HybridSource(engine, lake_dir)
    wait_s: float = 30.0
    _gate: threading.BoundedSemaphore = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._gate = threading.BoundedSemaphore(self.cfg.duckdb.max_concurrent)
        if self.source is None:
            self.source = db.HybridSource(self.engine, self.lake_dir)

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / (self.cfg.lake_dir or Path("lake"))

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / (self.cfg.reports_dir or Path("reports"))

    def scope(self, since: datetime, until: datetime, f: Filters | None = None) -> queries.Scope:
        f = f or Filters()
        return queries.Scope(
            since=since, until=until, timezone=self.cfg.timezone, min_count=self.cfg.min_count,
            camera_id=f.camera_id, zone_id=f.zone_id, line_id=f.line_id, label=f.label,
        )  # fmt: skip

    def run(self, window: db.Window, query: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run `query` on a connection holding `window`, within the concurrency bound."""
        if not self._gate.acquire(timeout=self.wait_s):
            raise Busy(f"more than {self.cfg.duckdb.max_concurrent} analytics queries running")
        try:
            assert self.source is not None
            with db.session(self.source, window, self.cfg.duckdb) as con:
                return query(con)
        finally:
            self._gate.release()

    def _window(self, since: datetime, until: datetime, cameras: Cameras, f: Filters | None) -> db.Window:
        if f is not None and f.camera_id is not None:
            cameras = frozenset({f.camera_id}) & cameras if cameras is not None else frozenset({f.camera_id})
        return db.Window(since, until, cameras)

    # --- queries --------------------------------------------------------------------------------------

    def series(
        self, metric: Metric, since: datetime, until: datetime, cameras: Cameras, f: Filters | None = None,
        bucket: BucketSize = "hour",
    ) -> SeriesResult:  # fmt: skip
        s = self.scope(since, until, f)
        return self.run(
            self._window(since, until, cameras, f), lambda con: queries.series(con, metric, s, bucket)
        )

    def heatmap(
        self, camera_id: str, since: datetime, until: datetime, label: str | None = None
    ) -> Heatmap | None:
        s = self.scope(since, until, Filters(label=label))
        window = db.Window(since, until, frozenset({camera_id}))
        return self.run(window, lambda con: queries.heatmap(con, camera_id, s))

    def dwell(
        self, since: datetime, until: datetime, cameras: Cameras, f: Filters | None = None
    ) -> DwellResult:
        s = self.scope(since, until, f)
        label = (f.label if f else None) or "person"
        return self.run(self._window(since, until, cameras, f), lambda con: queries.dwell(con, s, label))

    def peak_hours(
        self, metric: Metric, since: datetime, until: datetime, cameras: Cameras, f: Filters | None = None
    ) -> PeakHours:
        s = self.scope(since, until, f)
        return self.run(
            self._window(since, until, cameras, f), lambda con: queries.peak_hours(con, metric, s)
        )

    def compare(
        self, metric: Metric, since: datetime, until: datetime, cameras: Cameras, f: Filters | None = None
    ) -> Comparison:
        s = self.scope(since, until, f)
        window = self._window(since - (until - since), until, cameras, f)
        return self.run(window, lambda con: queries.compare(con, metric, s))

    def vehicles(
        self, since: datetime, until: datetime, cameras: Cameras, f: Filters | None = None
    ) -> VehicleCounts:
        s = self.scope(since, until, f)
        return self.run(self._window(since, until, cameras, f), lambda con: queries.vehicles(con, s))

    def anomalies(
        self, hour: datetime, cameras: Cameras, metrics: tuple[Metric, ...] | None = None
    ) -> list[Anomaly]:
        """Anomalies of the hour starting at `hour` (UTC, whole hour) in every configured metric."""
        cfg = self.cfg.anomaly
        since, until = anomaly.history_window(hour, cfg)
        s = self.scope(since, until)

        def detect(con: duckdb.DuckDBPyConnection) -> list[Anomaly]:
            return anomaly.detect(con, metrics or cfg.metrics, hour, cfg, s)

        return self.run(db.Window(since, until, cameras), detect)

    def site_cameras(self, site: SiteConfig, cameras: Cameras) -> list[str]:
        return sorted(set(site.cameras) if cameras is None else set(site.cameras) & cameras)

    def dashboard(
        self, site: SiteConfig, since: datetime, until: datetime, cameras: Cameras
    ) -> dashboard.SiteDashboard:
        visible = self.site_cameras(site, cameras)
        s = self.scope(since, until)
        table = dashboard.load_incidents(self.engine, since, until, frozenset(visible), site.area)

        def build(con: duckdb.DuckDBPyConnection) -> dashboard.SiteDashboard:
            dashboard.attach_incidents(con, table)
            return dashboard.dashboard(con, site, s, visible)

        return self.run(db.Window(since, until, frozenset(visible)), build)

    # --- lake -----------------------------------------------------------------------------------------

    def export(self, days: list[date]) -> lake.ExportResult:
        return lake.export_days(self.engine, self.lake_dir, days)

    def missing_days(self, today: date, lookback_days: int = 7) -> list[date]:
        """Complete UTC days of the last `lookback_days` that the lake does not hold yet."""
        held = lake.lake_days(self.lake_dir)
        return [d for i in range(lookback_days, 0, -1) if (d := today - timedelta(days=i)) not in held]


def whole_hour(t: datetime) -> datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
