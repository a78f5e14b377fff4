"""Live messages of operations, and the sink they go to (the API's `LiveHub`, or nowhere).

Message types (envelope `{"type", "data", "ts"}` on the WebSocket, see `safecity.api.live`):
`alert` (a new alert: `AlertPublic`), `alert_update` (`AlertPublic` after a repeat or a lifecycle step),
`incident` (a new incident: `IncidentSummary`), `incident_update` (`IncidentSummary` after a change),
`dispatch` (a new dispatch: `FieldDispatchPublic`, also addressed to the unit's own account),
`dispatch_update` (`FieldDispatchPublic` after a status report, also to the unit's account),
`unit_update` (`UnitPublic`), `report` (a new public report: `ReportPublic`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, Protocol

log = logging.getLogger(__name__)


class LiveSink(Protocol):
    def broadcast(
        self,
        type: str,
        data: dict[str, Any],
        camera_id: str | None = None,
        *,
        permission: str | None = None,
        users: Collection[int] | None = None,
    ) -> None: ...


class NullLive:
    """Where messages go when no API is serving (the `safecity run` command, unit tests)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], str | None, frozenset[int] | None]] = []

    def broadcast(
        self,
        type: str,
        data: dict[str, Any],
        camera_id: str | None = None,
        *,
        permission: str | None = None,
        users: Collection[int] | None = None,
    ) -> None:
        self.sent.append((type, data, camera_id, None if users is None else frozenset(users)))
        del self.sent[:-1000]  # keep the last ones only (tests read them)


def safe_broadcast(
    sink: LiveSink,
    type: str,
    data: dict[str, Any],
    camera_id: str | None,
    users: Collection[int] | None = None,
) -> None:
    """Broadcast, logging instead of raising: the database change is done, a live push is best effort."""
    try:
        sink.broadcast(type, data, camera_id, users=users)
    except Exception:
        log.exception("live %s message not sent", type)
