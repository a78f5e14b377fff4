"""The analytics API on a running service: permissions, camera scope, exports, privacy of every answer."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from safecity.types import Event, EventKind, OccupancyGrid
from support.analytics_fixtures import MONDAY
from support.api_harness import ApiHarness

K = 5
SINCE, UNTIL = MONDAY.isoformat(), (MONDAY + timedelta(days=1)).isoformat()
PERIOD = {"since": SINCE, "until": UNTIL}
SECTIONS = {
    "analytics": {
        "sites": [{"id": "centre", "name": "Centre", "cameras": ["cam1", "cam2"]}],
        "anomaly": {"enabled": False},
        "report": {"enabled": False},
    }
}
PER_PERSON = {"track_id", "snapshot", "snapshot_url", "id", "tracker_id"}


def events() -> list[Event]:
    out: list[Event] = []
    for cam, n in (("cam1", 12), ("cam2", 7), ("cam3", 40)):
        out += [
            Event(camera_id=cam, kind=EventKind.ZONE_ENTER, start=MONDAY, end=MONDAY, label="person",
                  zone_id="plaza", track_id=i)
            for i in range(n)
        ]  # fmt: skip
        out += [
            Event(camera_id=cam, kind=EventKind.LINE_CROSSING, start=MONDAY, end=MONDAY, label="person",
                  line_id="gate", direction="in", track_id=i)
            for i in range(3)
        ]  # fmt: skip
    for cam, label, n in (("cam1", "bus", 6), ("cam1", "truck", 2), ("cam3", "car", 20)):
        out += [
            Event(camera_id=cam, kind=EventKind.LINE_CROSSING, start=MONDAY, end=MONDAY, label=label,
                  line_id="road", direction="north", track_id=100 + i)
            for i in range(n)
        ]  # fmt: skip
    for i in range(6):
        at = MONDAY + i * timedelta(minutes=5)
        grid = OccupancyGrid(4, 3, ((0, 6), (5, 2)))
        out.append(Event(camera_id="cam1", kind=EventKind.OCCUPANCY, start=at, end=at + timedelta(minutes=5),
                         label="person", count=6, grid=grid))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def h(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path_factory.mktemp("analytics"), **SECTIONS) as harness:
        harness.node.store.append(events())
        yield harness


def small_counts(value: Any, path: str = "") -> list[str]:
    """Per-person keys, and integers 1..K-1 under count-like keys, anywhere in a JSON answer."""
    counts = {"value", "total", "count", "visits", "n", "current", "previous", "cells", "by_hour", "max",
              "crossings", "arrivals", "present"}  # fmt: skip
    if isinstance(value, dict):
        site = "cameras" in value  # a site's own id is not a person's
        found = [f"{path}.{k}" for k in value if k in PER_PERSON and not (site and k == "id")]
        for key, item in value.items():
            if key in counts and isinstance(item, int) and 0 < item < K:
                found.append(f"{path}.{key}={item}")
            if key in counts and isinstance(item, list):
                found += [
                    f"{path}.{key}[{i}]={x}" for i, x in enumerate(item) if isinstance(x, int) and 0 < x < K
                ]
            found += small_counts(item, f"{path}.{key}")
        return found
    if isinstance(value, list):
        return [x for i, item in enumerate(value) for x in small_counts(item, f"{path}[{i}]")]
    return []


GETS = [
    "/api/analytics/sites",
    "/api/analytics/series?metric=footfall",
    "/api/analytics/series?metric=crossings&bucket=day",
    "/api/analytics/series?metric=presence",
    "/api/analytics/heatmap/cam1",
    "/api/analytics/dwell",
    "/api/analytics/peak-hours?metric=footfall",
    "/api/analytics/compare?metric=footfall",
    "/api/analytics/sites/centre/dashboard",
    "/api/analytics/anomalies",
    "/api/analytics/vehicles",
    "/api/analytics/series?metric=vehicles",
]


@pytest.mark.parametrize("url", GETS)
def test_every_answer_is_aggregate_and_suppressed(h: ApiHarness, url: str) -> None:
    params = {"hour": SINCE} if url.endswith("/anomalies") else PERIOD
    r = h.client.get(url, params=params, headers=h.bearer("viewer"))
    assert r.status_code == 200, r.text
    assert small_counts(r.json()) == []


def test_series_heatmap_and_dashboard_values(h: ApiHarness) -> None:
    viewer = h.bearer("viewer")
    r = h.client.get("/api/analytics/series", params={**PERIOD, "metric": "footfall"}, headers=viewer).json()
    assert {s["key"]["camera_id"]: s["total"] for s in r["series"]} == {"cam1": 12, "cam2": 7, "cam3": 40}
    crossings = h.client.get(
        "/api/analytics/series", params={**PERIOD, "metric": "crossings"}, headers=viewer
    )
    gate = [s for s in crossings.json()["series"] if s["key"]["line_id"] == "gate"]
    assert gate and all(s["total"] is None for s in gate)  # 3 per line: suppressed
    heat = h.client.get("/api/analytics/heatmap/cam1", params=PERIOD, headers=viewer).json()
    assert heat["cells"][0] == 36 and heat["cells"][5] == 12 and heat["samples"] == 6
    board = h.client.get("/api/analytics/sites/centre/dashboard", params=PERIOD, headers=viewer).json()
    assert board["footfall"]["total"] == 19 and board["site"]["cameras"] == ["cam1", "cam2"]
    assert h.client.get("/api/analytics/sites/nowhere/dashboard", headers=viewer).status_code == 404
    naive = {"since": "2025-03-03T08:00", "until": "2025-03-03T10:00"}
    local = h.client.get("/api/analytics/series", params=naive, headers=viewer)
    assert local.json()["since"] == "2025-03-03T08:00:00Z"  # no offset: the configured zone (UTC)
    bad = h.client.get("/api/analytics/series", params={"since": UNTIL, "until": SINCE}, headers=viewer)
    assert bad.status_code == 422


def test_camera_access_list_limits_every_query(h: ApiHarness) -> None:
    only1 = h.bearer("viewer", cameras=["cam1"])
    r = h.client.get("/api/analytics/series", params=PERIOD, headers=only1).json()
    assert [s["key"]["camera_id"] for s in r["series"]] == ["cam1"] and r["total"] == 12
    assert h.client.get("/api/analytics/heatmap/cam2", params=PERIOD, headers=only1).status_code == 404
    forbidden = h.client.get("/api/analytics/series", params={**PERIOD, "camera_id": "cam3"}, headers=only1)
    assert forbidden.status_code == 403
    sites = h.client.get("/api/analytics/sites", headers=only1).json()
    assert sites == [{"id": "centre", "name": "Centre", "cameras": ["cam1"]}]
    board = h.client.get("/api/analytics/sites/centre/dashboard", params=PERIOD, headers=only1).json()
    assert board["footfall"]["total"] == 12


def test_vehicle_counts_per_class_and_direction_within_the_callers_cameras(h: ApiHarness) -> None:
    only1 = h.bearer("viewer", cameras=["cam1"])
    r = h.client.get("/api/analytics/vehicles", params=PERIOD, headers=only1)
    assert r.status_code == 200, r.text
    by = {c["label"]: c for c in r.json()["classes"]}
    assert by["bus"]["crossings"] == 6 and by["bus"]["by_direction"] == [{"direction": "north", "count": 6}]
    assert by["truck"]["crossings"] is None and by["car"]["crossings"] is None  # 2 < k; cam3 not theirs
    everyone = h.client.get("/api/analytics/vehicles", params=PERIOD, headers=h.bearer("viewer")).json()
    assert {c["label"]: c["crossings"] for c in everyone["classes"]}["car"] == 20
    forbidden = h.client.get("/api/analytics/vehicles", params={**PERIOD, "camera_id": "cam3"}, headers=only1)
    assert forbidden.status_code == 403
    board = h.client.get("/api/analytics/sites/centre/dashboard", params=PERIOD, headers=only1).json()
    assert {c["label"]: c["crossings"] for c in board["vehicles"]["classes"]}["bus"] == 6
    assert h.client.get("/api/analytics/vehicles", params=PERIOD).status_code == 401


def test_exports_need_analytics_export(h: ApiHarness) -> None:
    params = {**PERIOD, "metric": "footfall"}
    assert h.client.get("/api/analytics/export", params=params, headers=h.bearer("viewer")).status_code == 403
    assert (
        h.client.get("/api/analytics/export", params=params, headers=h.bearer("operator")).status_code == 403
    )
    boss = h.bearer("supervisor")
    r = h.client.get("/api/analytics/export", params=params, headers=boss)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.text.splitlines()
    assert lines[0] == "camera_id,zone_id,line_id,label,direction,at,value" and len(lines) == 4
    assert "cam3,plaza,,,,2025-03-03T09:00:00+00:00,40" in lines
    crossings = h.client.get("/api/analytics/export", params={**params, "metric": "crossings"}, headers=boss)
    gate = [line for line in crossings.text.splitlines()[1:] if ",gate," in line]
    assert gate and all(line.endswith(",") for line in gate)  # suppressed: empty cells
    r = h.client.get("/api/analytics/export", params={**params, "format": "parquet"}, headers=boss)
    table = pq.read_table(io.BytesIO(r.content))
    assert table.num_rows == 3 and "track_id" not in table.column_names
    page = h.client.get("/api/analytics/reports/2025-03-03", headers=boss)
    assert page.status_code == 200 and "Centre" in page.text and "<script" not in page.text


def test_the_jobs_run_with_the_service(h: ApiHarness, tmp_path: Path) -> None:
    from safecity.api.routers import analytics as router_module

    assert id(h.node) in router_module._JOBS  # started by the router's on_start hook
    from safecity.operations.alerts import list_rules

    with h.node.session() as db:
        assert "Unusual activity" in {r.name for r in list_rules(db)}
