"""Alert rules and alerts: repository functions and the alert lifecycle, on an explicit ORM session.

Lifecycle: open -> acknowledged -> (assigned) -> closed, each step with who and when; assigning an open
alert acknowledges it too; closing needs an acknowledged alert and a note. Anything else is a
`ConflictError` with the reason. The caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from safecity.operations.config import CAMERA_DARK, AlertRuleSeed
from safecity.operations.domain import (
    Actor,
    AlertStatus,
    ConflictError,
    InvalidError,
    NotFoundError,
    Severity,
    now_utc,
)
from safecity.operations.models import AlertRow, AlertRuleRow
from safecity.operations.rules import Observation, Rule
from safecity.operations.schemas import AlertRuleUpdate

CameraScope = frozenset[str] | None  # None: every camera


# --- rules ------------------------------------------------------------------------------------------


def _frozen(values: Sequence[str] | None) -> frozenset[str] | None:
    return None if values is None else frozenset(values)


def to_rule(row: AlertRuleRow) -> Rule:
    return Rule(
        id=row.id,
        name=row.name,
        event_kinds=frozenset(row.event_kinds),
        severity=Severity(row.severity),
        cooldown_s=row.cooldown_s,
        dedup_by=tuple(row.dedup_by),
        labels=_frozen(row.labels),
        camera_ids=_frozen(row.camera_ids),
        zone_ids=_frozen(row.zone_ids),
        line_ids=_frozen(row.line_ids),
        enabled=row.enabled,
    )


def list_rules(db: Session) -> list[AlertRuleRow]:
    return list(db.scalars(select(AlertRuleRow).order_by(AlertRuleRow.id)))


def get_rule(db: Session, rule_id: int) -> AlertRuleRow:
    row = db.get(AlertRuleRow, rule_id)
    if row is None:
        raise NotFoundError(f"no alert rule {rule_id}")
    return row


def _check_name_free(db: Session, name: str, rule_id: int | None = None) -> None:
    clash = db.scalar(select(AlertRuleRow.id).where(AlertRuleRow.name == name))
    if clash is not None and clash != rule_id:
        raise ConflictError(f"an alert rule named {name!r} already exists (rule {clash})")


def _list(values: Iterable[str] | None) -> list[str] | None:
    return None if values is None else list(values)


def create_rule(db: Session, seed: AlertRuleSeed, actor: Actor) -> AlertRuleRow:
    _check_name_free(db, seed.name)
    now = now_utc()
    row = AlertRuleRow(
        name=seed.name, enabled=seed.enabled, event_kinds=list(seed.event_kinds),
        labels=_list(seed.labels), camera_ids=_list(seed.camera_ids), zone_ids=_list(seed.zone_ids),
        line_ids=_list(seed.line_ids), severity=seed.severity.value, cooldown_s=seed.cooldown_s,
        dedup_by=list(seed.dedup_by), created_at=now, updated_at=now, updated_by=actor.name,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row


def update_rule(db: Session, rule_id: int, change: AlertRuleUpdate, actor: Actor) -> AlertRuleRow:
    row = get_rule(db, rule_id)
    fields = change.model_dump(exclude_unset=True)
    if fields.get("name") is not None:
        _check_name_free(db, fields["name"], rule_id)
    try:  # validate the resulting rule, not only the change (e.g. an explicit null name)
        merged = AlertRuleSeed.model_validate(
            {**{k: getattr(row, k) for k in AlertRuleSeed.model_fields}, **fields}
        )
    except ValidationError as exc:
        raise InvalidError(f"invalid alert rule: {exc.errors()[0]['msg']}") from exc
    for name in AlertRuleSeed.model_fields:
        value = getattr(merged, name)
        setattr(row, name, value.value if isinstance(value, Severity) else _plain(value))
    row.updated_at = now_utc()
    row.updated_by = actor.name
    db.flush()
    return row


def _plain(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def ensure_default_rules(db: Session, seeds: Sequence[AlertRuleSeed]) -> int:
    """Insert `seeds` when the rules table is empty (first start); return how many were added."""
    if db.scalar(select(func.count()).select_from(AlertRuleRow)):
        return 0
    for seed in seeds:
        create_rule(db, seed, Actor.system("defaults"))
    return len(seeds)


# --- alerts -----------------------------------------------------------------------------------------


def record(db: Session, rule: Rule, obs: Observation) -> tuple[AlertRow, bool]:
    """Raise an alert for `obs`, or merge it into the open alert with the same key seen within the
    rule's cooldown. Returns the alert and whether it is new."""
    key = rule.dedup_key(obs)
    recent = db.scalar(
        select(AlertRow)
        .where(AlertRow.dedup_key == key, AlertRow.status != AlertStatus.CLOSED.value)
        .where(AlertRow.last_seen >= obs.at - timedelta(seconds=rule.cooldown_s))
        .order_by(AlertRow.last_seen.desc())
        .limit(1)
    )
    if recent is not None:
        if obs.event_id is not None and obs.event_id in (recent.first_event_id, recent.last_event_id):
            return recent, False  # the same event delivered again (an at-least-once bus): no new occurrence
        recent.occurrences += 1
        if obs.at >= recent.last_seen:
            recent.last_seen = obs.at
            recent.last_event_id = obs.event_id or recent.last_event_id
            recent.snapshot = obs.snapshot or recent.snapshot
        if obs.count is not None:
            recent.count = max(recent.count or 0, obs.count)
        db.flush()
        return recent, False
    row = AlertRow(
        rule_id=rule.id, rule_name=rule.name, kind=obs.kind, severity=rule.severity.value,
        status=AlertStatus.OPEN.value, dedup_key=key, title=obs.title(), camera_id=obs.camera_id,
        zone_id=obs.zone_id, line_id=obs.line_id, label=obs.label, count=obs.count, occurrences=1,
        first_event_id=obs.event_id, last_event_id=obs.event_id, snapshot=obs.snapshot,
        first_seen=obs.at, last_seen=obs.at, created_at=now_utc(),
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row, True


@dataclass(frozen=True, slots=True)
class AlertFilter:
    status: AlertStatus | None = None
    severity: Severity | None = None
    camera_id: str | None = None
    cameras: CameraScope = None
    limit: int = 50
    offset: int = 0
    since: datetime | None = None  # active at some time in [since, until]
    until: datetime | None = None


def _scope(cameras: CameraScope) -> list[ColumnElement[bool]]:
    """Alerts of cameras outside a user's access list are invisible (platform alerts have no camera)."""
    if cameras is None:
        return []
    return [AlertRow.camera_id.in_(sorted(cameras)) | AlertRow.camera_id.is_(None)]


def list_alerts(db: Session, f: AlertFilter) -> tuple[list[AlertRow], int]:
    where = _scope(f.cameras)
    if f.status is not None:
        where.append(AlertRow.status == f.status.value)
    if f.severity is not None:
        where.append(AlertRow.severity == f.severity.value)
    if f.camera_id is not None:
        where.append(AlertRow.camera_id == f.camera_id)
    if f.since is not None:
        where.append(AlertRow.last_seen >= f.since)
    if f.until is not None:
        where.append(AlertRow.first_seen <= f.until)
    total = int(db.scalar(select(func.count()).select_from(AlertRow).where(*where)) or 0)
    rows = db.scalars(
        select(AlertRow).where(*where).order_by(AlertRow.last_seen.desc(), AlertRow.id.desc())
        .limit(f.limit).offset(f.offset)
    )  # fmt: skip
    return list(rows), total


def get_alert(db: Session, alert_id: int, cameras: CameraScope = None) -> AlertRow:
    row = db.get(AlertRow, alert_id)
    if row is None or (cameras is not None and row.camera_id is not None and row.camera_id not in cameras):
        raise NotFoundError(f"no alert {alert_id}")
    return row


def acknowledge(db: Session, row: AlertRow, actor: Actor, at: datetime | None = None) -> AlertRow:
    if row.status != AlertStatus.OPEN.value:
        who = f" by {row.acknowledged_by}" if row.acknowledged_by else ""
        raise ConflictError(f"alert {row.id} is {row.status}{who}; only an open alert can be acknowledged")
    row.status = AlertStatus.ACKNOWLEDGED.value
    row.acknowledged_at = at or now_utc()
    row.acknowledged_by_id, row.acknowledged_by = actor.id, actor.name
    db.flush()
    return row


def assign(db: Session, row: AlertRow, assignee_id: int, actor: Actor) -> AlertRow:
    if row.status == AlertStatus.CLOSED.value:
        raise ConflictError(f"alert {row.id} is closed; a closed alert cannot be assigned")
    now = now_utc()
    if row.status == AlertStatus.OPEN.value:
        acknowledge(db, row, actor, now)
    row.status = AlertStatus.ASSIGNED.value
    row.assignee_id = assignee_id
    row.assigned_at = now
    row.assigned_by_id, row.assigned_by = actor.id, actor.name
    db.flush()
    return row


def close(db: Session, row: AlertRow, note: str, actor: Actor) -> AlertRow:
    if row.status == AlertStatus.CLOSED.value:
        raise ConflictError(f"alert {row.id} is already closed (by {row.closed_by})")
    if row.status == AlertStatus.OPEN.value:
        raise ConflictError(f"alert {row.id} is open; acknowledge it before closing it")
    if not note.strip():
        raise ConflictError("closing an alert needs a note")
    row.status = AlertStatus.CLOSED.value
    row.closed_at = now_utc()
    row.closed_by_id, row.closed_by = actor.id, actor.name
    row.close_note = note.strip()
    db.flush()
    return row


def close_camera_dark(db: Session, camera_id: str, actor: Actor) -> list[AlertRow]:
    """A camera taken out of service (disabled) is dark on purpose: its camera_dark alerts close, noted."""
    rows = list(
        db.scalars(
            select(AlertRow).where(
                AlertRow.camera_id == camera_id,
                AlertRow.kind == CAMERA_DARK,
                AlertRow.status != AlertStatus.CLOSED.value,
            )
        )
    )
    now = now_utc()
    for row in rows:
        row.status, row.closed_at = AlertStatus.CLOSED.value, now
        row.closed_by_id, row.closed_by = actor.id, actor.name
        row.close_note = "camera disabled"
    db.flush()
    return rows


# --- platform conditions ----------------------------------------------------------------------------


def raise_condition(
    db: Session, key: str, kind: str, title: str, severity: Severity, at: datetime | None = None
) -> tuple[AlertRow, bool]:
    """An alert for a condition the platform notices in itself (no rule: it cannot be disabled). While
    an alert with `key` is not closed, a repeat only counts (occurrences + 1, last_seen moves), so one
    condition is one alert however long it lasts. Returns the alert and whether it is new."""
    at = at or now_utc()
    row = db.scalar(
        select(AlertRow)
        .where(AlertRow.dedup_key == key, AlertRow.status != AlertStatus.CLOSED.value)
        .order_by(AlertRow.id.desc())
        .limit(1)
    )
    if row is not None:
        row.occurrences += 1
        row.last_seen = max(row.last_seen, at)
        db.flush()
        return row, False
    row = AlertRow(
        rule_id=None, rule_name="Platform", kind=kind, severity=severity.value, status=AlertStatus.OPEN.value,
        dedup_key=key, title=title[:256], occurrences=1, first_seen=at, last_seen=at, created_at=now_utc(),
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row, True


def close_condition(db: Session, key: str, note: str, actor: Actor) -> list[AlertRow]:
    """The condition of `key` ended: its alerts that are not closed yet close, whatever their step."""
    rows = list(
        db.scalars(
            select(AlertRow).where(AlertRow.dedup_key == key, AlertRow.status != AlertStatus.CLOSED.value)
        )
    )
    now = now_utc()
    for row in rows:
        row.status, row.closed_at = AlertStatus.CLOSED.value, now
        row.closed_by_id, row.closed_by = actor.id, actor.name
        row.close_note = note
    db.flush()
    return rows
