"""The `analytics:` section of the settings file. Every field has a default (zero config works)."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Metric = Literal["footfall", "crossings", "presence", "crowding", "vehicles"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GridConfig(_Strict):
    """The occupancy grid each camera's analyzer samples (heatmaps, presence)."""

    enabled: bool = Field(True, description="Emit periodic `occupancy` events with an aggregated grid")
    cols: int = Field(16, ge=1, le=128, description="Grid columns over the frame width")
    rows: int = Field(12, ge=1, le=128, description="Grid rows over the frame height")
    period_s: float = Field(
        300.0, ge=1, le=86_400, description="One sample per camera per period (aligned to the clock)"
    )


class SiteArea(_Strict):
    lat: float = Field(..., ge=-90, le=90)
    lon: float = Field(..., ge=-180, le=180)
    radius_m: float = Field(..., gt=0, le=100_000, description="Incidents within this distance belong")


class SiteConfig(_Strict):
    """A site of the Safe Tourism dashboard: a group of cameras (and optionally some of their zones)."""

    id: Identifier
    name: str = ""
    cameras: tuple[Identifier, ...] = Field(..., min_length=1, description="Cameras of the site")
    zones: tuple[str, ...] | None = Field(
        None, description="Only these zones, as 'camera/zone' (default: every zone of the cameras)"
    )
    area: SiteArea | None = Field(
        None, description="Incidents without a camera (public reports) within this circle belong too"
    )

    @field_validator("zones")
    @classmethod
    def _zone_refs(cls, zones: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for ref in zones or ():
            camera, _, zone = ref.partition("/")
            if not camera or not zone:
                raise ValueError(f"zone {ref!r} must be written 'camera/zone'")
        return zones


class AnomalyConfig(_Strict):
    """Levels far from their usual value for that hour and weekday (median/MAD baseline)."""

    enabled: bool = True
    metrics: tuple[Metric, ...] = Field(
        ("footfall", "crossings", "presence"), description="Hourly series that are checked"
    )
    weeks: int = Field(6, ge=2, le=52, description="Weeks of history for the baseline")
    min_history: int = Field(3, ge=2, description="Observed past hours needed before judging")
    threshold: float = Field(3.5, gt=0, description="|robust z| at or above which an hour is anomalous")
    min_delta: float = Field(10.0, ge=0, description="...and at least this far from the median")


class DuckDBConfig(_Strict):
    memory_limit: str = Field(
        "1GB", pattern=r"^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$", description="DuckDB memory per query"
    )
    threads: int = Field(2, ge=1, le=256)
    max_concurrent: int = Field(2, ge=1, le=64, description="Analytics queries run at once by the API")


class ReportConfig(_Strict):
    enabled: bool = Field(True, description="Write yesterday's report each day (when jobs run)")
    at_hour: int = Field(1, ge=0, le=23, description="Local hour after which yesterday's report is made")
    pdf: bool = Field(True, description="Also print it to PDF with headless Chromium")
    chromium: str = Field("chromium", description="Chromium executable for the PDF")


class AnalyticsConfig(_Strict):
    min_count: int = Field(
        5, ge=2, le=1000, description="Counts below this are suppressed in every output (privacy)"
    )
    timezone: str = Field("UTC", description="IANA time zone of hours, weekdays and days in outputs")
    lake_dir: Path | None = Field(
        None,
        description="Parquet export, partitioned day=/camera= (relative to storage.data_dir; default: lake)",
    )
    reports_dir: Path | None = Field(
        None, description="Daily reports (relative to storage.data_dir; default: reports)"
    )
    grid: GridConfig = GridConfig()
    sites: tuple[SiteConfig, ...] = ()
    anomaly: AnomalyConfig = AnomalyConfig()
    duckdb: DuckDBConfig = DuckDBConfig()
    report: ReportConfig = ReportConfig()
    jobs_every_s: float = Field(60.0, gt=0, le=3600, description="How often scheduled jobs check the clock")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {name!r}") from exc
        return name

    @model_validator(mode="after")
    def _unique_sites(self) -> AnalyticsConfig:
        ids = [s.id for s in self.sites]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"site ids must be unique: {', '.join(dupes)}")
        return self

    def site(self, site_id: str) -> SiteConfig | None:
        return next((s for s in self.sites if s.id == site_id), None)
