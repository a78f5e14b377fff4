"""AlertEngine on real Events and a real SQLite database: rules, severity, de-duplication, cooldown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from safecity.bus.memory import MemoryBus
from safecity.operations import alerts as repo
from safecity.operations.config import AlertRuleSeed, OperationsConfig
from safecity.operations.domain import Actor, ConflictError, InvalidError, NotFoundError, Severity
from safecity.operations.engine import AlertEngine, CameraWatchdog
from safecity.operations.live import NullLive
from safecity.operations.models import AlertRow
from safecity.operations.schemas import AlertRuleUpdate
from safecity.types import Event, EventKind

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)  # the builders' default event time
EventBuilder = Callable[..., Event]
ADMIN = Actor(1, "admin")


def alerts(sessions: Callable[[], Session]) -> list[AlertRow]:
    with sessions() as db:
        return list(db.scalars(select(AlertRow).order_by(AlertRow.id)))


def test_crowding_raises_a_high_alert_and_broadcasts_it(
    alert_engine: AlertEngine, sessions: Callable[[], Session], live: NullLive, make_event: EventBuilder
) -> None:
    ev = make_event(EventKind.CROWDING, count=7, snapshot="snapshots/cam1/2025-06-01/x.jpg")
    changes = alert_engine(ev)
    assert changes is None  # a bus handler returns nothing; observe() is the inspectable entry
    (row,) = alerts(sessions)
    assert (row.kind, row.severity, row.status) == ("crowding", "high", "open")
    assert (row.camera_id, row.zone_id, row.count, row.occurrences) == ("cam1", "plaza", 7, 1)
    assert row.first_event_id == ev.id and row.snapshot == ev.snapshot
    assert row.first_seen == row.last_seen == ev.end
    assert "Crowding" in row.title and "plaza" in row.title
    (msg,) = live.sent
    assert msg[0] == "alert" and msg[1]["id"] == row.id and msg[1]["severity"] == "high" and msg[2] == "cam1"


def test_repeat_within_cooldown_is_merged(
    alert_engine: AlertEngine, sessions: Callable[[], Session], live: NullLive, make_event: EventBuilder
) -> None:
    first, second = make_event(count=4), make_event(at=T0 + timedelta(seconds=120), count=9)
    alert_engine(first)
    alert_engine(second)
    (row,) = alerts(sessions)
    assert row.occurrences == 2 and row.count == 9
    assert row.first_seen == first.end and row.last_seen == second.end
    assert row.first_event_id == first.id and row.last_event_id == second.id
    assert [m[0] for m in live.sent] == ["alert", "alert_update"]
    assert live.sent[1][1]["occurrences"] == 2


def test_same_event_delivered_twice_counts_once(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    ev = make_event()
    alert_engine(ev)
    alert_engine(ev)  # an at-least-once bus redelivers
    assert [a.occurrences for a in alerts(sessions)] == [1]


def test_after_the_cooldown_a_new_alert_is_raised(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    alert_engine(make_event())
    alert_engine(make_event(at=T0 + timedelta(seconds=299)))  # default crowding cooldown: 300 s
    alert_engine(make_event(at=T0 + timedelta(seconds=299 + 301)))  # cooldown runs from last_seen
    assert [a.occurrences for a in alerts(sessions)] == [2, 1]


def test_dedup_key_separates_zones_and_cameras(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    alert_engine(make_event(zone="plaza"))
    alert_engine(make_event(zone="gate"))
    alert_engine(make_event(camera="cam2", zone="plaza"))
    alert_engine(make_event(zone="plaza", at=T0 + timedelta(seconds=5)))
    rows = alerts(sessions)
    assert [(a.camera_id, a.zone_id, a.occurrences) for a in rows] == [
        ("cam1", "plaza", 2),
        ("cam1", "gate", 1),
        ("cam2", "plaza", 1),
    ]
    assert len({a.dedup_key for a in rows}) == 3


def test_closed_alert_is_not_reopened_by_a_repeat(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    alert_engine(make_event())
    with sessions() as db:
        row = repo.get_alert(db, alerts(sessions)[0].id)
        repo.acknowledge(db, row, ADMIN)
        repo.close(db, row, "stewards handled it", ADMIN)
        db.commit()
    alert_engine(make_event(at=T0 + timedelta(seconds=10)))
    assert [(a.status, a.occurrences) for a in alerts(sessions)] == [("closed", 1), ("open", 1)]


def test_severity_comes_from_rules_and_line_crossings_do_not_alert(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    alert_engine(make_event(EventKind.LOITERING, label="person", track_id=3))
    alert_engine(make_event(EventKind.LINE_CROSSING))
    alert_engine(make_event(EventKind.ZONE_ENTER, label="person", track_id=4))
    assert [(a.kind, a.severity) for a in alerts(sessions)] == [("loitering", "medium")]


def test_rule_changes_apply_without_restart(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    with sessions() as db:
        crossing = next(r for r in repo.list_rules(db) if r.name == "Line crossing")
        crowding = next(r for r in repo.list_rules(db) if r.name == "Crowding")
        repo.update_rule(db, crossing.id, AlertRuleUpdate(enabled=True, severity=Severity.LOW), ADMIN)
        repo.update_rule(db, crowding.id, AlertRuleUpdate(enabled=False), ADMIN)
        db.commit()
    alert_engine.invalidate_rules()
    alert_engine(make_event(EventKind.CROWDING))
    alert_engine(make_event(EventKind.LINE_CROSSING))
    assert [(a.kind, a.severity, a.line_id) for a in alerts(sessions)] == [("line_crossing", "low", "door")]


def test_rule_filters_by_camera_and_label(sessions: Callable[[], Session], make_event: EventBuilder) -> None:
    with sessions() as db:
        seed = AlertRuleSeed(
            name="Vehicle in the square", event_kinds=("zone_enter",), labels=("car", "truck"),
            camera_ids=("cam1",), severity=Severity.CRITICAL, cooldown_s=0,
        )  # fmt: skip
        repo.create_rule(db, seed, ADMIN)
        db.commit()
    engine = AlertEngine(sessions, NullLive(), rules_ttl_s=0)
    engine(make_event(EventKind.ZONE_ENTER, label="person", track_id=1))
    engine(make_event(EventKind.ZONE_ENTER, label="car", track_id=2, camera="cam2"))
    engine(make_event(EventKind.ZONE_ENTER, label="car", track_id=3))
    assert [(a.rule_name, a.severity, a.label) for a in alerts(sessions)] == [
        ("Vehicle in the square", "critical", "car")
    ]


def test_engine_as_a_bus_subscriber(
    alert_engine: AlertEngine, sessions: Callable[[], Session], make_event: EventBuilder
) -> None:
    bus = MemoryBus()
    bus.subscribe(alert_engine)
    for i in range(5):
        bus.publish(make_event(at=T0 + timedelta(seconds=i)))
    assert bus.drain(10)
    bus.close()
    assert bus.handler_errors == 0
    assert [a.occurrences for a in alerts(sessions)] == [5]


def test_camera_dark_from_health_statuses(
    alert_engine: AlertEngine, sessions: Callable[[], Session], live: NullLive
) -> None:
    statuses = {"cam1": "ok", "cam2": "starting"}
    watchdog = CameraWatchdog(alert_engine, lambda: statuses)
    assert watchdog.check() == []
    statuses["cam1"] = "dark"
    assert watchdog.check() == ["cam1"]
    assert watchdog.check() == []  # still dark: reported once per spell
    statuses["cam1"], statuses["cam2"] = "ok", "error"
    assert watchdog.check() == ["cam2"]
    statuses["cam1"] = "dark"  # dark again within the cooldown: the same alert, one more occurrence
    assert watchdog.check() == ["cam1"]
    rows = alerts(sessions)
    assert [(a.kind, a.camera_id, a.severity, a.occurrences) for a in rows] == [
        ("camera_dark", "cam1", "high", 2),
        ("camera_dark", "cam2", "high", 1),
    ]
    assert rows[0].title == "Camera dark on cam1"
    assert [m[0] for m in live.sent] == ["alert", "alert", "alert_update"]


def test_settings_seed_replaces_the_defaults(engine: Engine) -> None:
    cfg = OperationsConfig.model_validate(
        {"alert_rules": [{"name": "Only crowding", "event_kinds": ["crowding"], "severity": "critical"}]}
    )
    assert cfg.alert_rules is not None
    with Session(engine) as db:
        assert repo.ensure_default_rules(db, cfg.alert_rules) == 1
        assert repo.ensure_default_rules(db, cfg.alert_rules) == 0  # only on first start
        assert [(r.name, r.severity) for r in repo.list_rules(db)] == [("Only crowding", "critical")]
    with pytest.raises(ValidationError, match="unknown event kind"):
        OperationsConfig.model_validate({"alert_rules": [{"name": "x", "event_kinds": ["crowdng"]}]})


def test_rule_names_are_unique_and_updates_are_validated(sessions: Callable[[], Session]) -> None:
    with sessions() as db:
        with pytest.raises(ConflictError, match="already exists"):
            repo.create_rule(db, AlertRuleSeed(name="Crowding", event_kinds=("crowding",)), ADMIN)
        rule = repo.list_rules(db)[0]
        with pytest.raises(InvalidError):
            repo.update_rule(db, rule.id, AlertRuleUpdate.model_validate({"name": None}), ADMIN)
        with pytest.raises(NotFoundError):
            repo.update_rule(db, 999, AlertRuleUpdate(enabled=False), ADMIN)
    with pytest.raises(ValidationError):
        AlertRuleUpdate.model_validate({"event_kinds": ["nope"]})
