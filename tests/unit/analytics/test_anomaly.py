"""Anomalies: median/MAD baseline of the same weekday and hour, real zeros vs dark hours, bus events."""

from __future__ import annotations

from datetime import timedelta

import pytest

from safecity.analytics.anomaly import ensure_anomaly_rule, robust_score, to_event
from safecity.store import EventQuery, open_store
from safecity.types import EventKind
from support.analytics_fixtures import MONDAY, Seed

WEEK = timedelta(weeks=1)
HOUR = MONDAY + 4 * WEEK  # the Monday 09:00 UTC judged; history: the 4 Mondays before


def history(seed: Seed, values: list[int], camera: str = "cam1") -> None:
    """Footfall of `values` at 09:10 on the Mondays before HOUR, plus a heartbeat sample that hour."""
    for i, n in enumerate(values):
        at = HOUR - (len(values) - i) * WEEK
        seed.sample(camera, at, tracks=0)
        if n:
            seed.enter(camera, "plaza", at + timedelta(minutes=10), n=n)


def test_robust_score_uses_mad_with_a_poisson_floor() -> None:
    z, med, mad = robust_score(130, [100, 104, 96, 100, 98])
    assert (med, mad) == (100, 2) and z == pytest.approx(30 / 10)  # 1.4826 * 2 < sqrt(100)
    z, med, mad = robust_score(60, [20, 40, 30, 50, 10])
    assert (med, mad) == (30, 10) and z == pytest.approx(30 / 14.826)
    assert robust_score(3, [0, 0, 0])[0] == pytest.approx(3.0)  # a flat zero history: floor 1, not 0


def test_a_crowd_far_above_its_usual_level_is_an_anomaly(seed: Seed) -> None:
    history(seed, [40, 44, 38, 42])
    seed.enter("cam1", "plaza", HOUR + timedelta(minutes=5), n=120)
    seed.enter("cam1", "plaza", HOUR - timedelta(days=1), n=500)  # Sunday: another weekday, ignored
    seed.flush()
    (a,) = seed.analytics(anomaly={"min_history": 3}).anomalies(HOUR, None, ("footfall",))
    assert a.direction == "above" and a.observed == 120 and a.median == 41 and a.history == 4
    assert a.key.camera_id == "cam1" and a.key.zone_id == "plaza" and a.score > 3.5


def test_usual_levels_and_dark_hours_raise_nothing(seed: Seed) -> None:
    history(seed, [40, 44, 38, 42])
    seed.enter("cam1", "plaza", HOUR + timedelta(minutes=5), n=45)
    seed.flush()
    assert seed.analytics().anomalies(HOUR, None, ("footfall",)) == []


def test_a_quiet_hour_with_the_camera_watching_is_an_anomaly_below(seed: Seed) -> None:
    history(seed, [40, 44, 38, 42])
    seed.sample("cam1", HOUR, tracks=0)  # the camera saw the hour: nobody entered
    seed.flush()
    (a,) = seed.analytics().anomalies(HOUR, None, ("footfall",))
    assert a.direction == "below" and a.observed is None and a.median == 41  # 0 < min_count: suppressed


def test_a_dark_camera_is_a_gap_not_a_zero(seed: Seed) -> None:
    history(seed, [40, 44, 38, 42])  # nothing at all in the judged hour: the camera was not watching
    seed.flush()
    assert seed.analytics().anomalies(HOUR, None, ("footfall",)) == []


def test_too_little_history_judges_nothing(seed: Seed) -> None:
    history(seed, [40, 0, 0, 0][:2])
    seed.enter("cam1", "plaza", HOUR, n=400)
    seed.flush()
    assert seed.analytics().anomalies(HOUR, None, ("footfall",)) == []


def test_anomaly_events_are_stored_once_and_raise_an_alert_rule(seed: Seed) -> None:
    history(seed, [40, 44, 38, 42])
    seed.enter("cam1", "plaza", HOUR + timedelta(minutes=5), n=120)
    seed.flush()
    (a,) = seed.analytics().anomalies(HOUR, None, ("footfall",))
    event = to_event(a)
    assert event == to_event(a)  # deterministic id: a re-run does not duplicate
    assert event.kind is EventKind.ANOMALY and event.direction == "above" and event.count == 120
    assert event.start == HOUR and event.end == HOUR + timedelta(hours=1) and event.track_id is None
    store = open_store(seed.url)
    try:
        store.append([event, to_event(a)])
        assert store.count(EventQuery(kind=EventKind.ANOMALY)) == 1
    finally:
        store.close()
    from sqlalchemy.orm import Session

    from safecity.operations.alerts import list_rules

    with Session(seed.engine) as db:
        assert ensure_anomaly_rule(db) is True
        assert ensure_anomaly_rule(db) is False
        rules = {r.name: r.event_kinds for r in list_rules(db)}
        db.commit()
    assert rules["Unusual activity"] == ["anomaly"] and "Crowding" in rules  # the defaults are seeded too
