"""Privacy: aggregates only, counts below min_count suppressed everywhere, no per-person columns.

The walker below inspects every result the dashboard queries return on a data set full of small counts
and fails on any count in 1..k-1 or any per-person field, so a query edited into leaking is caught."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

from safecity.analytics import db, privacy, queries
from safecity.analytics.config import DuckDBConfig
from safecity.analytics.privacy import ForbiddenColumn, suppress
from support.analytics_fixtures import MONDAY, Seed

K = 5
COUNT_FIELDS = {
    "value", "total", "count", "visits", "loitering", "episodes", "anomalies", "n", "current", "previous",
    "cells", "by_hour", "weekday_hour", "max", "observed",
}  # fmt: skip
PER_PERSON = {"track_id", "tracker_id", "snapshot", "id", "event_id", "xyxy", "position", "trajectory"}


def leaks(value: Any, k: int, path: str = "", counted: bool = False) -> list[str]:
    """Every small count or per-person key inside `value` (a result model, dict or list)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        found = [f"{path}.{key}: per-person field" for key in value if key in PER_PERSON]
        for key, item in value.items():
            found += leaks(item, k, f"{path}.{key}", key in COUNT_FIELDS)
        return found
    if isinstance(value, list):
        return [x for i, item in enumerate(value) for x in leaks(item, k, f"{path}[{i}]", counted)]
    if counted and isinstance(value, int) and not isinstance(value, bool) and value < k:
        return [f"{path} = {value} < {k}"]
    return []


def lone_walker(seed: Seed) -> None:
    """One person crossing the square for an hour, and a few small groups: nothing may show them."""
    for i in range(12):
        at = MONDAY + timedelta(minutes=5 * i)
        seed.sample("cam1", at, tracks=1, cells={i % 12: 1})  # one track, moving cell by cell
        seed.enter("cam1", "plaza", at, n=1)
        seed.exit("cam1", "plaza", at, 30 + i)
        seed.cross("cam1", "road", at, n=1 + i % 4, label="bicycle")
    seed.add(camera_id="cam1", kind="crowding", start=MONDAY, end=MONDAY, zone_id="plaza", count=9)
    seed.flush()


def test_suppression_rule() -> None:
    assert [suppress(n, K) for n in (None, 0, 1, 4, 5, 6.0)] == [None, None, None, None, 5, 6]
    assert privacy.suppress_all([3, 7], K) == [None, 7]
    assert not privacy.enough(4, K) and privacy.enough(5, K)


def test_a_lone_walker_is_invisible_in_every_result(seed: Seed) -> None:
    lone_walker(seed)
    a = seed.analytics(min_count=K)
    since, until = MONDAY, MONDAY + timedelta(hours=2)
    heat = a.heatmap("cam1", since, until)
    assert (
        heat is not None and heat.cells == [None] * 12 and heat.samples == 0 and heat.samples_withheld == 12
    )
    results: list[Any] = [heat, a.dwell(since, until, None)]
    for metric in ("footfall", "crossings", "presence", "crowding"):
        results += [
            a.series(metric, since, until, None),
            a.peak_hours(metric, since, until, None),
            a.compare(metric, since, until, None),
        ]
    problems = [p for r in results for p in leaks(r, K)]
    assert problems == []
    footfall = a.series("footfall", since, until, None)
    assert [p.value for s in footfall.series for p in s.points] == [12]  # 12 entries in one hour: shown
    bikes = a.series("crossings", since, until, None)
    assert bikes.total == 30 and [p.value for s in bikes.series for p in s.points] == [30]
    assert a.series("crowding", since, until, None).total is None  # one episode
    (zone,) = a.dwell(since, until, None).zones
    assert zone.visits == 12 and zone.p50_s is not None  # 12 visits: enough for a median


def test_the_walker_catches_a_leak() -> None:
    """The check above can fail: a small count or a track id in a result is reported."""
    assert leaks({"series": [{"points": [{"value": 3}]}]}, K) == [".series[0].points[0].value = 3 < 5"]
    assert leaks({"cells": [None, 2]}, K) == [".cells[1] = 2 < 5"]
    assert leaks({"items": [{"track_id": 7}]}, K) == [".items[0].track_id: per-person field"]
    assert leaks({"samples": 1, "hour": 3, "value": None}, K) == []


def test_a_query_selecting_a_per_person_column_is_refused(seed: Seed) -> None:
    seed.enter("cam1", "plaza", MONDAY, n=6)
    seed.flush()
    window = db.Window(MONDAY, MONDAY + timedelta(hours=1))
    with db.session(db.StoreSource(seed.engine), window, DuckDBConfig()) as con:
        assert con.execute("SELECT * FROM events").fetchone() is not None
        names = [d[0] for d in con.execute("SELECT * FROM events").description]
        assert "track_id" not in names and "snapshot" not in names  # not even inside the layer
        with pytest.raises(ForbiddenColumn, match="id"):
            queries.fetch(con, "SELECT id, kind FROM events", [])
        with pytest.raises(ForbiddenColumn, match="track_id"):
            queries.fetch(con, "SELECT 1 AS track_id", [])
