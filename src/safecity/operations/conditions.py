"""Platform conditions as alerts: faults the platform notices in itself (the media store is full), raised as
alert rows an operator sees in the alerts API, the UI and the live feed, like any rule's alert.

`ConditionAlerts.raise_(key, ...)` opens the alert of a condition, or counts a repeat into the one still
open (one alert per episode, however often the fault repeats); `clear(key, note)` closes it when the
condition ends. Both commit, then push `alert` / `alert_update` live messages (platform alerts have no
camera: everyone with `alerts:read` gets them).
"""

from __future__ import annotations

import socket

from safecity.operations import alerts as repo
from safecity.operations.domain import Actor, Severity
from safecity.operations.engine import SessionFactory
from safecity.operations.live import LiveSink, safe_broadcast
from safecity.operations.schemas import AlertPublic

STORAGE_FULL = "storage_full"


class ConditionAlerts:
    def __init__(self, sessions: SessionFactory, live: LiveSink) -> None:
        self._sessions = sessions
        self.live = live

    def raise_(self, key: str, kind: str, title: str, severity: Severity = Severity.CRITICAL) -> AlertPublic:
        with self._sessions() as db:
            row, created = repo.raise_condition(db, key, kind, title, severity)
            db.commit()
            alert = AlertPublic.model_validate(row)
        safe_broadcast(self.live, "alert" if created else "alert_update", alert.model_dump(mode="json"), None)
        return alert

    def clear(self, key: str, note: str) -> list[AlertPublic]:
        with self._sessions() as db:
            rows = repo.close_condition(db, key, note, Actor.system("platform"))
            db.commit()
            closed = [AlertPublic.model_validate(r) for r in rows]
        for alert in closed:
            safe_broadcast(self.live, "alert_update", alert.model_dump(mode="json"), None)
        return closed


class StorageFullAlert:
    """The hook `RecordingService.storage_full` calls: `(True, detail)` when the media store refused a
    segment for lack of space, `(False, detail)` when a segment was stored again. The key names the host,
    so a restarted process closes the alert its predecessor left open."""

    def __init__(self, alerts: ConditionAlerts, host: str | None = None) -> None:
        self.alerts = alerts
        self.host = host or socket.gethostname()
        self.key = f"system={STORAGE_FULL}|host={self.host}"

    def __call__(self, full: bool, detail: str) -> None:
        if full:
            title = f"Media store full on {self.host}: recording paused, segments wait in the spool"
            self.alerts.raise_(self.key, STORAGE_FULL, title)
        else:
            self.alerts.clear(self.key, f"recording resumed: {detail}")
