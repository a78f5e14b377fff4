"""Evidence locks (governance.evidence): place, list and release the locks that keep recordings, clips,
events and snapshots past retention (evidence:manage). Placing and releasing are audited by
governance.evidence itself; a range item must name a camera the caller may see.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status
from pydantic import BaseModel, Field

from safecity.api.deps import Node, Principal, ensure_camera_visible, require
from safecity.governance.evidence import LockInfo, LockItem, LockKind, create_lock, list_locks, release_lock

router = APIRouter(prefix="/evidence-locks", tags=["evidence"])
Manager = Annotated[Principal, Depends(require("evidence:manage"))]


class ItemIn(BaseModel):
    kind: LockKind = Field(description="segment | clip | event | snapshot (by event id) | range")
    item_id: str | None = Field(None, max_length=64, description="The id, for every kind but range")
    camera_id: str | None = Field(None, max_length=128, description="range: the camera")
    start: datetime | None = Field(None, description="range: from (UTC if no offset)")
    end: datetime | None = Field(None, description="range: to (UTC if no offset)")


class LockIn(BaseModel):
    incident_id: int | None = Field(None, description="The incident the lock serves, or")
    case_ref: str | None = Field(None, min_length=1, max_length=128, description="a case reference")
    reason: str = Field(min_length=3, max_length=2000)
    expires_at: datetime = Field(description="When the lock stops protecting (UTC if no offset)")
    items: list[ItemIn] = Field(min_length=1, max_length=500)


class ReleaseIn(BaseModel):
    reason: str = Field(min_length=3, max_length=2000)


class ItemOut(BaseModel):
    kind: str
    item_id: str | None
    camera_id: str | None
    start: datetime | None
    end: datetime | None


class LockOut(BaseModel):
    id: int
    incident_id: int | None
    case_ref: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    released_at: datetime | None
    active: bool
    items: list[ItemOut]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    try:
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "time out of range") from exc


def _out(lock: LockInfo, now: datetime) -> LockOut:
    return LockOut(
        id=lock.id,
        incident_id=lock.incident_id,
        case_ref=lock.case_ref,
        reason=lock.reason,
        created_by=lock.created_by,
        created_at=lock.created_at,
        expires_at=lock.expires_at,
        released_at=lock.released_at,
        active=lock.released_at is None and lock.expires_at > now,
        items=[
            ItemOut(kind=i.kind.value, item_id=i.item_id, camera_id=i.camera_id, start=i.start, end=i.end)
            for i in lock.items
        ],
    )


@router.get("", response_model=list[LockOut])
def get_locks(
    node: Node,
    who: Manager,
    include_ended: Annotated[bool, Query(description="Also released and expired locks")] = False,
) -> list[LockOut]:
    """Evidence locks, newest first (by default only those in force)."""
    now = datetime.now(UTC)
    with node.engine.connect() as conn:
        locks = list_locks(conn, include_ended=include_ended, at=now)
    return [_out(lock, now) for lock in locks]


@router.post("", response_model=LockOut, status_code=status.HTTP_201_CREATED)
def place_lock(body: LockIn, node: Node, who: Manager) -> LockOut:
    """Place a lock on an incident's or a case's items (audited)."""
    try:
        items = [
            LockItem(i.kind, i.item_id, i.camera_id, _utc(i.start), _utc(i.end))
            if i.kind is LockKind.RANGE
            else LockItem(i.kind, i.item_id)
            for i in body.items
        ]
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    for item in items:
        if item.camera_id is not None:
            ensure_camera_visible(who, item.camera_id, hide=False)
    expires_at = _utc(body.expires_at)
    assert expires_at is not None
    now = datetime.now(UTC)
    try:
        with node.engine.begin() as conn:
            lock_id = create_lock(
                conn,
                actor=who.username,
                reason=body.reason,
                expires_at=expires_at,
                items=items,
                incident_id=body.incident_id,
                case_ref=body.case_ref,
                now=now,
            )
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    with node.engine.connect() as conn:
        found = next(lock for lock in list_locks(conn, include_ended=True) if lock.id == lock_id)
    return _out(found, now)


@router.post("/{lock_id}/release", response_model=LockOut)
def release(lock_id: Annotated[int, Path(ge=1)], body: ReleaseIn, node: Node, who: Manager) -> LockOut:
    """End a lock before its expiry (audited); 404 if there is no such active lock."""
    now = datetime.now(UTC)
    try:
        with node.engine.begin() as conn:
            release_lock(conn, lock_id, actor=who.username, reason=body.reason, now=now)
    except KeyError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no active evidence lock {lock_id}") from exc
    except ValueError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    with node.engine.connect() as conn:
        found = next(lock for lock in list_locks(conn, include_ended=True) if lock.id == lock_id)
    return _out(found, now)
