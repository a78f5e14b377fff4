"""Match thresholds (G11): a watchlist's threshold below the validated minimum needs a second approver.

A threshold is a match score (1 - dlib distance): lower is looser, so more false matches. A change at or
above `validated_min_score` applies at once; below it, it waits until a *different* user holding
`thresholds:approve` approves it (or rejects it). Every step is audited.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.common import (
    Actor,
    ConflictError,
    InvalidError,
    NotFoundError,
    PolicyError,
    log_action,
    now_utc,
)
from safecity.biometrics.config import BiometricsConfig
from safecity.biometrics.models import ThresholdChangeRow, ThresholdStatus, WatchlistStatus
from safecity.biometrics.watchlists import get_watchlist


def request_threshold(
    db: Session, watchlist_id: int, value: float, reason: str, actor: Actor, config: BiometricsConfig
) -> ThresholdChangeRow:
    row = get_watchlist(db, watchlist_id)
    if row.status == WatchlistStatus.PURGED.value:
        raise ConflictError(f"watchlist {row.id} is purged")
    if not 0.0 < value < 1.0:
        raise InvalidError("a match threshold is a score between 0 and 1")
    if not reason.strip():
        raise InvalidError("changing a threshold needs a reason")
    now = now_utc()
    below = value < config.validated_min_score
    change = ThresholdChangeRow(
        watchlist_id=row.id,
        value=value,
        previous=row.threshold,
        reason=reason.strip(),
        status=(ThresholdStatus.PENDING if below else ThresholdStatus.APPLIED).value,
        requested_at=now,
        requested_by_id=actor.id,
        requested_by=actor.name,
    )
    db.add(change)
    if not below:
        row.threshold = value
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.threshold.request",
        f"watchlist:{row.id}",
        {
            "change": change.id,
            "value": value,
            "previous": change.previous,
            "reason": change.reason,
            "validated_min": config.validated_min_score,
            "status": change.status,
        },
        now,
    )
    return change


def _pending(db: Session, change_id: int) -> ThresholdChangeRow:
    change = db.get(ThresholdChangeRow, change_id)
    if change is None:
        raise NotFoundError(f"no threshold change {change_id}")
    if change.status != ThresholdStatus.PENDING.value:
        raise ConflictError(f"threshold change {change.id} is {change.status}")
    return change


def decide_threshold(db: Session, change_id: int, approve: bool, actor: Actor) -> ThresholdChangeRow:
    """The second approver's decision; the requester cannot approve their own change."""
    change = _pending(db, change_id)
    same = actor.id == change.requested_by_id if actor.id is not None else actor.name == change.requested_by
    if same:
        raise PolicyError(
            "a threshold below the validated minimum needs a second approver, not the requester"
        )
    now = now_utc()
    change.status = (ThresholdStatus.APPLIED if approve else ThresholdStatus.REJECTED).value
    change.decided_at, change.decided_by_id, change.decided_by = now, actor.id, actor.name
    if approve:
        get_watchlist(db, change.watchlist_id).threshold = change.value
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.threshold." + ("approve" if approve else "reject"),
        f"watchlist:{change.watchlist_id}",
        {"change": change.id, "value": change.value},
        now,
    )
    return change


def list_changes(db: Session, watchlist_id: int | None = None) -> list[ThresholdChangeRow]:
    stmt = select(ThresholdChangeRow).order_by(ThresholdChangeRow.id.desc())
    if watchlist_id is not None:
        stmt = stmt.where(ThresholdChangeRow.watchlist_id == watchlist_id)
    return list(db.scalars(stmt))
