"""Escalation of what nobody answered: a dispatch the unit has not acknowledged (en route / on scene)
within `field.dispatch_ack_s`, and an open critical alert not acknowledged within
`field.critical_alert_ack_s`.

Each is escalated once: the stamp `escalated_at` is claimed with a conditional UPDATE, so with several
API nodes checking, one wins. A dispatch escalation writes a timeline entry that names the next nearest
available unit, and both push a live message (`dispatch_escalation`, `alert_escalation`) to the control
room, whose UI alerts the operator.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from safecity.operations.domain import Actor, AlertStatus, DispatchStatus, Severity, TimelineKind, now_utc
from safecity.operations.field_config import FieldConfig
from safecity.operations.field_units import incident_position, nearest_units
from safecity.operations.incidents import add_timeline
from safecity.operations.live import LiveSink
from safecity.operations.models import AlertRow, DispatchRow, FieldUnitRow, IncidentRow

log = logging.getLogger(__name__)
SYSTEM = Actor.system("escalation")
CameraPosition = Callable[[str], tuple[float, float] | None]


@dataclass(frozen=True, slots=True)
class Escalation:
    type: str  # dispatch_escalation | alert_escalation
    data: dict[str, Any]
    camera_id: str | None
    permission: str


def _claim(db: Session, model: type[DispatchRow] | type[AlertRow], row_id: int) -> bool:
    done = db.execute(
        update(model).where(model.id == row_id, model.escalated_at.is_(None)).values(escalated_at=now_utc())
    )
    return bool(getattr(done, "rowcount", 0))


def _dispatch(db: Session, row: DispatchRow, cfg: FieldConfig, camera: CameraPosition) -> Escalation:
    incident = db.get(IncidentRow, row.incident_id)
    unit = db.get(FieldUnitRow, row.unit_id)
    assert incident is not None and unit is not None  # foreign keys
    where = incident_position(incident, camera(incident.camera_id) if incident.camera_id else None)
    nxt = next(iter(nearest_units(db, where, cfg.stale_after_s, exclude={unit.id})), None)
    waited = round((now_utc() - row.dispatched_at).total_seconds())
    text = f"{unit.call_sign} has not acknowledged the dispatch after {waited} s"
    text += f"; nearest available: {nxt.unit.call_sign}" if nxt else "; no other unit available"
    suggested = None if nxt is None else {"unit_id": nxt.unit.id, "call_sign": nxt.unit.call_sign,
                                          "distance_m": nxt.distance_m}  # fmt: skip
    data = {"dispatch_id": row.id, "unit_id": unit.id, "call_sign": unit.call_sign, "suggested": suggested}
    add_timeline(db, incident, TimelineKind.ESCALATION, SYSTEM, text, data)
    payload = data | {"incident_id": incident.id, "incident_title": incident.title, "message": text}
    return Escalation("dispatch_escalation", payload, incident.camera_id, "dispatch:create")


def check(db: Session, cfg: FieldConfig, camera: CameraPosition) -> list[Escalation]:
    """One pass; the caller commits, then sends the returned messages."""
    now = now_utc()
    out: list[Escalation] = []
    late = db.scalars(
        select(DispatchRow).where(
            DispatchRow.status == DispatchStatus.DISPATCHED.value,
            DispatchRow.escalated_at.is_(None),
            DispatchRow.dispatched_at < now - timedelta(seconds=cfg.dispatch_ack_s),
        )
    )
    for row in list(late):
        if _claim(db, DispatchRow, row.id):
            out.append(_dispatch(db, row, cfg, camera))
    alerts = db.scalars(
        select(AlertRow).where(
            AlertRow.status == AlertStatus.OPEN.value,
            AlertRow.severity == Severity.CRITICAL.value,
            AlertRow.escalated_at.is_(None),
            AlertRow.created_at < now - timedelta(seconds=cfg.critical_alert_ack_s),
        )
    )
    for alert in list(alerts):
        if _claim(db, AlertRow, alert.id):
            waited = round((now - alert.created_at).total_seconds())
            data = {"alert_id": alert.id, "title": alert.title, "severity": alert.severity,
                    "message": f"Critical alert #{alert.id} not acknowledged after {waited} s"}  # fmt: skip
            out.append(Escalation("alert_escalation", data, alert.camera_id, "alerts:read"))
    return out


class Escalator:
    """Runs `check` every `cfg.escalation_every_s` on its own thread and pushes what it finds."""

    def __init__(
        self, session: Callable[[], Session], live: LiveSink, cfg: FieldConfig, camera: CameraPosition
    ) -> None:
        self.session, self.live, self.cfg, self.camera = session, live, cfg, camera
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> list[Escalation]:
        with self.session() as db:
            found = check(db, self.cfg, self.camera)
            db.commit()
        for e in found:
            try:
                self.live.broadcast(e.type, e.data, e.camera_id, permission=e.permission)
            except Exception:
                log.exception("live %s message not sent", e.type)
        return found

    def start(self) -> None:
        def loop() -> None:
            while not self._stop.wait(self.cfg.escalation_every_s):
                try:
                    self.run_once()
                except Exception:
                    log.exception("escalation check failed")

        self._thread = threading.Thread(target=loop, name="safecity-escalation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
