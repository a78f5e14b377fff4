"""Wiring of operations into a node: seed the alert rules, subscribe the `AlertEngine` to the bus, watch
camera health for camera-dark alerts, and hold the public-report rate limiter.

`build_app` calls `attach_operations(...)` with narrow dependencies (settings, sessions, bus, live sink, a
camera-status reader), so `safecity run` and `safecity serve` both raise alerts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from safecity.bus.base import Bus, Unsubscribe
from safecity.operations.alerts import ensure_default_rules
from safecity.operations.config import OperationsConfig
from safecity.operations.engine import AlertEngine, CameraWatchdog, SessionFactory
from safecity.operations.live import LiveSink
from safecity.operations.rules import DEFAULT_RULES
from safecity.store.ratelimit import DbRateLimiter, SlidingWindowLimiter

log = logging.getLogger(__name__)


@dataclass
class Operations:
    config: OperationsConfig
    alerts: AlertEngine
    watchdog: CameraWatchdog
    report_limiter: SlidingWindowLimiter | DbRateLimiter
    unsubscribe: Unsubscribe

    def close(self) -> None:
        self.watchdog.stop()
        self.unsubscribe()


def seed_rules(sessions: SessionFactory, cfg: OperationsConfig) -> int:
    db = sessions()
    try:
        added = ensure_default_rules(db, cfg.alert_rules if cfg.alert_rules is not None else DEFAULT_RULES)
        db.commit()
        return added
    except IntegrityError:  # another process seeded them at the same moment
        db.rollback()
        return 0
    finally:
        db.close()


def attach_operations(
    cfg: OperationsConfig,
    sessions: SessionFactory,
    bus: Bus,
    live: LiveSink,
    statuses: Callable[[], Mapping[str, str]],
    *,
    db: Engine | None = None,
) -> Operations:
    """Seed rules, subscribe the alert engine to `bus` and start the camera watchdog (`statuses`: this
    node's camera statuses, the runtime's definition of dark). With `db`, the public-report rate limit is
    kept in the database and shared by every API node."""
    if seed_rules(sessions, cfg):
        log.info("alert rules seeded (%s)", "settings" if cfg.alert_rules is not None else "defaults")
    engine = AlertEngine(sessions, live)
    unsubscribe = bus.subscribe(engine, durable="alerts")  # one engine per event across nodes
    watchdog = CameraWatchdog(engine, statuses)
    watchdog.start(cfg.watchdog_every_s)
    limit, window = cfg.reports.rate_limit, cfg.reports.rate_window_s
    limiter: SlidingWindowLimiter | DbRateLimiter = (
        SlidingWindowLimiter(limit, window) if db is None else DbRateLimiter(db, "reports", limit, window)
    )
    return Operations(cfg, engine, watchdog, limiter, unsubscribe)
