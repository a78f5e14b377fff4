"""Field units in the field: positions, duty, the nearest available units to an incident, and idempotency
keys that make the field app's requests safe to replay (its offline queue sends them again after a lost
answer). Explicit session; the caller commits.

Distance is straight-line (haversine on the WGS84 mean radius): no routing engine runs offline here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.operations.domain import ConflictError, InvalidError, UnitStatus, now_utc
from safecity.operations.models import FieldRequestRow, FieldUnitRow, IncidentRow

EARTH_RADIUS_M = 6_371_008.8
CLOCK_SKEW = timedelta(minutes=5)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def is_stale(unit: FieldUnitRow, stale_after_s: float, now: datetime | None = None) -> bool:
    if unit.position_at is None:
        return True
    return ((now or now_utc()) - unit.position_at).total_seconds() > stale_after_s


def record_position(
    db: Session, unit: FieldUnitRow, lat: float, lon: float, at: datetime | None = None
) -> bool:
    """Store the unit's last position; an older fix than the one stored is ignored (returns False)."""
    now = now_utc()
    at = now if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    if at > now + CLOCK_SKEW:
        raise InvalidError("at: the position's time is in the future")
    if unit.position_at is not None and at < unit.position_at:
        return False
    unit.lat, unit.lon, unit.position_at = lat, lon, min(at, now)
    db.flush()
    return True


def set_duty(db: Session, unit: FieldUnitRow, on_duty: bool) -> FieldUnitRow:
    """The unit itself goes on duty (available) or off duty; not while it is on a dispatch."""
    target = UnitStatus.AVAILABLE if on_duty else UnitStatus.OFF_DUTY
    if unit.status in (UnitStatus.AVAILABLE.value, UnitStatus.OFF_DUTY.value):
        unit.status, unit.updated_at = target.value, now_utc()
        db.flush()
        return unit
    if target == UnitStatus.AVAILABLE:
        return unit  # already working: on duty
    raise ConflictError(f"unit {unit.call_sign} is {unit.status}; close the dispatch before going off duty")


@dataclass(frozen=True, slots=True)
class Candidate:
    unit: FieldUnitRow
    distance_m: float | None
    stale: bool


def incident_position(
    incident: IncidentRow, camera_position: tuple[float, float] | None
) -> tuple[float, float] | None:
    if incident.lat is not None and incident.lon is not None:
        return incident.lat, incident.lon
    return camera_position


def nearest_units(
    db: Session,
    where: tuple[float, float] | None,
    stale_after_s: float,
    exclude: set[int] | None = None,
) -> list[Candidate]:
    """Available units, nearest first: fresh positions by distance, then stale ones, then no position."""
    now = now_utc()
    out: list[Candidate] = []
    rows = db.scalars(select(FieldUnitRow).where(FieldUnitRow.status == UnitStatus.AVAILABLE.value))
    for unit in rows:
        if exclude and unit.id in exclude:
            continue
        has = unit.lat is not None and unit.lon is not None and where is not None
        dist = distance_m(where[0], where[1], unit.lat, unit.lon) if has else None  # type: ignore[arg-type,index]
        out.append(Candidate(unit, dist, is_stale(unit, stale_after_s, now)))
    return sorted(out, key=lambda c: (c.distance_m is None, c.stale, c.distance_m or 0.0, c.unit.call_sign))


# --- idempotency ------------------------------------------------------------------------------------


def replayed(db: Session, user_id: int, key: str | None) -> dict[str, Any] | None:
    """The first answer to a request with this key from this user, or None when it is new."""
    if key is None:
        return None
    row = db.scalar(
        select(FieldRequestRow).where(FieldRequestRow.user_id == user_id, FieldRequestRow.key == key)
    )
    return None if row is None else dict(row.response)


def remember(db: Session, user_id: int, key: str | None, kind: str, response: dict[str, Any]) -> None:
    """Record the answer in the same transaction as the change (a unique key makes a racing twin fail)."""
    if key is None:
        return
    db.add(FieldRequestRow(user_id=user_id, key=key, kind=kind, response=response, created_at=now_utc()))
    db.flush()
