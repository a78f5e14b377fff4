"""A camera's timeline: recorded segments, gaps, events and clips in a time range (for the playback UI).

Playback: segment `start` is the wall-clock time of the segment file's time 0, so the picture at time T
is segment file time `T - start` of the segment whose [start, end) holds T (consecutive segments may
overlap by the source's B-frame delay, a frame or two). Segments and clips carry `locked` when an evidence
lock keeps them from retention.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from safecity.governance.evidence import LockSet, active_locks
from safecity.recording.index import ClipRecord, SegmentRecord, clips_between, segments_between
from safecity.store.repository import EventQuery, query_events
from safecity.types import Event

GAP_TOLERANCE_S = 1.0  # holes shorter than this (segment boundaries, B-frame delay) are not gaps


@dataclass(frozen=True, slots=True)
class TimelineSegment:
    segment: SegmentRecord
    locked: bool


@dataclass(frozen=True, slots=True)
class TimelineClip:
    clip: ClipRecord
    locked: bool


@dataclass(frozen=True, slots=True)
class Timeline:
    camera_id: str
    since: datetime
    until: datetime
    segments: tuple[TimelineSegment, ...]
    gaps: tuple[tuple[datetime, datetime], ...]  # parts of [since, until) with no recording
    events: tuple[Event, ...]  # oldest first
    clips: tuple[TimelineClip, ...]
    events_truncated: bool  # more than `max_events` events in the range


def _gaps(segments: list[SegmentRecord], since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    gaps: list[tuple[datetime, datetime]] = []
    cursor = since
    for s in segments:
        if s.status == "missing":
            continue
        if (s.start - cursor).total_seconds() > GAP_TOLERANCE_S:
            gaps.append((cursor, s.start))
        cursor = max(cursor, s.end)
    if (until - cursor).total_seconds() > GAP_TOLERANCE_S:
        gaps.append((cursor, until))
    return gaps


def _segment_locked(locks: LockSet, s: SegmentRecord) -> bool:
    return s.id in locks.segment_ids or locks.covers(s.camera_id, s.start, s.end)


def _clip_locked(locks: LockSet, c: ClipRecord) -> bool:
    return (
        c.id in locks.clip_ids
        or (c.event_id is not None and c.event_id in locks.event_ids)
        or locks.covers(c.camera_id, c.start, c.end)
    )


def timeline(
    conn: Connection,
    camera_id: str,
    since: datetime,
    until: datetime,
    *,
    max_events: int = 1000,
    at: datetime | None = None,
) -> Timeline:
    """Everything recorded and detected for `camera_id` in [since, until); locks as in force `at` (now)."""
    if until <= since:
        raise ValueError("until must be after since")
    segments = segments_between(conn, camera_id, since, until, present_only=False)
    clips = clips_between(conn, camera_id, since, until)
    events = query_events(
        conn, EventQuery(camera_id=camera_id, since=since, until=until, limit=max_events + 1)
    )
    locks = active_locks(conn, at)
    return Timeline(
        camera_id=camera_id,
        since=since,
        until=until,
        segments=tuple(TimelineSegment(s, _segment_locked(locks, s)) for s in segments),
        gaps=tuple(_gaps(segments, since, until)),
        events=tuple(reversed(events[:max_events])),
        clips=tuple(TimelineClip(c, _clip_locked(locks, c)) for c in clips),
        events_truncated=len(events) > max_events,
    )
