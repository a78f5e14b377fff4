"""Analytics inside a running node: scheduled jobs on a small thread (like the camera watchdog).

Each hour, the anomalies of the hour that just ended are published on the bus (stored as `anomaly`
events, alerted by the operations engine through the "Unusual activity" rule). Each day, once the local
clock passes `report.at_hour`, the complete UTC days of the last week that the lake lacks are exported
and yesterday's report (HTML, PDF) is written, unless it exists already. `tick(now)` does one pass, so
tests drive it with their own clock. Several nodes running the jobs do not duplicate anything visible:
anomaly events have deterministic ids (the store keeps one) and the alert rule merges repeats.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from safecity.analytics.anomaly import ensure_anomaly_rule, to_event
from safecity.analytics.service import Analytics, whole_hour
from safecity.bus.base import Bus

if TYPE_CHECKING:
    from safecity.config.models import Settings

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    anomalies: int = 0
    exported: list[date] = field(default_factory=list)
    report: date | None = None


@dataclass
class AnalyticsJobs:
    analytics: Analytics
    bus: Bus
    last_hour: datetime | None = None
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def tick(self, now: datetime) -> TickResult:
        out = TickResult()
        cfg = self.analytics.cfg
        hour = whole_hour(now) - timedelta(hours=1)
        if cfg.anomaly.enabled and hour != self.last_hour:
            found = self.analytics.anomalies(hour, None)
            for a in found:
                self.bus.publish(to_event(a))
            self.last_hour, out.anomalies = hour, len(found)
        local = now.astimezone(ZoneInfo(cfg.timezone))
        if cfg.report.enabled and local.hour >= cfg.report.at_hour:
            day = local.date() - timedelta(days=1)
            if not (self.analytics.reports_dir / f"report-{day.isoformat()}.html").is_file():
                from safecity.analytics.report import write_daily

                lookback = cfg.anomaly.weeks * 7 + 1  # so the anomaly baseline reads the lake
                missing = self.analytics.missing_days(now.astimezone(UTC).date(), lookback)
                out.exported = list(self.analytics.export(missing).days)
                write_daily(self.analytics, day)
                out.report = day
        return out

    def start(self, every_s: float) -> None:
        def loop() -> None:
            while not self._stop.wait(every_s):
                try:
                    self.tick(datetime.now(UTC))
                except Exception:
                    log.exception("analytics jobs failed")

        self._thread = threading.Thread(target=loop, name="safecity-analytics-jobs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def analytics_for(settings: Settings, engine: Engine) -> Analytics:
    return Analytics(settings.analytics, engine, settings.storage.data_dir)


def seed_anomaly_rule(settings: Settings, sessions: Callable[[], Session]) -> bool:
    """Add the "Unusual activity" alert rule when the operations defaults are in use (a deployment that
    lists its own `operations.alert_rules` decides itself whether anomalies alert)."""
    seeds = settings.operations.alert_rules
    if seeds is not None:
        return False
    db = sessions()
    try:
        added = ensure_anomaly_rule(db)
        db.commit()
        return added
    except IntegrityError:  # another node added it at the same moment
        db.rollback()
        return False
    finally:
        db.close()


def start_jobs(
    settings: Settings, engine: Engine, sessions: Callable[[], Session], bus: Bus
) -> AnalyticsJobs:
    if seed_anomaly_rule(settings, sessions):
        log.info("alert rule 'Unusual activity' added (anomaly events)")
    jobs = AnalyticsJobs(analytics_for(settings, engine), bus)
    jobs.start(settings.analytics.jobs_every_s)
    return jobs
