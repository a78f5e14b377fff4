"""LiveHub: fan-out of live messages (events, alerts, incidents, dispatches, camera status) to WebSockets.

`broadcast(type, data, camera_id)` may be called from any thread (the bus thread, a request thread, a
camera worker) and never blocks: the message is serialised once and handed to the event loop that serves
the WebSockets, which puts it in the bounded queue of each client allowed to see it. A client whose queue
is full is disconnected (its queue is replaced by one "too slow" marker): a slow browser loses its
connection, never the bus or the other clients. Before `attach(loop)` (no server running) broadcasts are
counted and discarded, so a component can always call `node.live.broadcast`.

Who receives a message: a client whose principal holds the message's permission (by default the one in
`MESSAGE_PERMISSIONS` for its type) *or* whose user id is in `users`; and, when the message names a
camera, only if the principal may see that camera. Envelope on the wire:
`{"type": <type>, "data": <data>, "ts": <epoch seconds of the broadcast>}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol

log = logging.getLogger(__name__)

MESSAGE_PERMISSIONS: MappingProxyType[str, str] = MappingProxyType(
    {
        "event": "events:read",
        "camera_status": "cameras:read",
        "alert": "alerts:read",
        "alert_update": "alerts:read",
        "incident": "incidents:read",
        "incident_update": "incidents:read",
        "dispatch": "incidents:read",
        "dispatch_update": "incidents:read",
        "unit_update": "units:read",
        "report": "reports:triage",
    }
)
DEFAULT_QUEUE_SIZE = 256
TOO_SLOW = None  # the marker a client finds in its queue when it was dropped


class Viewer(Protocol):
    """What the hub needs to know about a client (`safecity.api.deps.Principal` satisfies it)."""

    @property
    def user_id(self) -> int: ...

    @property
    def permissions(self) -> frozenset[str]: ...

    def can_see_camera(self, camera_id: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class LiveMessage:
    type: str
    text: str  # the JSON envelope, serialised once for every client
    camera_id: str | None
    permission: str | None
    users: frozenset[int] | None


@dataclass(eq=False)
class LiveClient:
    """One connected WebSocket: its viewer and the bounded queue the sender task drains."""

    viewer: Viewer
    queue: asyncio.Queue[str | None]
    dropped: bool = False
    sent: int = 0
    connected_at: float = field(default_factory=time.time)

    def allowed(self, msg: LiveMessage) -> bool:
        v = self.viewer
        by_permission = msg.permission is not None and msg.permission in v.permissions
        by_user = msg.users is not None and v.user_id in msg.users
        if not (by_permission or by_user):
            return False
        return msg.camera_id is None or v.can_see_camera(msg.camera_id)


class LiveHub:
    """See the module docstring."""

    def __init__(self, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._loop: asyncio.AbstractEventLoop | None = None
        self._clients: set[LiveClient] = set()
        self._lock = threading.Lock()
        self.broadcasts = 0
        self.discarded = 0  # broadcast while no loop was attached
        self.delivered = 0
        self.dropped_clients = 0

    @property
    def clients(self) -> int:
        return len(self._clients)

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        with self._lock:
            self._loop = loop

    def detach(self) -> None:
        """Stop delivering; every connected client finds the end marker and closes."""
        with self._lock:
            self._loop = None
        for client in list(self._clients):
            self._drop(client, count=False)

    def broadcast(
        self,
        type: str,
        data: dict[str, Any],
        camera_id: str | None = None,
        *,
        permission: str | None = None,
        users: Collection[int] | None = None,
    ) -> None:
        """Send `{"type", "data", "ts"}` to every allowed client; thread-safe and non-blocking.

        `permission` defaults to `MESSAGE_PERMISSIONS[type]`; a type not in that table needs an explicit
        `permission` or `users` (ValueError otherwise, so a new message type cannot leak by omission).
        """
        perm = permission if permission is not None else MESSAGE_PERMISSIONS.get(type)
        if perm is None and users is None:
            raise ValueError(f"live message type {type!r} needs a permission or a list of users")
        text = json.dumps({"type": type, "data": data, "ts": time.time()}, separators=(",", ":"))
        msg = LiveMessage(type, text, camera_id, perm, None if users is None else frozenset(users))
        self.broadcasts += 1
        with self._lock:
            loop = self._loop
        if loop is None:
            self.discarded += 1
            return
        try:
            loop.call_soon_threadsafe(self._fanout, msg)
        except RuntimeError:  # the loop has closed under us (shutdown)
            self.discarded += 1

    def connect(self, viewer: Viewer) -> LiveClient:
        """Register a client (call on the hub's loop)."""
        client = LiveClient(viewer, asyncio.Queue(maxsize=self.queue_size))
        self._clients.add(client)
        return client

    def disconnect(self, client: LiveClient) -> None:
        self._clients.discard(client)

    def _fanout(self, msg: LiveMessage) -> None:
        for client in list(self._clients):
            if client.dropped or not client.allowed(msg):
                continue
            try:
                client.queue.put_nowait(msg.text)
                self.delivered += 1
            except asyncio.QueueFull:
                log.warning("live client of user %s too slow: disconnected", client.viewer.user_id)
                self._drop(client, count=True)

    def _drop(self, client: LiveClient, *, count: bool) -> None:
        client.dropped = True
        self._clients.discard(client)
        if count:
            self.dropped_clients += 1
        while not client.queue.empty():
            client.queue.get_nowait()
        client.queue.put_nowait(TOO_SLOW)
