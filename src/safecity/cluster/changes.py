"""Camera changes reach the cluster's workers through NATS: an API node that adds, changes or disables a
camera publishes its id on `changes_subject(cluster)` after the database commit; each worker subscribes,
re-reads those cameras from the database (the source of truth) on its next tick, and applies them. Core
NATS is at-most-once, so a worker also re-reads every camera every `RESYNC_S` (a slow safety net against
a missed message, not a polling loop).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from safecity.bus.nats_loop import LoopThread, connect
from safecity.bus.nats_security import connect_options
from safecity.cluster.config import ClusterConfig
from safecity.config.models import Settings

log = logging.getLogger(__name__)
RESYNC_S = 60.0


def changes_subject(cluster: ClusterConfig) -> str:
    """One subject per cluster (the lease bucket names the cluster)."""
    return f"safecity.cameras.{cluster.lease_bucket}"


class CameraAnnouncer:
    """Publishes camera ids on the changes subject (an API node)."""

    def __init__(self, settings: Settings, *, timeout_s: float = 5.0) -> None:
        self.subject = changes_subject(settings.cluster)
        self.timeout_s = timeout_s
        self._loop = LoopThread("camera-changes")
        try:
            self._nc: Any = self._loop.call(
                connect(settings.bus.url, "camera-changes", timeout_s, connect_options(settings.bus)),
                3 * timeout_s,
            )
        except BaseException:
            self._loop.stop()
            raise

    def announce(self, camera_id: str) -> None:
        async def send() -> None:
            await self._nc.publish(self.subject, camera_id.encode())
            await self._nc.flush(timeout=self.timeout_s)

        try:
            self._loop.call(send(), self.timeout_s + 1)
        except Exception as exc:  # the workers' periodic re-read still applies the change
            log.warning("camera %s: change not announced to the workers: %s", camera_id, exc)

    def close(self) -> None:
        try:
            self._loop.call(self._nc.close(), 5.0)
        except Exception as exc:
            log.debug("closing the camera-changes connection: %s", exc)
        self._loop.stop()


class ChangeInbox:
    """The camera ids announced since the last `take()` (filled on the NATS loop, read by the worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids: set[str] = set()

    async def on_message(self, msg: Any) -> None:
        with self._lock:
            self._ids.add(msg.data.decode("utf-8", "replace"))

    def take(self) -> set[str]:
        with self._lock:
            ids, self._ids = self._ids, set()
        return ids
