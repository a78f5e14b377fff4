"""Live messages of the operations domain (new and updated alerts) on every API node of a cluster.

Each event is alerted by one node (the durable consumer `alerts` hands it to one), but operators are
connected to all of them. `LiveRelay` is the alert engine's live sink on a NATS node: it publishes each
message on `safecity.live.<lease_bucket>` and every node, itself included, hands the messages it
receives to its own `LiveHub`, which applies the same permission and camera filters as always.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from typing import Any

from safecity.bus.nats_loop import LoopThread, connect
from safecity.bus.nats_security import connect_options
from safecity.config.models import Settings
from safecity.operations.live import LiveSink

log = logging.getLogger(__name__)


class LiveRelay:
    """A `LiveSink` that reaches the live sockets of every API node (see the module docstring)."""

    def __init__(self, settings: Settings, local: LiveSink, *, timeout_s: float = 5.0) -> None:
        self.subject = f"safecity.live.{settings.cluster.lease_bucket}"
        self.local = local
        self._loop = LoopThread("live-relay")
        try:
            self._nc: Any = self._loop.call(
                connect(settings.bus.url, "live-relay", timeout_s, connect_options(settings.bus)),
                3 * timeout_s,
            )
            self._loop.call(self._nc.subscribe(self.subject, cb=self._received), timeout_s)
        except BaseException:
            self._loop.stop()
            raise

    def broadcast(
        self,
        type: str,
        data: dict[str, Any],
        camera_id: str | None = None,
        *,
        permission: str | None = None,
        users: Collection[int] | None = None,
    ) -> None:
        body = {"type": type, "data": data, "camera_id": camera_id, "permission": permission,
                "users": None if users is None else sorted(users)}  # fmt: skip
        payload = json.dumps(body, separators=(",", ":")).encode()
        try:
            self._loop.submit(self._nc.publish(self.subject, payload))
        except RuntimeError:  # shutting down: this node's own clients still get it
            self.local.broadcast(type, data, camera_id, permission=permission, users=users)

    async def _received(self, msg: Any) -> None:
        try:
            m = json.loads(msg.data)
            self.local.broadcast(
                m["type"], m["data"], m["camera_id"], permission=m["permission"], users=m["users"]
            )
        except Exception:
            log.exception("live message from the cluster not delivered")

    def close(self) -> None:
        try:
            self._loop.call(self._nc.close(), 5.0)
        except Exception as exc:
            log.debug("closing the live relay: %s", exc)
        self._loop.stop()
