"""The segment and clip index: storage keys, commit of a finished segment, range queries.

Repository functions take an explicit `Connection`; `SegmentStore` holds an engine and the media storage
for the recorder's commit step (store the file, then index it: a crash in between leaves a stored file
without a row, which the reconciler validates and indexes).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import quote, unquote

from sqlalchemy import Connection, Engine, Table, func, select, update

from safecity.media.storage import ManagedStorage
from safecity.recording.models import ClipRow, SegmentRow, SegmentStatus
from safecity.recording.segment import SegmentInfo

SEGMENTS = cast(Table, SegmentRow.__table__)
CLIPS = cast(Table, ClipRow.__table__)
RECORDINGS_PREFIX = "recordings"
CLIPS_PREFIX = "clips"


def camera_segment(camera_id: str) -> str:
    if camera_id in ("", ".", ".."):
        raise ValueError(f"{camera_id!r} cannot be a storage key segment")
    return quote(camera_id, safe="-_.~")


def segment_key(camera_id: str, start: datetime, segment_id: str) -> str:
    """`recordings/<camera>/<YYYY-MM-DD>/<HHMMSSmmm>_<id>.mp4` (UTC)."""
    t = start.astimezone(UTC)
    return (
        f"{RECORDINGS_PREFIX}/{camera_segment(camera_id)}/{t:%Y-%m-%d}/"
        f"{t:%H%M%S}{t.microsecond // 1000:03d}_{segment_id}.mp4"
    )


def parse_segment_key(key: str) -> tuple[str, datetime, str] | None:
    """(camera id, start to the millisecond, segment id) of a key made by `segment_key`."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != RECORDINGS_PREFIX or not parts[3].endswith(".mp4"):
        return None
    stamp, _, seg_id = parts[3][:-4].partition("_")
    try:
        day = datetime.strptime(parts[2], "%Y-%m-%d")
        clock = datetime.strptime(stamp[:6], "%H%M%S")
        ms = int(stamp[6:9])
    except ValueError:
        return None
    if len(stamp) != 9 or len(seg_id) != 32:
        return None
    start = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second, microsecond=ms * 1000)
    return unquote(parts[1]), start.replace(tzinfo=UTC), seg_id


def clip_key(camera_id: str, start: datetime, clip_id: str) -> str:
    return f"{CLIPS_PREFIX}/{camera_segment(camera_id)}/{start.astimezone(UTC):%Y-%m-%d}/{clip_id}.mp4"


@dataclass(frozen=True, slots=True)
class SegmentRecord:
    id: str
    camera_id: str
    start: datetime
    end: datetime
    key: str
    bytes: int
    codec: str
    width: int
    height: int
    transcoded: bool
    status: str


@dataclass(frozen=True, slots=True)
class ClipRecord:
    id: str
    camera_id: str
    event_id: str | None
    start: datetime
    end: datetime
    key: str
    bytes: int
    sha256: str
    reason: str
    redacted: bool
    created_by: str
    created_at: datetime


def _segment(row: Any) -> SegmentRecord:
    return SegmentRecord(*(getattr(row, f) for f in SegmentRecord.__slots__))


def _clip(row: Any) -> ClipRecord:
    return ClipRecord(*(getattr(row, f) for f in ClipRecord.__slots__))


def insert_segment(conn: Connection, info: SegmentInfo, key: str, size: int, status: SegmentStatus) -> None:
    conn.execute(
        SEGMENTS.insert().values(
            id=info.id,
            camera_id=info.camera_id,
            start=info.start,
            end=info.end,
            key=key,
            bytes=size,
            codec=info.codec,
            width=info.width,
            height=info.height,
            transcoded=info.transcoded,
            status=status.value,
            created_at=datetime.now(UTC),
        )
    )


def segments_between(
    conn: Connection, camera_id: str, since: datetime, until: datetime, *, present_only: bool = True
) -> list[SegmentRecord]:
    """Segments of a camera overlapping [since, until), oldest first."""
    c = SEGMENTS.c
    stmt = select(SEGMENTS).where(c.camera_id == camera_id, c.start < until, c.end > since).order_by(c.start)
    if present_only:
        stmt = stmt.where(c.status != SegmentStatus.MISSING.value)
    return [_segment(r) for r in conn.execute(stmt)]


def latest_segment_end(conn: Connection, camera_id: str) -> datetime | None:
    end: datetime | None = conn.execute(
        select(func.max(SEGMENTS.c.end)).where(SEGMENTS.c.camera_id == camera_id)
    ).scalar()
    if end is not None and end.tzinfo is None:  # func.max bypasses the column type on SQLite
        end = datetime.fromisoformat(str(end)).replace(tzinfo=UTC)
    return end


def segment_ids(conn: Connection, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    return {r[0] for r in conn.execute(select(SEGMENTS.c.id).where(SEGMENTS.c.id.in_(ids)))}


def mark_missing(conn: Connection, ids: list[str]) -> int:
    if not ids:
        return 0
    stmt = update(SEGMENTS).where(SEGMENTS.c.id.in_(ids)).values(status=SegmentStatus.MISSING.value)
    return int(conn.execute(stmt).rowcount or 0)


def insert_clip(conn: Connection, clip: ClipRecord) -> None:
    conn.execute(CLIPS.insert().values(**{f: getattr(clip, f) for f in ClipRecord.__slots__}))


def clips_between(conn: Connection, camera_id: str, since: datetime, until: datetime) -> list[ClipRecord]:
    c = CLIPS.c
    stmt = select(CLIPS).where(c.camera_id == camera_id, c.start < until, c.end > since).order_by(c.start)
    return [_clip(r) for r in conn.execute(stmt)]


def clip_by_id(conn: Connection, clip_id: str) -> ClipRecord | None:
    row = conn.execute(select(CLIPS).where(CLIPS.c.id == clip_id)).first()
    return _clip(row) if row is not None else None


def clip_for_event(conn: Connection, event_id: str) -> ClipRecord | None:
    row = conn.execute(select(CLIPS).where(CLIPS.c.event_id == event_id).limit(1)).first()
    return _clip(row) if row is not None else None


def original_clip_of_events(conn: Connection, event_ids: list[str]) -> ClipRecord | None:
    """The earliest unblurred clip of any of these events (an event clip as recorded)."""
    if not event_ids:
        return None
    c = CLIPS.c
    stmt = select(CLIPS).where(c.event_id.in_(event_ids), c.redacted.is_(False)).order_by(c.start).limit(1)
    row = conn.execute(stmt).first()
    return _clip(row) if row is not None else None


def blurred_copy_of(conn: Connection, clip: ClipRecord) -> ClipRecord | None:
    """The newest redacted export of `clip` (same camera and span), if one was made."""
    c = CLIPS.c
    stmt = (
        select(CLIPS)
        .where(c.camera_id == clip.camera_id, c.start == clip.start, c.end == clip.end, c.redacted.is_(True))
        .order_by(c.created_at.desc())
        .limit(1)
    )
    row = conn.execute(stmt).first()
    return _clip(row) if row is not None else None


class SegmentStore:
    """Stores finished segment files and indexes them: the recorder's sink."""

    def __init__(self, engine: Engine, storage: ManagedStorage) -> None:
        self.engine = engine
        self.storage = storage

    def commit(self, info: SegmentInfo, status: SegmentStatus = SegmentStatus.COMPLETE) -> str:
        """Move the spool file into storage, then index it; the storage key."""
        key = segment_key(info.camera_id, info.start, info.id)
        size = self.storage.put_file(key, info.path)
        with self.engine.begin() as conn:
            insert_segment(conn, info, key, size, status)
        return key
