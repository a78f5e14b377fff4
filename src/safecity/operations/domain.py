"""Vocabulary of operations: states, who acted, and the errors services raise.

Services raise `NotFoundError` (HTTP 404) and `ConflictError` (HTTP 409, with a reason an operator can
read: "alert 7 is closed"). They never import the web framework.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import ClassVar


class Severity(enum.StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class AlertStatus(enum.StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    CLOSED = "closed"


class IncidentStatus(enum.StrEnum):
    NEW = "new"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    RESOLVED = "resolved"
    CLOSED = "closed"


class UnitStatus(enum.StrEnum):
    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


class DispatchStatus(enum.StrEnum):
    DISPATCHED = "dispatched"
    EN_ROUTE = "en_route"
    ON_SCENE = "on_scene"
    CLOSED = "closed"


class ReportStatus(enum.StrEnum):
    NEW = "new"
    DISMISSED = "dismissed"
    INCIDENT = "incident"


class TimelineKind(enum.StrEnum):
    CREATED = "created"
    NOTE = "note"
    ALERT_LINKED = "alert_linked"
    CHECKLIST = "checklist"
    DISPATCH = "dispatch"
    UNIT_STATUS = "unit_status"
    STATUS = "status"
    UPDATED = "updated"
    MESSAGE = "message"  # control room <-> units, text and/or photo
    ESCALATION = "escalation"  # a dispatch not acknowledged in time


class UnitKind(enum.StrEnum):
    FOOT_PATROL = "foot_patrol"
    BIKE_PATROL = "bike_patrol"
    CAR = "car"
    MOTORCYCLE = "motorcycle"
    MEDICAL = "medical"
    FIRE = "fire"
    TOURISM_STAFF = "tourism_staff"
    OTHER = "other"


# Incident statuses an operator may set by hand from each status (dispatched is set by dispatching).
INCIDENT_TRANSITIONS: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.NEW: frozenset({IncidentStatus.ON_SCENE, IncidentStatus.RESOLVED, IncidentStatus.CLOSED}),
    IncidentStatus.DISPATCHED: frozenset(
        {IncidentStatus.ON_SCENE, IncidentStatus.RESOLVED, IncidentStatus.CLOSED}
    ),
    IncidentStatus.ON_SCENE: frozenset({IncidentStatus.RESOLVED, IncidentStatus.CLOSED}),
    IncidentStatus.RESOLVED: frozenset({IncidentStatus.ON_SCENE, IncidentStatus.CLOSED}),
    IncidentStatus.CLOSED: frozenset(),
}

# A dispatch only moves forward; a field unit may skip a step (dispatched -> on_scene).
DISPATCH_ORDER: tuple[DispatchStatus, ...] = tuple(DispatchStatus)
UNIT_FOR_DISPATCH: dict[DispatchStatus, UnitStatus] = {
    DispatchStatus.DISPATCHED: UnitStatus.DISPATCHED,
    DispatchStatus.EN_ROUTE: UnitStatus.EN_ROUTE,
    DispatchStatus.ON_SCENE: UnitStatus.ON_SCENE,
    DispatchStatus.CLOSED: UnitStatus.AVAILABLE,
}
ACTIVE_DISPATCH = frozenset({DispatchStatus.DISPATCHED, DispatchStatus.EN_ROUTE, DispatchStatus.ON_SCENE})


class OperationsError(Exception):
    """Base of the errors services raise; `reason` is shown to the user, with `http_status` over HTTP."""

    http_status: ClassVar[int] = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFoundError(OperationsError):
    """The thing does not exist (or the caller may not know it exists)."""

    http_status = 404


class InvalidError(OperationsError):
    """The request contradicts itself or the catalogue (HTTP 422)."""

    http_status = 422


class ConflictError(OperationsError):
    """The request is valid but the current state forbids it (an invalid transition)."""

    http_status = 409


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did something: a user (id and name at the time) or the system (`id` None)."""

    id: int | None
    name: str

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(None, name)


def now_utc() -> datetime:
    return datetime.now(UTC)
