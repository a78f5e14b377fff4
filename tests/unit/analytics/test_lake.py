"""The Parquet lake: day=/camera= partitions, idempotent day export, same answers as the store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow.parquet as pq

from safecity.analytics import db, lake
from safecity.analytics.service import Analytics
from support.analytics_fixtures import MONDAY, Seed

DAY = timedelta(days=1)


def seeded(seed: Seed) -> None:
    for d in range(3):
        base = MONDAY + d * DAY
        seed.enter("cam1", "plaza", base, n=10 + d)
        seed.cross("cam.2", "road", base + timedelta(hours=3), n=6, label="car")
        seed.sample("cam1", base, tracks=7, cells={0: 5, 3: 6})
    seed.flush()


def test_export_writes_hive_partitions_without_per_person_columns(seed: Seed) -> None:
    seeded(seed)
    a = seed.analytics()
    result = a.export([MONDAY.date(), (MONDAY + DAY).date()])
    assert result.events == 2 * (10 + 6 + 1) + 1 and result.cells == 4
    files = sorted(p.relative_to(a.lake_dir).as_posix() for p in a.lake_dir.rglob("*.parquet"))
    dirs = {f.rsplit("/", 1)[0] for f in files}
    assert dirs == {
        f"events/day={day}/camera={cam}" for day in ("2025-03-03", "2025-03-04") for cam in ("cam1", "cam.2")
    } | {
        "occupancy/day=2025-03-03/camera=cam1", "occupancy/day=2025-03-04/camera=cam1",
        "rollup/day=2025-03-03", "rollup/day=2025-03-04",  # small: one file per day, camera_id a column
    }  # fmt: skip
    for f in files:
        names = set(pq.read_schema(a.lake_dir / f).names)
        assert not names & {"track_id", "snapshot", "camera", "day"}, f  # partition keys live in the path
    assert lake.lake_days(a.lake_dir) == {MONDAY.date(), (MONDAY + DAY).date()}


def test_export_of_a_day_replaces_it(seed: Seed) -> None:
    seeded(seed)
    a = seed.analytics()
    a.export([MONDAY.date()])
    a.export([MONDAY.date()])
    seed.enter("cam1", "plaza", MONDAY + timedelta(hours=1), n=5)
    seed.flush()
    a.export([MONDAY.date()])
    lake_only = Analytics(a.cfg, a.engine, a.data_dir, source=db.LakeSource(a.lake_dir))
    assert lake_only.series("footfall", MONDAY, MONDAY + DAY, None).total == 15
    assert not (a.lake_dir / "_staging").exists() or not any((a.lake_dir / "_staging").iterdir())


def test_lake_store_and_hybrid_sources_agree(seed: Seed) -> None:
    seeded(seed)
    a = seed.analytics()
    a.export([MONDAY.date()])  # the lake holds day 1; days 2 and 3 only the store
    since, until = MONDAY - DAY, MONDAY + 3 * DAY
    store = Analytics(a.cfg, a.engine, a.data_dir, source=db.StoreSource(a.engine))
    hybrid = Analytics(
        a.cfg, a.engine, a.data_dir, source=db.HybridSource(a.engine, a.lake_dir, (MONDAY + 5 * DAY).date())
    )
    lake_only = Analytics(a.cfg, a.engine, a.data_dir, source=db.LakeSource(a.lake_dir))
    for metric in ("footfall", "crossings", "presence"):
        assert hybrid.series(metric, since, until, None) == store.series(metric, since, until, None), metric
    assert hybrid.heatmap("cam1", since, until) == store.heatmap("cam1", since, until)
    assert lake_only.series("footfall", since, until, None).total == 10
    assert store.series("footfall", since, until, None).total == 33
    cam2 = frozenset({"cam.2"})
    assert lake_only.series("footfall", since, until, cam2).series == []  # camera scope prunes files
    assert lake_only.series("crossings", since, until, cam2).total == 6


def test_an_exported_day_without_events_is_held_and_empty(seed: Seed, tmp_path: Path) -> None:
    a = seed.analytics()
    result = a.export([MONDAY.date()])
    assert result.events == 0 and lake.lake_days(a.lake_dir) == {MONDAY.date()}
    assert a.missing_days(MONDAY.date() + timedelta(days=2), lookback_days=3) == [
        (MONDAY - DAY).date(), (MONDAY + DAY).date(),
    ]  # fmt: skip
    lake_only = Analytics(a.cfg, a.engine, a.data_dir, source=db.LakeSource(a.lake_dir))
    assert lake_only.series("footfall", MONDAY, MONDAY + DAY, None).series == []
    assert lake_only.heatmap("cam1", MONDAY, MONDAY + DAY) is None
