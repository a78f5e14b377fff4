"""DuckDB connections with bounded memory, and the sources they read: the lake, the store, or both.

A query runs on its own in-memory DuckDB connection that sees two views limited to one `Window` (a time
range and the cameras the caller may see): `events` and `occupancy` (columns: `lake` module, plus
camera_id and day). Where they come from is the source's business:

- `LakeSource`: the Parquet lake (explicit file lists per day and camera: no glob over the lake);
- `StoreSource`: the SQL event store, read through SQLAlchemy into Arrow (DuckDB's sqlite/postgres
  scanners are extensions downloaded from DuckDB's own host, which this platform never contacts:
  extension auto-install and auto-load are off);
- `HybridSource`: the lake for the days it holds before today, the store for the rest.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Protocol

import duckdb
import pyarrow as pa
from sqlalchemy import Engine

from safecity.analytics import lake
from safecity.analytics.config import DuckDBConfig


@dataclass(frozen=True, slots=True)
class Window:
    """[since, until) in UTC and the cameras in scope (None: every camera)."""

    since: datetime
    until: datetime
    cameras: frozenset[str] | None = None

    def __post_init__(self) -> None:
        for name in ("since", "until"):
            value = getattr(self, name)
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError(f"Window.{name} must be timezone-aware, got {value!r}")
        if self.until <= self.since:
            raise ValueError(f"empty window: until {self.until} <= since {self.since}")

    def widen(self, before: timedelta) -> Window:
        return Window(self.since - before, self.until, self.cameras)


def connect(cfg: DuckDBConfig, temp_dir: Path | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with bounded memory and threads, spilling to `temp_dir`, no extension downloads."""
    spill = temp_dir or Path(tempfile.gettempdir()) / "safecity-duckdb"
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(
        ":memory:",
        config={
            "memory_limit": cfg.memory_limit,
            "threads": cfg.threads,
            "temp_directory": str(spill),
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )


def _ts(value: datetime) -> str:
    return f"TIMESTAMPTZ '{value.astimezone(UTC).isoformat()}'"


def _parquet_select(files: list[str], columns: str, cameras_apart: bool) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    if not cameras_apart:
        return (
            f"SELECT camera_id, day, {columns} FROM read_parquet([{listed}], "
            "hive_partitioning = true, hive_types = {'day': DATE})"
        )
    return (
        f"SELECT camera AS camera_id, day, {columns} FROM read_parquet([{listed}], "
        "hive_partitioning = true, hive_types = {'day': DATE, 'camera': VARCHAR})"
    )


def _in_window(window: Window) -> str:
    where = f"start_ts >= {_ts(window.since)} AND start_ts < {_ts(window.until)}"
    if window.cameras is not None:
        listed = ", ".join("'" + c.replace("'", "''") + "'" for c in sorted(window.cameras)) or "NULL"
        where += f" AND camera_id IN ({listed})"
    return where


def _columns(schema: pa.Schema) -> str:
    return ", ".join(f'"{name}"' for name in schema.names)


SCHEMAS = {
    lake.EVENTS: lake.EVENT_SCHEMA,
    lake.OCCUPANCY: lake.OCCUPANCY_SCHEMA,
    lake.ROLLUP: lake.ROLLUP_SCHEMA,
}


class Parts:
    """What a source contributes to one connection: Parquet file lists and Arrow tables from the store."""

    def __init__(self) -> None:
        self.files: dict[str, list[str]] = {name: [] for name in lake.DATASETS}
        self.tables: dict[str, list[pa.Table]] = {name: [] for name in lake.DATASETS}

    def add_frames(self, frames: lake.Frames) -> None:
        for name in lake.DATASETS:
            self.tables[name].append(frames.table(name))

    def attach(self, con: duckdb.DuckDBPyConnection, window: Window) -> None:
        for name, schema in SCHEMAS.items():
            cols = _columns(schema)
            selects = []
            if self.files[name]:
                selects.append(_parquet_select(self.files[name], cols, lake.by_camera(name)))
            table = pa.concat_tables([lake.full_schema(schema).empty_table(), *self.tables[name]])
            con.register(f"_store_{name}", table)
            selects.append(f"SELECT camera_id, day, {cols} FROM _store_{name}")
            union = " UNION ALL ".join(selects)
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM ({union}) WHERE {_in_window(window)}"
            )


class Source(Protocol):
    def parts(self, window: Window) -> Parts: ...


@dataclass(frozen=True, slots=True)
class LakeSource:
    lake_dir: Path

    def parts(self, window: Window) -> Parts:
        p = Parts()
        days = lake.days_between(window.since, window.until)
        for name in lake.DATASETS:
            p.files[name] = lake.lake_files(self.lake_dir, name, days, window.cameras)
        return p


@dataclass(frozen=True, slots=True)
class StoreSource:
    engine: Engine

    def parts(self, window: Window) -> Parts:
        p = Parts()
        p.add_frames(lake.read_store(self.engine, window.since, window.until, window.cameras))
        return p


@dataclass(frozen=True, slots=True)
class HybridSource:
    """The lake for the complete days it holds (before `today`), the store for every other day."""

    engine: Engine
    lake_dir: Path
    today: date | None = field(default=None)  # default: the current UTC day

    def parts(self, window: Window) -> Parts:
        today = self.today or datetime.now(UTC).date()
        held = {d for d in lake.lake_days(self.lake_dir) if d < today}
        days = lake.days_between(window.since, window.until)
        p = Parts()
        for name in lake.DATASETS:
            p.files[name] = lake.lake_files(
                self.lake_dir, name, [d for d in days if d in held], window.cameras
            )
        for lo, hi in _spans([d for d in days if d not in held]):
            since = max(window.since, lake.utc_day_start(lo))
            until = min(window.until, lake.utc_day_start(hi + timedelta(days=1)))
            p.add_frames(lake.read_store(self.engine, since, until, window.cameras))
        return p


def _spans(days: list[date]) -> Iterator[tuple[date, date]]:
    """Runs of consecutive days as (first, last)."""
    start = prev = None
    for d in sorted(days):
        if start is None or prev is None:
            start = prev = d
        elif d == prev + timedelta(days=1):
            prev = d
        else:
            yield start, prev
            start = prev = d
    if start is not None and prev is not None:
        yield start, prev


@contextmanager
def session(source: Source, window: Window, cfg: DuckDBConfig) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection whose `events` and `occupancy` views hold `window` of `source`; closed afterwards."""
    con = connect(cfg)
    try:
        source.parts(window).attach(con, window)
        yield con
    finally:
        con.close()
