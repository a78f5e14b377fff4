"""Vehicle counts per class and direction on a real store: the `vehicles` metric, the vehicle panel query
(crossings per direction and hour, zone entries, vehicles in view), the rollup answering like the events,
the camera scope, suppression, and the Safe Tourism dashboard's coaches and cars."""

from __future__ import annotations

from datetime import timedelta

from safecity.analytics import db
from safecity.analytics.config import SiteConfig
from safecity.analytics.queries import VEHICLE_LABELS
from safecity.analytics.service import Analytics, Filters
from support.analytics_fixtures import MONDAY, Seed

H = timedelta(hours=1)


def _seed_road(seed: Seed) -> None:
    seed.cross("cam1", "road", MONDAY + timedelta(minutes=5), n=6, label="car", direction="north")
    seed.cross("cam1", "road", MONDAY + timedelta(minutes=70), n=8, label="car", direction="south")
    seed.cross("cam1", "road", MONDAY + timedelta(minutes=10), n=5, label="bus", direction="north")
    seed.cross("cam1", "road", MONDAY + timedelta(minutes=10), n=2, label="truck", direction="north")  # < k
    seed.cross("cam1", "road", MONDAY, n=40, label="person", direction="north")  # not a vehicle
    seed.enter("cam1", "coach-bay", MONDAY + timedelta(minutes=20), n=7, label="bus")
    seed.enter("cam1", "coach-bay", MONDAY + timedelta(minutes=20), n=9)  # people: not arrivals
    for i in range(4):  # 4 samples with 3 cars in view each: 12 vehicle-samples
        seed.sample("cam1", MONDAY + timedelta(minutes=15 * i), tracks=3, label="car", period_s=900)
    seed.cross("cam2", "bridge", MONDAY, n=30, label="motorcycle", direction="east")
    seed.flush()


def test_vehicle_panel_counts_per_class_direction_and_hour(seed: Seed) -> None:
    _seed_road(seed)
    a = seed.analytics(timezone="Europe/Rome")
    r = a.vehicles(MONDAY, MONDAY + 3 * H, frozenset({"cam1"}))  # the caller sees cam1 only
    by = {c.label: c for c in r.classes}
    assert [c.label for c in r.classes] == list(VEHICLE_LABELS)
    car, bus = by["car"], by["bus"]
    assert car.crossings == 14 and {d.direction: d.count for d in car.by_direction} == {
        "north": 6,
        "south": 8,
    }
    assert car.by_hour[10] == 6 and car.by_hour[11] == 8  # 09:05 / 10:10 UTC are 10 / 11 in Rome
    assert car.present == 12 and car.arrivals is None  # no car entered a zone (0 is suppressed too)
    assert bus.crossings == 5 and bus.arrivals == 7 and bus.present is None
    assert by["truck"].crossings is None  # 2 < min_count 5: suppressed
    assert by["motorcycle"].crossings is None  # cam2 is not the caller's
    assert r.crossings == 21  # 6 + 8 + 5 + 2: suppression applies to what is shown, not to the sum
    all_cams = a.vehicles(MONDAY, MONDAY + 3 * H, None)
    assert {c.label: c.crossings for c in all_cams.classes}["motorcycle"] == 30
    line = a.vehicles(MONDAY, MONDAY + 3 * H, None, Filters(camera_id="cam2", line_id="bridge"))
    assert line.crossings == 30
    hidden = a.vehicles(MONDAY, MONDAY + 3 * H, frozenset({"cam1"}), Filters(camera_id="cam2"))
    assert hidden.crossings is None  # a filter cannot reach outside the caller's cameras


def test_vehicles_metric_series_and_rollup_match_the_events(seed: Seed) -> None:
    _seed_road(seed)
    a = seed.analytics(timezone="Asia/Kolkata")
    since, until = MONDAY - H, MONDAY + 24 * H
    tick = timedelta(microseconds=1)
    series = a.series("vehicles", since, until, None)
    got = {(s.key.line_id, s.key.label, s.key.direction): s.total for s in series.series}
    assert got == {
        ("road", "car", "north"): 6, ("road", "car", "south"): 8, ("road", "bus", "north"): 5,
        ("road", "truck", "north"): None, ("bridge", "motorcycle", "east"): 30,
    }  # fmt: skip
    assert a.scope(since, until).aligned
    assert a.vehicles(since, until, None) == a.vehicles(since - tick, until, None).model_copy(
        update={"since": since}
    )


def test_safe_tourism_dashboard_shows_coaches_and_cars(seed: Seed) -> None:
    _seed_road(seed)
    a = seed.analytics()
    site = SiteConfig(id="old-town", cameras=("cam1",), zones=("cam1/coach-bay",))
    d = a.dashboard(site, MONDAY, MONDAY + 3 * H, None)
    by = {c.label: c for c in d.vehicles.classes}
    assert by["bus"].arrivals == 7 and by["bus"].crossings == 5  # coaches at the bay, and on the road
    assert by["car"].crossings == 14 and by["motorcycle"].crossings is None  # cam2 is not the site's


def test_vehicle_counts_from_the_parquet_lake_match_the_store(seed: Seed) -> None:
    _seed_road(seed)
    a = seed.analytics()
    a.export([MONDAY.date()])
    since, until = MONDAY - H, MONDAY + 24 * H
    store = Analytics(a.cfg, a.engine, a.data_dir, source=db.StoreSource(a.engine))
    lake_only = Analytics(a.cfg, a.engine, a.data_dir, source=db.LakeSource(a.lake_dir))
    from_lake = lake_only.vehicles(since, until, None)
    assert from_lake == store.vehicles(since, until, None)
    assert {c.label: c.crossings for c in from_lake.classes}["car"] == 14
    assert lake_only.series("vehicles", since, until, None) == store.series("vehicles", since, until, None)
