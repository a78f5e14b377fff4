"""Plate hits: a read that matched an active hotlist entry. OCR misreads are the classic cause of wrongful
stops, so a hit is only an alert pending review: before anyone acts, a person confirms that the read text
matches the plate crop, and a second, different person confirms it too (the two-person rule of face
matches, `safecity.biometrics.confirmation`, permission `plates:review`). Nobody may review a hit on a
hotlist whose authorization they recorded. Every step and every view of the crop is audited.

A rejected hit forgets the read text and crop, and its read becomes a non-hit again: the ordinary
retention (`plates.non_hit_retention_hours`) deletes it. The audit log never holds a read's text.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.biometrics.common import Actor, NotFoundError, log_action, now_utc
from safecity.biometrics.confirmation import TwoPersonRule
from safecity.biometrics.models import AuthorizationRow, MatchStatus
from safecity.biometrics.safeguards import check_not_authorizer
from safecity.plates.models import HotlistRow, PlateHitReviewRow, PlateHitRow, PlateReadRow

REVIEW_PERMISSION = "plates:review"
RULE = TwoPersonRule("plate hit", "hit", "plates.hit", REVIEW_PERMISSION, PlateHitReviewRow, "hit_id")


@dataclass(frozen=True, slots=True)
class NewHit:
    read_id: str
    hotlist_id: int
    entry_id: int
    camera_id: str
    track_id: int | None
    seen_at: datetime
    plate: str
    listed: str
    fuzzy: bool
    confidence: float
    crop_key: str | None


def record_hit(db: Session, h: NewHit) -> PlateHitRow:
    """Store a hit pending review (called by the plate step); audited without the read text."""
    now = now_utc()
    row = PlateHitRow(
        read_id=h.read_id,
        hotlist_id=h.hotlist_id,
        entry_id=h.entry_id,
        camera_id=h.camera_id,
        track_id=h.track_id,
        seen_at=h.seen_at,
        plate=h.plate,
        listed=h.listed,
        fuzzy=h.fuzzy,
        confidence=round(h.confidence, 4),
        crop_key=h.crop_key,
        status=MatchStatus.PENDING.value,
        created_at=now,
    )
    db.add(row)
    db.flush()
    details = {
        "hotlist": h.hotlist_id,
        "entry": h.entry_id,
        "read": h.read_id,
        "camera": h.camera_id,
        "track": h.track_id,
        "confidence": row.confidence,
        "fuzzy": h.fuzzy,
        "seen_at": h.seen_at.isoformat(),
        "crop_key": h.crop_key,
    }
    log_action(db, "safecity", "plates.hit", f"hit:{row.id}", details, now)
    return row


def get_hit(db: Session, hit_id: int, cameras: Collection[str] | None = None) -> PlateHitRow:
    row = db.get(PlateHitRow, hit_id)
    if row is None or (cameras is not None and row.camera_id not in cameras):
        raise NotFoundError(f"no plate hit {hit_id}")
    return row


def list_hits(
    db: Session, status: str | None = None, cameras: Collection[str] | None = None, limit: int = 100
) -> list[PlateHitRow]:
    stmt = select(PlateHitRow).order_by(PlateHitRow.seen_at.desc(), PlateHitRow.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(PlateHitRow.status == status)
    if cameras is not None:
        stmt = stmt.where(PlateHitRow.camera_id.in_(sorted(cameras)))
    return list(db.scalars(stmt))


def reviews_of(db: Session, hit_id: int) -> list[PlateHitReviewRow]:
    return RULE.reviews_of(db, hit_id)


def _check_not_authorizer(db: Session, row: PlateHitRow, actor: Actor) -> None:
    hotlist = db.get(HotlistRow, row.hotlist_id)
    auth_id = hotlist.authorization_id if hotlist is not None else None
    auth = db.get(AuthorizationRow, auth_id) if auth_id else None
    if auth is not None:
        check_not_authorizer(auth, actor, f"review plate hit {row.id}")


def review_hit(
    db: Session, hit_id: int, confirm: bool, note: str, actor: Actor, permissions: Collection[str]
) -> PlateHitRow:
    """Confirm (the read matches the plate crop) or reject (a misread): one review per person."""
    RULE.reviewer(actor, permissions)
    row = get_hit(db, hit_id)
    _check_not_authorizer(db, row, actor)

    def on_reject() -> dict[str, object]:
        read = db.get(PlateReadRow, row.read_id) if row.read_id else None
        if read is not None:
            read.hit = False  # an ordinary read again: the non-hit retention deletes it and its crop
        row.plate = row.crop_key = row.read_id = None
        return {"read_released": read is not None}

    RULE.review(db, row, confirm, note, actor, permissions, on_reject)
    return row


def dispatch_hit(
    db: Session, hit_id: int, note: str, actor: Actor, permissions: Collection[str]
) -> PlateHitRow:
    """Act on a hit (stop the vehicle, send a unit): only once two different people confirmed it."""
    RULE.reviewer(actor, permissions)
    row = get_hit(db, hit_id)
    RULE.dispatch(db, row, note, actor, permissions)
    return row


def view_crop(db: Session, hit_id: int, actor: Actor, cameras: Collection[str] | None = None) -> str:
    """The media key of a hit's plate crop; the view is audited before anything is served."""
    row = get_hit(db, hit_id, cameras)
    if row.crop_key is None:
        raise NotFoundError(f"plate hit {row.id} has no plate crop (rejected or not stored)")
    log_action(db, actor, "plates.hit.view", f"hit:{row.id}", {"key": row.crop_key})
    return row.crop_key
