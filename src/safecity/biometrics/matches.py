"""Matches: every face match is an alert pending human review (G5); acting on it needs two people (G9).

A match is `pending` until reviewed. A reviewer (permission `biometrics:review`) confirms or rejects it,
once. One rejection makes it a false match (`rejected`); two confirmations by *different* users make it
`confirmed`; only a confirmed match can be acted on (`dispatch`). Every step, and every view of the face
crop, is audited. The rule itself is `safecity.biometrics.confirmation` (plate hits use it too).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.art12 import reference_version
from safecity.biometrics.common import Actor, NotFoundError, log_action, now_utc
from safecity.biometrics.confirmation import CONFIRMATIONS_NEEDED, TwoPersonRule
from safecity.biometrics.models import MatchReviewRow, MatchRow, MatchStatus
from safecity.biometrics.safeguards import check_reviewer_not_authorizer, drop_rejected_crop

REVIEW_PERMISSION = "biometrics:review"
__all__ = ["CONFIRMATIONS_NEEDED", "NewMatch", "dispatch_match", "record_match", "review_match"]


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


RULE = TwoPersonRule("face match", "match", "biometrics.match", REVIEW_PERMISSION, MatchReviewRow, "match_id")


def reviews_of(db: Session, match_id: int) -> list[MatchReviewRow]:
    return RULE.reviews_of(db, match_id)


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
    RULE.reviewer(actor, permissions)
    row = get_match(db, match_id)
    check_reviewer_not_authorizer(db, row, actor)

    def on_reject() -> dict[str, object]:
        deleted = drop_rejected_crop(row, delete_media)
        return {"crop_deleted": deleted} if deleted else {}

    RULE.review(db, row, confirm, note, actor, permissions, on_reject)
    return row


def dispatch_match(
    db: Session, match_id: int, note: str, actor: Actor, permissions: Collection[str]
) -> MatchRow:
    """Act on a match: only once two different reviewers confirmed it."""
    RULE.reviewer(actor, permissions)
    row = get_match(db, match_id)
    RULE.dispatch(db, row, note, actor, permissions)
    return row


def view_crop(db: Session, match_id: int, actor: Actor, cameras: Collection[str] | None = None) -> str:
    """The media key of a match's face crop; the view is audited before anything is served."""
    row = get_match(db, match_id, cameras)
    if row.crop_key is None:
        raise NotFoundError(f"match {row.id} has no face crop (purged)")
    log_action(db, actor, "biometrics.match.view", f"match:{row.id}", {"key": row.crop_key})
    return row.crop_key
