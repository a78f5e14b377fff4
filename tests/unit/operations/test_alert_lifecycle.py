"""Alert lifecycle: open -> acknowledged -> (assigned) -> closed, who and when, and invalid steps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from safecity.operations import alerts as repo
from safecity.operations.domain import Actor, AlertStatus, ConflictError, NotFoundError, Severity
from safecity.operations.engine import AlertEngine
from safecity.operations.models import AlertRow
from safecity.operations.rules import Observation
from safecity.types import Event, EventKind

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
ANA, BEN = Actor(1, "ana"), Actor(2, "ben")


@pytest.fixture
def alert_id(alert_engine: AlertEngine, make_event: Callable[..., Event]) -> int:
    (created,) = _observe(alert_engine, make_event())
    return created


def _observe(engine: AlertEngine, ev: Event) -> list[int]:
    return [c.alert.id for c in engine.observe(Observation.from_event(ev))]


def _get(db: Session, alert_id: int) -> AlertRow:
    return repo.get_alert(db, alert_id)


def test_ack_assign_close_records_who_and_when(db: Session, alert_id: int) -> None:
    before = datetime.now(UTC)
    row = repo.acknowledge(db, _get(db, alert_id), ANA)
    assert (row.status, row.acknowledged_by, row.acknowledged_by_id) == ("acknowledged", "ana", 1)
    assert row.acknowledged_at is not None and row.acknowledged_at >= before
    row = repo.assign(db, row, 2, ANA)
    assert (row.status, row.assignee_id, row.assigned_by) == ("assigned", 2, "ana")
    row = repo.close(db, row, "  crowd dispersed after the concert  ", BEN)
    assert (row.status, row.closed_by, row.close_note) == (
        "closed",
        "ben",
        "crowd dispersed after the concert",
    )
    db.commit()
    again = _get(db, alert_id)
    assert again.acknowledged_by == "ana" and again.closed_by == "ben" and again.closed_at is not None


def test_assigning_an_open_alert_acknowledges_it(db: Session, alert_id: int) -> None:
    row = repo.assign(db, _get(db, alert_id), 7, BEN)
    assert (
        row.status == "assigned" and row.acknowledged_by == "ben" and row.acknowledged_at == row.assigned_at
    )
    row = repo.assign(db, row, 8, ANA)  # reassigning is allowed
    assert row.assignee_id == 8 and row.acknowledged_by == "ben"


def test_invalid_transitions_say_why(db: Session, alert_id: int) -> None:
    row = _get(db, alert_id)
    with pytest.raises(ConflictError, match="acknowledge it before closing"):
        repo.close(db, row, "noise", ANA)
    repo.acknowledge(db, row, ANA)
    with pytest.raises(ConflictError, match="is acknowledged by ana"):
        repo.acknowledge(db, row, BEN)
    with pytest.raises(ConflictError, match="needs a note"):
        repo.close(db, row, "   ", ANA)
    repo.close(db, row, "false positive: a shadow", ANA)
    for step in (
        lambda: repo.acknowledge(db, row, ANA),
        lambda: repo.assign(db, row, 2, ANA),
        lambda: repo.close(db, row, "again", ANA),
    ):
        with pytest.raises(ConflictError, match="closed"):
            step()
    assert row.status == AlertStatus.CLOSED


def test_list_filters_pages_and_camera_scope(
    db: Session, alert_engine: AlertEngine, make_event: Callable[..., Event]
) -> None:
    for i, (cam, kind) in enumerate(
        [("cam1", EventKind.CROWDING), ("cam2", EventKind.CROWDING), ("cam2", EventKind.LOITERING)]
    ):
        _observe(alert_engine, make_event(kind, camera=cam, at=T0 + timedelta(minutes=i), track_id=i))
    rows, total = repo.list_alerts(db, repo.AlertFilter())
    assert total == 3 and [r.camera_id for r in rows] == ["cam2", "cam2", "cam1"]  # last seen first
    rows, total = repo.list_alerts(db, repo.AlertFilter(severity=Severity.MEDIUM))
    assert total == 1 and rows[0].kind == "loitering"
    rows, total = repo.list_alerts(db, repo.AlertFilter(cameras=frozenset({"cam1"})))
    assert total == 1 and rows[0].camera_id == "cam1"
    rows, total = repo.list_alerts(db, repo.AlertFilter(limit=1, offset=1))
    assert total == 3 and len(rows) == 1 and rows[0].kind == "crowding"
    repo.acknowledge(db, rows[0], ANA)
    _, total = repo.list_alerts(db, repo.AlertFilter(status=AlertStatus.OPEN))
    assert total == 2
    hidden = repo.list_alerts(db, repo.AlertFilter(cameras=frozenset({"cam9"})))[0]
    assert hidden == []
    with pytest.raises(NotFoundError):
        repo.get_alert(db, rows[0].id, frozenset({"cam1"}))
    with pytest.raises(NotFoundError):
        repo.get_alert(db, 12345)
