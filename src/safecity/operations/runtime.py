"""Wiring of operations into a node: seed the alert rules, subscribe the `AlertEngine` to the bus, watch
camera health for camera-dark alerts, and hold the public-report rate limiter.

`build_app` calls `attach_operations(node)`, so `safecity run` and `safecity serve` both raise alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError

from safecity.api.ratelimit import SlidingWindowLimiter
from safecity.bus.base import Unsubscribe
from safecity.operations.alerts import ensure_default_rules
from safecity.operations.config import OperationsConfig
from safecity.operations.engine import AlertEngine, CameraWatchdog
from safecity.operations.rules import DEFAULT_RULES

if TYPE_CHECKING:
    from safecity.app import App

log = logging.getLogger(__name__)


@dataclass
class Operations:
    config: OperationsConfig
    alerts: AlertEngine
    watchdog: CameraWatchdog
    report_limiter: SlidingWindowLimiter
    unsubscribe: Unsubscribe

    def close(self) -> None:
        self.watchdog.stop()
        self.unsubscribe()


def seed_rules(node: App, cfg: OperationsConfig) -> int:
    db = node.session()
    try:
        added = ensure_default_rules(db, cfg.alert_rules if cfg.alert_rules is not None else DEFAULT_RULES)
        db.commit()
        return added
    except IntegrityError:  # another process seeded them at the same moment
        db.rollback()
        return 0
    finally:
        db.close()


def camera_statuses(node: App) -> dict[str, str]:
    from safecity.api.health import node_health  # the health page's definition of dark

    return {h.camera_id: h.status for h in node_health(node)}


def attach_operations(node: App) -> Operations:
    """Seed rules, subscribe the alert engine to `node.bus` and start the camera watchdog."""
    cfg = node.settings.operations
    if seed_rules(node, cfg):
        log.info("alert rules seeded (%s)", "settings" if cfg.alert_rules is not None else "defaults")
    engine = AlertEngine(node.session, node.live)
    unsubscribe = node.bus.subscribe(engine, durable="alerts")  # one engine per event across nodes
    watchdog = CameraWatchdog(engine, lambda: camera_statuses(node))
    watchdog.start(cfg.watchdog_every_s)
    limiter = SlidingWindowLimiter(cfg.reports.rate_limit, cfg.reports.rate_window_s)
    return Operations(cfg, engine, watchdog, limiter, unsubscribe)
