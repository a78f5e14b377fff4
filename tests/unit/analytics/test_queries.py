"""Dashboard queries on a real store: exact aggregates, local hours, suppression of small counts."""

from __future__ import annotations

from datetime import timedelta

from safecity.analytics.service import Filters
from support.analytics_fixtures import MONDAY, Seed

H = timedelta(hours=1)


def test_footfall_per_zone_per_local_hour(seed: Seed) -> None:
    seed.enter("cam1", "plaza", MONDAY + timedelta(minutes=5), n=12)
    seed.enter("cam1", "plaza", MONDAY + timedelta(minutes=65), n=7)
    seed.enter("cam1", "gate", MONDAY + timedelta(minutes=10), n=3)  # below min_count
    seed.enter("cam2", "plaza", MONDAY, n=9, label="car")  # not people: not footfall
    seed.flush()
    a = seed.analytics(timezone="Europe/Rome")
    r = a.series("footfall", MONDAY, MONDAY + 3 * H, None)
    by_zone = {s.key.zone_id: s for s in r.series}
    assert set(by_zone) == {"plaza", "gate"}
    plaza = by_zone["plaza"]
    assert [(p.at.hour, p.value) for p in plaza.points] == [(10, 12), (11, 7)]  # 09:00 UTC = 10:00 in Rome
    assert plaza.points[0].at.utcoffset() == timedelta(hours=1) and plaza.total == 19
    assert by_zone["gate"].total is None and by_zone["gate"].points[0].value is None
    assert r.total == 22
    day = a.series("footfall", MONDAY, MONDAY + 3 * H, None, bucket="day")
    assert [p.value for s in day.series for p in s.points if s.key.zone_id == "plaza"] == [19]


def test_line_counts_per_class_and_direction_and_camera_scope(seed: Seed) -> None:
    seed.cross("cam1", "road", MONDAY, n=6, label="car", direction="north")
    seed.cross("cam1", "road", MONDAY, n=8, label="car", direction="south")
    seed.cross("cam1", "road", MONDAY, n=5, label="bicycle", direction="north")
    seed.cross("cam2", "bridge", MONDAY, n=30, label="person")
    seed.flush()
    a = seed.analytics()
    r = a.series("crossings", MONDAY, MONDAY + H, frozenset({"cam1"}))  # the caller sees cam1 only
    got = {(s.key.line_id, s.key.label, s.key.direction): s.total for s in r.series}
    assert got == {("road", "car", "north"): 6, ("road", "car", "south"): 8, ("road", "bicycle", "north"): 5}
    only = a.series("crossings", MONDAY, MONDAY + H, None, Filters(label="car", line_id="road"))
    assert {s.key.direction for s in only.series} == {"north", "south"}
    hidden = a.series("crossings", MONDAY, MONDAY + H, frozenset({"cam1"}), Filters(camera_id="cam2"))
    assert hidden.series == []  # a filter cannot reach outside the caller's cameras


def test_heatmap_sums_cells_of_samples_with_enough_people(seed: Seed) -> None:
    for i in range(4):  # 4 busy samples: 6 people each, 5 of them in cell 0, one in cell 7
        seed.sample("cam1", MONDAY + i * timedelta(minutes=5), tracks=6, cells={0: 5, 7: 1})
    seed.sample("cam1", MONDAY + timedelta(minutes=20), tracks=1, cells={11: 1})  # a lone walker: withheld
    seed.sample("cam1", MONDAY + timedelta(minutes=25), tracks=0)  # nobody
    seed.flush()
    h = seed.analytics().heatmap("cam1", MONDAY, MONDAY + H)
    assert h is not None and (h.cols, h.rows) == (4, 3)
    assert h.cells[0] == 20 and h.cells[7] is None and h.cells[11] is None  # 4 < 5: suppressed
    assert h.samples == 4 and h.samples_withheld == 1 and h.max == 20
    assert seed.analytics().heatmap("cam2", MONDAY, MONDAY + H) is None


def test_dwell_histogram_percentiles_and_loitering(seed: Seed) -> None:
    for s in (5, 12, 15, 20, 25, 40, 45, 50, 55, 58, 700):
        seed.exit("cam1", "plaza", MONDAY, s)
    for i in range(2):
        seed.add(camera_id="cam1", kind="loitering", start=MONDAY, end=MONDAY + timedelta(seconds=130),
                 zone_id="plaza", label="person", track_id=i)  # fmt: skip
    seed.flush()
    (z,) = seed.analytics().dwell(MONDAY, MONDAY + H, None).zones
    assert z.visits == 11 and z.loitering is None
    assert z.p50_s == 40.0 and z.p90_s == 58.0
    bins = {(b.lo_s, b.hi_s): b.count for b in z.bins}
    assert bins[(30, 60)] == 5 and bins[(10, 30)] is None  # 4 visits: suppressed
    assert sum(b.count or 0 for b in z.bins) == 5


def test_peak_hours_and_period_over_period(seed: Seed) -> None:
    for day in range(2):
        base = MONDAY + timedelta(days=day)
        seed.enter("cam1", "plaza", base + 2 * H, n=20)  # 11:00 UTC
        seed.enter("cam1", "plaza", base, n=6)  # 09:00 UTC
    seed.enter("cam1", "plaza", MONDAY - timedelta(days=2), n=10)  # the previous 2-day period
    seed.flush()
    a = seed.analytics()
    p = a.peak_hours("footfall", MONDAY, MONDAY + timedelta(days=2), None)
    assert p.peaks == [11, 9] and p.days == 2
    assert p.hours[11].total == 40 and p.hours[11].per_day == 20.0 and p.hours[10].total is None
    assert p.weekday_hour[0][11] == 20 and p.weekday_hour[1][9] == 6  # Monday, Tuesday
    c = a.compare("footfall", MONDAY, MONDAY + timedelta(days=2), None)
    assert (c.total.current, c.total.previous, c.total.delta, c.total.ratio) == (52, 10, 42, 5.2)
    assert c.previous_until == MONDAY and c.previous_since == MONDAY - timedelta(days=2)


def test_the_quarter_hour_rollup_answers_like_the_events(seed: Seed) -> None:
    """Aligned periods read the rollup, others the events: same numbers either way."""
    for i in range(30):
        at = MONDAY + timedelta(minutes=37 * i)
        seed.enter("cam1", "plaza", at, n=1 + i % 7)
        seed.cross("cam1", "road", at, n=2 + i % 5, label="car", direction="north" if i % 2 else "south")
        seed.sample("cam1", at, tracks=i % 9, cells={0: max(1, i % 9)})
    seed.flush()
    a = seed.analytics(timezone="Asia/Kolkata")  # UTC+5:30: local hours are not UTC hours
    since, until = MONDAY - H, MONDAY + 24 * H
    tick = timedelta(microseconds=1)  # unaligned: the events are read
    assert a.scope(since, until).aligned and not a.scope(since - tick, until).aligned
    for metric in ("footfall", "crossings", "presence"):
        for bucket in ("hour", "day"):
            rolled = a.series(metric, since, until, None, bucket=bucket)  # type: ignore[arg-type]
            raw = a.series(metric, since - tick, until, None, bucket=bucket)  # type: ignore[arg-type]
            assert rolled.series == raw.series and rolled.total == raw.total, (metric, bucket)
        assert (
            a.peak_hours(metric, since, until, None).hours
            == a.peak_hours(metric, since - tick, until, None).hours
        )
    assert (
        a.compare("crossings", since, until, None).changes
        == a.compare("crossings", since, until - tick, None).changes
    )
