"""`AlertEngine`: the bus subscriber that turns events into alerts; `CameraWatchdog`: camera-dark alerts.

The engine runs on the bus thread. For each event it finds the enabled rules that match, and in one
transaction raises a new alert or merges the event into the open alert with the same de-duplication key
seen within the rule's cooldown (occurrences + 1, last_seen moves). After the commit it pushes `alert`
(new) or `alert_update` (merged) live messages. Rules are read from the database and cached for
`rules_ttl_s`, so a rule changed through the API applies within that time without a restart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from safecity.operations import alerts as repo
from safecity.operations.domain import now_utc
from safecity.operations.live import LiveSink, safe_broadcast
from safecity.operations.rules import Observation, Rule
from safecity.operations.schemas import AlertPublic
from safecity.types import Event

log = logging.getLogger(__name__)
SessionFactory = Callable[[], Session]
DARK_STATUSES = frozenset({"dark", "error"})
DB_RETRIES = 4


@dataclass(frozen=True, slots=True)
class AlertChange:
    alert: AlertPublic
    created: bool


class AlertEngine:
    """Bus handler (`bus.subscribe(engine)`); see the module docstring."""

    def __init__(self, sessions: SessionFactory, live: LiveSink, *, rules_ttl_s: float = 2.0) -> None:
        self._sessions = sessions
        self.live = live
        self.rules_ttl_s = rules_ttl_s
        self._rules: tuple[Rule, ...] = ()
        self._loaded_at = float("-inf")
        self._lock = threading.Lock()
        self.raised = 0
        self.merged = 0

    def __call__(self, event: Event) -> None:
        """Bus handler. Retries while the database is briefly busy, then raises (a durable bus redelivers;
        a redelivered event is not counted twice)."""
        obs = Observation.from_event(event)
        for attempt in range(DB_RETRIES):
            try:
                self.observe(obs)
                return
            except OperationalError:
                if attempt == DB_RETRIES - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def invalidate_rules(self) -> None:
        self._loaded_at = float("-inf")

    def rules(self) -> tuple[Rule, ...]:
        with self._lock:
            if time.monotonic() - self._loaded_at >= self.rules_ttl_s:
                db = self._sessions()
                try:
                    self._rules = tuple(repo.to_rule(row) for row in repo.list_rules(db))
                finally:
                    db.close()
                self._loaded_at = time.monotonic()
            return self._rules

    def observe(self, obs: Observation) -> list[AlertChange]:
        """Raise or merge alerts for `obs`; return what changed (already committed and broadcast)."""
        matched = [rule for rule in self.rules() if rule.matches(obs)]
        if not matched:
            return []
        db = self._sessions()
        try:
            changes = []
            for rule in matched:
                row, created = repo.record(db, rule, obs)
                changes.append(AlertChange(AlertPublic.model_validate(row), created))
            db.commit()
        except BaseException:
            db.rollback()
            raise
        finally:
            db.close()
        for change in changes:
            self.raised += change.created
            self.merged += not change.created
            kind = "alert" if change.created else "alert_update"
            safe_broadcast(self.live, kind, change.alert.model_dump(mode="json"), change.alert.camera_id)
        return changes


class CameraWatchdog:
    """Raises a `camera_dark` observation when a camera's health status turns dark or error.

    `statuses()` returns each camera's status as the health page computes it (`safecity.api.health`:
    starting, ok, dark, error, stopped), so the platform has one definition of "dark". A camera is reported
    once per dark spell; the rule's cooldown merges a flapping camera into one alert.
    """

    def __init__(self, engine: AlertEngine, statuses: Callable[[], Mapping[str, str]]) -> None:
        self.engine = engine
        self.statuses = statuses
        self.dark: set[str] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def check(self) -> list[str]:
        """One pass; returns the cameras that went dark in it."""
        went_dark = []
        current = dict(self.statuses())
        for camera_id, status in current.items():
            if status not in DARK_STATUSES:
                self.dark.discard(camera_id)
            elif camera_id not in self.dark:
                self.dark.add(camera_id)
                went_dark.append(camera_id)
                self.engine.observe(Observation.camera_dark(camera_id, now_utc()))
        self.dark &= set(current)
        return went_dark

    def start(self, every_s: float) -> None:
        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    self.check()
                except Exception:
                    log.exception("camera watchdog check failed")

        self._thread = threading.Thread(target=loop, name="safecity-camera-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
