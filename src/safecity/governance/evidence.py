"""Evidence locks: the only override of retention.

A lock is tied to an incident (`incident_id`) or a case reference (`case_ref`), states a reason, names who
placed it and has its own expiry; it holds items: recording segments, clips, events, snapshots (by the id
of their event) or a camera + time range (everything of that camera overlapping it: segments, clips,
events, their snapshots, alerts). Locking an event also keeps its snapshot and its event clips; locking an
incident also keeps that incident's alerts. A lock stops protecting at `expires_at` or when released
early; both placing and releasing are audited. Locks are never deleted (they are part of the record).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Connection, ForeignKey, Index, Integer, String, Table, Text, select, update
from sqlalchemy.orm import Mapped, mapped_column

from safecity.governance import audit
from safecity.store.models import Base, UTCDateTime


class LockKind(enum.StrEnum):
    SEGMENT = "segment"
    CLIP = "clip"
    EVENT = "event"
    SNAPSHOT = "snapshot"  # item_id is the event id whose snapshot is kept
    RANGE = "range"


class EvidenceLockRow(Base):
    __tablename__ = "evidence_locks"
    __table_args__ = (Index("ix_evidence_locks_expires_at", "expires_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(Integer)
    case_ref: Mapped[str | None] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(128), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, nullable=False)
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    released_by: Mapped[str | None] = mapped_column(String(128))
    release_reason: Mapped[str | None] = mapped_column(Text)


class EvidenceItemRow(Base):
    __tablename__ = "evidence_lock_items"
    __table_args__ = (Index("ix_evidence_lock_items_lock_id", "lock_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    lock_id: Mapped[int] = mapped_column(ForeignKey("evidence_locks.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    item_id: Mapped[str | None] = mapped_column(String(64))
    camera_id: Mapped[str | None] = mapped_column(String(128))
    start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end: Mapped[datetime | None] = mapped_column(UTCDateTime)


_LOCKS = cast(Table, EvidenceLockRow.__table__)
_ITEMS = cast(Table, EvidenceItemRow.__table__)


@dataclass(frozen=True, slots=True)
class LockItem:
    """One locked thing: an id of a segment/clip/event/snapshot, or a camera and a time range."""

    kind: LockKind
    item_id: str | None = None
    camera_id: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.kind is LockKind.RANGE:
            if not self.camera_id or self.start is None or self.end is None or self.end <= self.start:
                raise ValueError("a range lock needs a camera and a start before its end")
        elif not self.item_id:
            raise ValueError(f"a {self.kind.value} lock needs the item's id")


@dataclass(frozen=True, slots=True)
class TimeRange:
    camera_id: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class LockSet:
    """What the active locks protect at one instant (what retention consults)."""

    segment_ids: frozenset[str] = frozenset()
    clip_ids: frozenset[str] = frozenset()
    event_ids: frozenset[str] = frozenset()  # events, with their snapshots and event clips
    snapshot_event_ids: frozenset[str] = frozenset()
    incident_ids: frozenset[int] = frozenset()
    ranges: tuple[TimeRange, ...] = field(default=())

    def covers(self, camera_id: str, start: datetime, end: datetime) -> bool:
        """Whether a range lock overlaps [start, end] of this camera."""
        return any(r.camera_id == camera_id and r.start <= end and start <= r.end for r in self.ranges)


def create_lock(
    conn: Connection,
    *,
    actor: str,
    reason: str,
    expires_at: datetime,
    items: list[LockItem],
    incident_id: int | None = None,
    case_ref: str | None = None,
    now: datetime | None = None,
) -> int:
    """Place a lock (audited); its id."""
    now = now or datetime.now(UTC)
    if incident_id is None and not case_ref:
        raise ValueError("an evidence lock is tied to an incident or a case reference")
    if not reason.strip():
        raise ValueError("an evidence lock needs a reason")
    if expires_at <= now:
        raise ValueError("an evidence lock must expire in the future")
    if not items:
        raise ValueError("an evidence lock needs at least one item")
    audit.append(
        conn,
        actor,
        "evidence.lock",
        f"incident:{incident_id}" if incident_id else f"case:{case_ref}",
        {"reason": reason, "expires_at": expires_at.isoformat(), "items": [_item_text(i) for i in items]},
        at=now,
    )
    lock_id = conn.execute(
        _LOCKS.insert().values(
            incident_id=incident_id,
            case_ref=case_ref,
            reason=reason,
            created_by=actor,
            created_at=now,
            expires_at=expires_at,
        )
    ).inserted_primary_key
    assert lock_id is not None
    rows = [
        dict(
            lock_id=lock_id[0],
            kind=i.kind.value,
            item_id=i.item_id,
            camera_id=i.camera_id,
            start=i.start,
            end=i.end,
        )
        for i in items
    ]
    conn.execute(_ITEMS.insert(), rows)
    return int(lock_id[0])


def _item_text(item: LockItem) -> str:
    if item.kind is LockKind.RANGE:
        assert item.start is not None and item.end is not None
        return f"range:{item.camera_id}:{item.start.isoformat()}/{item.end.isoformat()}"
    return f"{item.kind.value}:{item.item_id}"


def release_lock(
    conn: Connection, lock_id: int, *, actor: str, reason: str, now: datetime | None = None
) -> None:
    """End a lock before its expiry (audited). KeyError if there is no such active lock."""
    now = now or datetime.now(UTC)
    if not reason.strip():
        raise ValueError("releasing an evidence lock needs a reason")
    audit.append(conn, actor, "evidence.release", f"lock:{lock_id}", {"reason": reason}, at=now)
    done = conn.execute(
        update(_LOCKS)
        .where(_LOCKS.c.id == lock_id, _LOCKS.c.released_at.is_(None))
        .values(released_at=now, released_by=actor, release_reason=reason)
    ).rowcount
    if not done:
        raise KeyError(f"no active evidence lock {lock_id}")


def active_locks(conn: Connection, at: datetime | None = None) -> LockSet:
    """Everything protected by the locks in force at `at` (default: now)."""
    at = at or datetime.now(UTC)
    live = (_LOCKS.c.released_at.is_(None)) & (_LOCKS.c.expires_at > at)
    ids: dict[str, set[str]] = {k.value: set() for k in LockKind}
    ranges: list[TimeRange] = []
    stmt = select(_ITEMS).join(_LOCKS, _ITEMS.c.lock_id == _LOCKS.c.id).where(live)
    for row in conn.execute(stmt):
        if row.kind == LockKind.RANGE.value:
            ranges.append(TimeRange(row.camera_id, row.start, row.end))
        elif row.kind in ids and row.item_id:
            ids[row.kind].add(row.item_id)
    incidents = conn.execute(select(_LOCKS.c.incident_id).where(live, _LOCKS.c.incident_id.is_not(None)))
    return LockSet(
        segment_ids=frozenset(ids[LockKind.SEGMENT]),
        clip_ids=frozenset(ids[LockKind.CLIP]),
        event_ids=frozenset(ids[LockKind.EVENT]),
        snapshot_event_ids=frozenset(ids[LockKind.SNAPSHOT] | ids[LockKind.EVENT]),
        incident_ids=frozenset(int(i) for (i,) in incidents),
        ranges=tuple(ranges),
    )


@dataclass(frozen=True, slots=True)
class LockInfo:
    id: int
    incident_id: int | None
    case_ref: str | None
    reason: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    released_at: datetime | None
    items: tuple[LockItem, ...]


def list_locks(
    conn: Connection, *, include_ended: bool = False, at: datetime | None = None
) -> list[LockInfo]:
    """Locks, newest first (by default only those in force)."""
    at = at or datetime.now(UTC)
    stmt = select(_LOCKS).order_by(_LOCKS.c.id.desc())
    if not include_ended:
        stmt = stmt.where(_LOCKS.c.released_at.is_(None), _LOCKS.c.expires_at > at)
    locks = list(conn.execute(stmt))
    items: dict[int, list[LockItem]] = {}
    if locks:
        for row in conn.execute(select(_ITEMS).where(_ITEMS.c.lock_id.in_([r.id for r in locks]))):
            items.setdefault(row.lock_id, []).append(
                LockItem(LockKind(row.kind), row.item_id, row.camera_id, row.start, row.end)
            )
    return [
        LockInfo(
            r.id,
            r.incident_id,
            r.case_ref,
            r.reason,
            r.created_by,
            r.created_at,
            r.expires_at,
            r.released_at,
            tuple(items.get(r.id, ())),
        )
        for r in locks
    ]
