"""The analytics lake: events as Parquet, partitioned `day=YYYY-MM-DD/camera=ID/` (hive style).

Two datasets under the lake directory, both readable by DuckDB, Spark or Trino:

- `events/`: one row per event: id, kind, label, line_id, zone_id, direction, count, score, start_ts,
  end_ts (UTC). No track ids and no snapshot keys: nothing in the lake links two events to one person.
- `occupancy/`: one row per non-empty cell of each occupancy grid sample: start_ts, end_ts, label,
  cols, rows, cell, n (distinct tracks in the cell during the sample), tracks (distinct tracks in the
  whole frame during the sample: the crowd the cell's count hides in).

- `rollup/` (partitioned day= only, camera_id a column: one small file per day): events counted per UTC
  quarter-hour and (kind, label, line_id, zone_id, direction):
  start_ts (the quarter's start), n (events), total (sum of their `count`). Dashboards over long periods
  read this instead of the events (a few rows per camera and quarter instead of every event); quarters
  fit every time zone offset of the world.

Days are UTC days. A day is exported whole and replaces what the lake held for it (idempotent), written
next to the lake first and swapped in, so a reader sees the old or the new day. Rows are sorted by
start_ts inside each file, so row-group statistics prune time ranges.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from sqlalchemy import Connection, Engine, Table, select

from safecity.store.models import EventRow

EVENTS = "events"
OCCUPANCY = "occupancy"
TS = pa.timestamp("us", tz="UTC")
EVENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()), ("kind", pa.string()), ("label", pa.string()), ("line_id", pa.string()),
        ("zone_id", pa.string()), ("direction", pa.string()), ("count", pa.int32()),
        ("score", pa.float32()), ("start_ts", TS), ("end_ts", TS),
    ]
)  # fmt: skip
OCCUPANCY_SCHEMA = pa.schema(
    [
        ("start_ts", TS), ("end_ts", TS), ("label", pa.string()), ("cols", pa.int16()),
        ("rows", pa.int16()), ("cell", pa.int32()), ("n", pa.int32()), ("tracks", pa.int32()),
    ]
)  # fmt: skip
ROLLUP = "rollup"
QUARTER_US = 900_000_000
ROLLUP_KEYS = ("kind", "label", "line_id", "zone_id", "direction")
ROLLUP_SCHEMA = pa.schema(
    [("start_ts", TS), *((k, pa.string()) for k in ROLLUP_KEYS), ("n", pa.int64()), ("total", pa.int64())]
)
DATASETS = (EVENTS, OCCUPANCY, ROLLUP)
PARTITION_SCHEMA = pa.schema([("day", pa.string()), ("camera", pa.string())])
# columns the store source adds (the lake keeps them in the path)
KEYS = pa.schema([("camera_id", pa.string()), ("day", pa.date32())])
FORBIDDEN_COLUMNS = frozenset({"track_id", "tracker_id", "snapshot", "trajectory", "xyxy", "position"})
BATCH_ROWS = 50_000
_EVENTS_TABLE = cast(Table, EventRow.__table__)
_STORE_COLUMNS = ("camera_id", "kind", "label", "line_id", "zone_id", "direction", "count", "score")


@dataclass(frozen=True, slots=True)
class Frames:
    """Events and occupancy cells of one read, with `camera_id` and `day` columns (KEYS) added."""

    events: pa.Table
    occupancy: pa.Table

    def table(self, dataset: str) -> pa.Table:
        if dataset == ROLLUP:
            return rollup_of(self.events)
        return self.events if dataset == EVENTS else self.occupancy


def rollup_of(events: pa.Table) -> pa.Table:
    """Events (KEYS + EVENT_SCHEMA) counted per camera, UTC quarter-hour and ROLLUP_KEYS."""
    micros = pc.cast(events.column("start_ts"), pa.int64())
    quarter = pc.multiply(pc.divide(micros, QUARTER_US), QUARTER_US)  # integer division: floor for >= 1970
    keyed = pa.table(
        {"camera_id": events.column("camera_id"), "day": events.column("day"), "q": quarter,
         **{k: events.column(k) for k in ROLLUP_KEYS}, "count": events.column("count")}
    )  # fmt: skip
    groups = keyed.group_by(["camera_id", "day", "q", *ROLLUP_KEYS], use_threads=False)
    agg = groups.aggregate([([], "count_all"), ("count", "sum")])
    arrays = [agg.column("camera_id"), agg.column("day"), agg.column("q").cast(TS)]
    arrays += [agg.column(k) for k in ROLLUP_KEYS]
    arrays += [agg.column("count_all"), pc.fill_null(agg.column("count_sum"), 0).cast(pa.int64())]
    return pa.Table.from_arrays(arrays, schema=full_schema(ROLLUP_SCHEMA))


def full_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema(list(KEYS) + list(schema))


def utc_day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def days_between(since: datetime, until: datetime) -> list[date]:
    """UTC days that [since, until) touches."""
    first, last = since.astimezone(UTC).date(), (until.astimezone(UTC) - timedelta(microseconds=1)).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)] if until > since else []


# --- reading the store ------------------------------------------------------------------------------


def _store_rows(
    conn: Connection, since: datetime, until: datetime, cameras: frozenset[str] | None
) -> Iterator[list[Any]]:
    c = _EVENTS_TABLE.c
    stmt = select(c.id, *(c[n] for n in _STORE_COLUMNS), c.start, c.end, c.grid).where(
        c.start >= since, c.start < until
    )
    if cameras is not None:
        stmt = stmt.where(c.camera_id.in_(sorted(cameras)))
    result = conn.execution_options(stream_results=True, yield_per=BATCH_ROWS).execute(stmt)
    for part in result.partitions(BATCH_ROWS):
        yield [tuple(row) for row in part]


def _event_batch(rows: list[Any]) -> pa.RecordBatch:
    cols = list(zip(*rows, strict=True))
    starts = pa.array(cols[9], TS)
    arrays = [pa.array(cols[1], pa.string()), _days(starts), pa.array(cols[0], pa.string())]
    arrays += [pa.array(cols[i], pa.string()) for i in range(2, 7)]
    arrays += [pa.array(cols[7], pa.int32()), pa.array(cols[8], pa.float32()), starts, pa.array(cols[10], TS)]
    return pa.RecordBatch.from_arrays(arrays, schema=full_schema(EVENT_SCHEMA))


def _cell_rows(rows: list[Any]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        grid = row[11]
        if row[2] != "occupancy" or not grid:
            continue
        for cell, n in grid.get("cells", ()):
            yield row[1], row[9], row[10], row[3], grid["cols"], grid["rows"], cell, n, row[7]


def _occupancy_batch(rows: list[Any]) -> pa.RecordBatch | None:
    cells = list(_cell_rows(rows))
    if not cells:
        return None
    cols = list(zip(*cells, strict=True))
    starts = pa.array(cols[1], TS)
    arrays = [pa.array(cols[0], pa.string()), _days(starts), starts, pa.array(cols[2], TS)]
    arrays += [pa.array(cols[3], pa.string()), pa.array(cols[4], pa.int16()), pa.array(cols[5], pa.int16())]
    arrays += [pa.array(cols[i], pa.int32()) for i in (6, 7, 8)]
    return pa.RecordBatch.from_arrays(arrays, schema=full_schema(OCCUPANCY_SCHEMA))


def _days(starts: pa.Array) -> pa.Array:
    micros = np.asarray(starts.cast(pa.int64()).to_numpy(zero_copy_only=False), dtype=np.int64)
    return pa.array(micros // 86_400_000_000, pa.int32()).cast(pa.date32())


def read_store(
    engine: Engine, since: datetime, until: datetime, cameras: frozenset[str] | None = None
) -> Frames:
    """Events (and their occupancy cells) that start in [since, until), of `cameras` (None: all)."""
    events: list[pa.RecordBatch] = []
    cells: list[pa.RecordBatch] = []
    with engine.connect() as conn:
        for rows in _store_rows(conn, since, until, cameras):
            events.append(_event_batch(rows))
            batch = _occupancy_batch(rows)
            if batch is not None:
                cells.append(batch)
    return Frames(
        pa.Table.from_batches(events, full_schema(EVENT_SCHEMA)),
        pa.Table.from_batches(cells, full_schema(OCCUPANCY_SCHEMA)),
    )


# --- writing the lake -------------------------------------------------------------------------------


def _partitioned(table: pa.Table) -> pa.Table:
    """`table` with string `day` and `camera` partition columns in place of camera_id and date day."""
    table = table.sort_by([("camera_id", "ascending"), ("start_ts", "ascending")])
    day = table.column("day").cast(pa.string())
    table = table.drop_columns(["day"]).rename_columns(
        ["camera" if n == "camera_id" else n for n in table.column_names if n != "day"]
    )
    return table.append_column("day", day)


def by_camera(dataset: str) -> bool:
    """Events and occupancy are partitioned day=/camera=; the (small) rollup by day=, camera a column."""
    return dataset != ROLLUP


def write_partitioned(table: pa.Table, dataset_dir: Path, cameras_apart: bool = True) -> None:
    """Write `table` (KEYS + a lake schema) under `dataset_dir` as day=/camera= partitions (day= only,
    camera_id kept as a column, when not `cameras_apart`)."""
    if FORBIDDEN_COLUMNS & set(table.column_names):
        raise ValueError(f"refusing to write per-person columns to the lake: {table.column_names}")
    if cameras_apart:
        data, parts = _partitioned(table), PARTITION_SCHEMA
    else:
        data = table.sort_by([("start_ts", "ascending")])
        data = data.drop_columns(["day"]).append_column("day", data.column("day").cast(pa.string()))
        parts = pa.schema([("day", pa.string())])
    ds.write_dataset(
        data,
        dataset_dir,
        format="parquet",
        partitioning=ds.partitioning(parts, flavor="hive"),
        existing_data_behavior="overwrite_or_ignore",
        basename_template=f"part-{uuid.uuid4().hex[:8]}-{{i}}.parquet",
        max_partitions=1_000_000,
        max_open_files=256,
        max_rows_per_group=1_000_000,
        file_options=ds.ParquetFileFormat().make_write_options(compression="zstd"),
    )


def _swap_in(staged: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    trash = target.parent.parent / "_trash" / f"{target.parent.name}-{target.name}-{uuid.uuid4().hex[:8]}"
    if target.exists():
        trash.parent.mkdir(parents=True, exist_ok=True)
        target.rename(trash)
    if staged.exists():
        staged.rename(target)
    shutil.rmtree(trash, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class ExportResult:
    days: tuple[date, ...]
    events: int
    cells: int


def export_days(engine: Engine, lake_dir: Path, days: Iterable[date]) -> ExportResult:
    """Export whole UTC `days` from the store into the lake, replacing what it held for them."""
    done: list[date] = []
    n_events = n_cells = 0
    for day in sorted(set(days)):
        frames = read_store(engine, utc_day_start(day), utc_day_start(day + timedelta(days=1)))
        staging = lake_dir / "_staging" / uuid.uuid4().hex
        try:
            for name in DATASETS:
                table = frames.table(name)
                if table.num_rows:
                    write_partitioned(table, staging / name, by_camera(name))
                target = lake_dir / name / f"day={day.isoformat()}"
                _swap_in(staging / name / f"day={day.isoformat()}", target)
                target.mkdir(parents=True, exist_ok=True)  # an exported day without events is held too
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        done.append(day)
        n_events += frames.events.num_rows
        n_cells += frames.occupancy.num_rows
    return ExportResult(tuple(done), n_events, n_cells)


def lake_days(lake_dir: Path, dataset: str = EVENTS) -> set[date]:
    """Days the lake holds for `dataset`."""
    root = lake_dir / dataset
    if not root.is_dir():
        return set()
    out: set[date] = set()
    for child in root.iterdir():
        if child.is_dir() and child.name.startswith("day="):
            try:
                out.add(date.fromisoformat(child.name[4:]))
            except ValueError:
                continue
    return out


def lake_files(
    lake_dir: Path, dataset: str, days: Iterable[date], cameras: frozenset[str] | None
) -> list[str]:
    """Parquet files of `dataset` for `days` and `cameras` (None: all), without globbing the lake."""
    files: list[str] = []
    for day in sorted(set(days)):
        day_dir = lake_dir / dataset / f"day={day.isoformat()}"
        if not day_dir.is_dir():
            continue
        if not by_camera(dataset):  # camera_id is a column: the query filters it
            files.extend(str(p) for p in sorted(day_dir.glob("*.parquet")))
            continue
        for cam_dir in sorted(day_dir.iterdir()):
            if not cam_dir.name.startswith("camera="):
                continue
            if cameras is not None and cam_dir.name[len("camera=") :] not in cameras:
                continue
            files.extend(str(p) for p in sorted(cam_dir.glob("*.parquet")))
    return files
