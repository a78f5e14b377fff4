"""Matches: every face match is an alert pending human review (G5); acting on it needs two people (G9).

A match is `pending` until reviewed. A reviewer (permission `biometrics:review`) confirms or rejects it,
once. One rejection makes it a false match (`rejected`); two confirmations by *different* users make it
`confirmed`; only a confirmed match can be acted on (`dispatch`). Every step, and every view of the face
crop, is audited.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from safecity.biometrics.art12 import reference_version
from safecity.biometrics.common import (
    Actor,
    ConflictError,
    InvalidError,
    NotFoundError,
    PolicyError,
    log_action,
    now_utc,
)
from safecity.biometrics.models import MatchReviewRow, MatchRow, MatchStatus
from safecity.biometrics.safeguards import check_reviewer_not_authorizer, drop_rejected_crop

REVIEW_PERMISSION = "biometrics:review"
CONFIRMATIONS_NEEDED = 2


@dataclass(frozen=True, slots=True)
class NewMatch:
    watchlist_id: int
    entry_id: int
    camera_id: str
    track_id: int | None
    seen_at: datetime
    score: float
    threshold: float
    crop_key: str | None


def record_match(db: Session, m: NewMatch) -> MatchRow:
    """Store a match as pending review (called by the face step)."""
    now = now_utc()
    row = MatchRow(
        watchlist_id=m.watchlist_id,
        entry_id=m.entry_id,
        camera_id=m.camera_id,
        track_id=m.track_id,
        seen_at=m.seen_at,
        score=round(m.score, 4),
        threshold=m.threshold,
        crop_key=m.crop_key,
        status=MatchStatus.PENDING.value,
        created_at=now,
    )
    db.add(row)
    db.flush()
    log_action(
        db,
        "safecity",
        "biometrics.match",
        f"match:{row.id}",
        {
            "watchlist": m.watchlist_id,
            "entry": m.entry_id,
            "camera": m.camera_id,
            "track": m.track_id,
            "score": row.score,
            "threshold": m.threshold,
            "seen_at": m.seen_at.isoformat(),
            "crop_key": m.crop_key,  # EU AI Act Art. 12(3): the input and the reference database searched
            "reference_version": reference_version(db, m.watchlist_id, now),
        },
        now,
    )
    return row


def get_match(db: Session, match_id: int, cameras: Collection[str] | None = None) -> MatchRow:
    row = db.get(MatchRow, match_id)
    if row is None or (cameras is not None and row.camera_id not in cameras):
        raise NotFoundError(f"no match {match_id}")
    return row


def list_matches(
    db: Session, status: MatchStatus | None = None, cameras: Collection[str] | None = None, limit: int = 100
) -> list[MatchRow]:
    stmt = select(MatchRow).order_by(MatchRow.seen_at.desc(), MatchRow.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(MatchRow.status == status.value)
    if cameras is not None:
        stmt = stmt.where(MatchRow.camera_id.in_(sorted(cameras)))
    return list(db.scalars(stmt))


def reviews_of(db: Session, match_id: int) -> list[MatchReviewRow]:
    return list(
        db.scalars(
            select(MatchReviewRow).where(MatchReviewRow.match_id == match_id).order_by(MatchReviewRow.id)
        )
    )


def _reviewer(actor: Actor, permissions: Collection[str]) -> int:
    if actor.id is None or REVIEW_PERMISSION not in permissions:
        raise PolicyError(f"reviewing a face match needs a user with {REVIEW_PERMISSION}")
    return actor.id


def review_match(
    db: Session,
    match_id: int,
    confirm: bool,
    note: str,
    actor: Actor,
    permissions: Collection[str],
    delete_media: Callable[[str], object] | None = None,
) -> MatchRow:
    """Confirm or reject; a rejection deletes the face crop at once (with `delete_media`, the crop store's
    delete; the row forgets the key either way)."""
    user_id = _reviewer(actor, permissions)
    row = get_match(db, match_id)
    check_reviewer_not_authorizer(db, row, actor)
    if row.status != MatchStatus.PENDING.value:
        raise ConflictError(f"match {row.id} is {row.status}; only a pending match is reviewed")
    if any(r.user_id == user_id for r in reviews_of(db, row.id)):
        raise PolicyError(
            f"{actor.name} already reviewed match {row.id}; the second review is another person's"
        )
    now = now_utc()
    db.add(
        MatchReviewRow(
            match_id=row.id,
            user_id=user_id,
            username=actor.name,
            decision="confirm" if confirm else "reject",
            note=note.strip(),
            at=now,
        )
    )
    db.flush()
    confirmations = db.scalar(
        select(func.count(func.distinct(MatchReviewRow.user_id))).where(
            MatchReviewRow.match_id == row.id, MatchReviewRow.decision == "confirm"
        )
    )
    crop_deleted = None
    if not confirm:
        row.status = MatchStatus.REJECTED.value
        crop_deleted = drop_rejected_crop(row, delete_media)
    elif int(confirmations or 0) >= CONFIRMATIONS_NEEDED:
        row.status = MatchStatus.CONFIRMED.value
    db.flush()
    log_action(
        db,
        actor,
        "biometrics.match.review",
        f"match:{row.id}",
        {
            "decision": "confirm" if confirm else "reject",
            "note": note.strip(),
            "status": row.status,
            "confirmations": int(confirmations or 0),
            **({"crop_deleted": crop_deleted} if crop_deleted else {}),
        },
        now,
    )
    return row


def dispatch_match(
    db: Session, match_id: int, note: str, actor: Actor, permissions: Collection[str]
) -> MatchRow:
    """Act on a match: only once two different reviewers confirmed it."""
    _reviewer(actor, permissions)
    row = get_match(db, match_id)
    if row.status != MatchStatus.CONFIRMED.value:
        raise PolicyError(
            f"match {row.id} is {row.status}: acting on a match needs confirmation by "
            f"{CONFIRMATIONS_NEEDED} different reviewers"
        )
    if not note.strip():
        raise InvalidError("dispatching on a match needs a note (what is done, by whom)")
    now = now_utc()
    row.status, row.acted_at, row.acted_by, row.act_note = MatchStatus.DISPATCHED.value, now, actor.name, note
    db.flush()
    log_action(db, actor, "biometrics.match.dispatch", f"match:{row.id}", {"note": note.strip()}, now)
    return row


def view_crop(db: Session, match_id: int, actor: Actor, cameras: Collection[str] | None = None) -> str:
    """The media key of a match's face crop; the view is audited before anything is served."""
    row = get_match(db, match_id, cameras)
    if row.crop_key is None:
        raise NotFoundError(f"match {row.id} has no face crop (purged)")
    log_action(db, actor, "biometrics.match.view", f"match:{row.id}", {"key": row.crop_key})
    return row.crop_key
