"""Authorizations (G1): the lawful basis without which no watchlist runs and no retrospective search happens.

An authorization has a scope: `faces` (face watchlists, retrospective face search) or `vehicles` (plate
hotlists, `safecity.plates.hotlists`); one of either scope is refused for the other.

An authorization records the issuing authority, its reference (warrant / order / case number), a purpose
from the fixed list, the cameras and the period. It is never edited; it can be revoked (audited).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.common import (
    Actor,
    InvalidError,
    NotFoundError,
    PolicyError,
    aware,
    log_action,
    now_utc,
)
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.models import AuthorizationRow, Purpose, Scope, VehiclePurpose


@dataclass(frozen=True, slots=True)
class AuthorizationInput:
    issuer: str
    reference: str
    purpose: str
    cameras: Sequence[str]
    starts_at: datetime
    ends_at: datetime
    notes: str = ""
    scope: str = Scope.FACES.value


def _validate(data: AuthorizationInput, config: BiometricsConfig) -> tuple[datetime, datetime, list[str]]:
    if not data.issuer.strip() or not data.reference.strip():
        raise InvalidError("an authorization needs its issuing authority and reference")
    if data.scope == Scope.VEHICLES.value:
        allowed: tuple[str, ...] = tuple(p.value for p in VehiclePurpose)
    elif data.scope == Scope.FACES.value:
        allowed = tuple(p for p in config.purposes if p in {q.value for q in Purpose})
    else:
        raise InvalidError(f"scope {data.scope!r} is not one of: {', '.join(s.value for s in Scope)}")
    if data.purpose not in allowed:
        raise InvalidError(f"purpose {data.purpose!r} is not one of: {', '.join(allowed)}")
    cameras = sorted({c.strip() for c in data.cameras if c.strip()})
    if not cameras:
        raise InvalidError("an authorization names the cameras it covers (at least one)")
    start, end = aware(data.starts_at), aware(data.ends_at)
    if end <= start:
        raise InvalidError("an authorization ends after it starts")
    return start, end, cameras


def create_authorization(
    db: Session, data: AuthorizationInput, actor: Actor, config: BiometricsConfig
) -> AuthorizationRow:
    start, end, cameras = _validate(data, config)
    now = now_utc()
    row = AuthorizationRow(
        issuer=data.issuer.strip(),
        reference=data.reference.strip(),
        purpose=data.purpose,
        scope=data.scope,
        cameras=cameras,
        starts_at=start,
        ends_at=end,
        notes=data.notes.strip(),
        created_at=now,
        created_by_id=actor.id,
        created_by=actor.name,
    )
    db.add(row)
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.authorization.create",
        f"authorization:{row.id}",
        {
            "scope": row.scope,
            "issuer": row.issuer,
            "reference": row.reference,
            "purpose": row.purpose,
            "cameras": cameras,
            "starts_at": start.isoformat(),
            "ends_at": end.isoformat(),
        },
        now,
    )
    return row


def get_authorization(db: Session, authorization_id: int, scope: str | None = None) -> AuthorizationRow:
    row = db.get(AuthorizationRow, authorization_id)
    if row is None or (scope is not None and row.scope != scope):
        raise NotFoundError(f"no authorization {authorization_id}")
    return row


def list_authorizations(db: Session, scope: str = Scope.FACES.value) -> list[AuthorizationRow]:
    stmt = select(AuthorizationRow).where(AuthorizationRow.scope == scope)
    return list(db.scalars(stmt.order_by(AuthorizationRow.id.desc())))


def in_force(row: AuthorizationRow, at: datetime) -> bool:
    return row.revoked_at is None and row.starts_at <= at < row.ends_at


def require_in_force(
    row: AuthorizationRow, at: datetime, cameras: Sequence[str] = (), scope: str = Scope.FACES.value
) -> None:
    """PolicyError unless the authorization is of `scope`, in force at `at` and covers every camera."""
    if row.scope != scope:
        raise PolicyError(f"authorization {row.id} ({row.reference}) is for {row.scope}, not {scope}")
    if row.revoked_at is not None:
        raise PolicyError(f"authorization {row.id} ({row.reference}) was revoked")
    if not row.starts_at <= at < row.ends_at:
        raise PolicyError(
            f"authorization {row.id} ({row.reference}) is in force from {row.starts_at.isoformat()} "
            f"to {row.ends_at.isoformat()}, not at {at.isoformat()}"
        )
    outside = sorted(set(cameras) - set(row.cameras))
    if outside:
        raise PolicyError(f"authorization {row.id} does not cover camera(s) {', '.join(outside)}")


def revoke_authorization(
    db: Session, authorization_id: int, reason: str, actor: Actor, scope: str | None = None
) -> AuthorizationRow:
    """End an authorization early; watchlists and hotlists that rely on it stop at the next sweep (within
    seconds)."""
    row = get_authorization(db, authorization_id, scope)
    if row.revoked_at is not None:
        raise InvalidError(f"authorization {row.id} is already revoked")
    if not reason.strip():
        raise InvalidError("revoking an authorization needs a reason")
    now = now_utc()
    row.revoked_at, row.revoked_by, row.revoke_reason = now, actor.name, reason.strip()
    db.flush()
    log_action(
        db, actor, "biometrics.authorization.revoke", f"authorization:{row.id}", {"reason": reason}, now
    )
    return row
