"""The per-camera timeline the playback UI reads: segments, gaps, events, clips, evidence locks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from safecity.governance.evidence import LockItem, LockKind, create_lock, list_locks, release_lock
from safecity.recording.clips import make_clip
from safecity.recording.index import SEGMENTS
from safecity.recording.timeline import timeline
from safecity.store.repository import append_events
from safecity.types import Event, EventKind

from .conftest import T0, Recorded


def test_timeline_segments_gaps_events_clips_and_locks(recorded: Recorded, tmp_path: Path) -> None:
    store = recorded.store
    with store.engine.begin() as conn:
        ids = [r.id for r in conn.execute(SEGMENTS.select().order_by(SEGMENTS.c.start))]
        conn.execute(SEGMENTS.delete().where(SEGMENTS.c.id == ids[2]))  # a hole from ~20 s to ~30 s
        events = [
            Event(
                camera_id="gate-1",
                kind=EventKind.CROWDING,
                start=T0 + timedelta(seconds=s),
                end=T0 + timedelta(seconds=s + 1),
            )
            for s in (5, 45, 200)
        ]
        append_events(conn, events)
        create_lock(
            conn,
            actor="inspector",
            reason="case 1",
            case_ref="1/2025",
            now=T0,
            expires_at=T0 + timedelta(days=7),
            items=[
                LockItem(
                    LockKind.RANGE,
                    camera_id="gate-1",
                    start=T0 + timedelta(seconds=41),
                    end=T0 + timedelta(seconds=42),
                )
            ],
        )
    clip = make_clip(
        store.engine,
        store.storage,
        tmp_path,
        "gate-1",
        T0 + timedelta(seconds=44),
        T0 + timedelta(seconds=50),
        reason="event",
        created_by="system",
        event_id=events[1].id,
    )
    assert clip is not None
    with store.engine.connect() as conn:
        tl = timeline(conn, "gate-1", T0 - timedelta(seconds=10), T0 + timedelta(seconds=100), at=T0)
        small = timeline(conn, "gate-1", T0, T0 + timedelta(seconds=100), max_events=1, at=T0)
    assert [s.segment.id for s in tl.segments] == [i for i in ids if i != ids[2]]
    assert [s.locked for s in tl.segments] == [False, False, False, True, False, False, False]
    (before, hole, after) = tl.gaps
    assert before == (T0 - timedelta(seconds=10), tl.segments[0].segment.start)
    assert hole == (tl.segments[1].segment.end, tl.segments[2].segment.start)
    assert after[1] == T0 + timedelta(seconds=100) and abs((after[0] - T0).total_seconds() - 79.5) < 1e-3
    assert [e.id for e in tl.events] == [events[0].id, events[1].id] and not tl.events_truncated
    assert [(c.clip.id, c.locked) for c in tl.clips] == [(clip.id, False)]
    assert small.events_truncated and [e.id for e in small.events] == [events[1].id]
    with pytest.raises(ValueError):
        timeline(conn, "gate-1", T0, T0)


def test_locks_are_validated_audited_and_released(recorded: Recorded) -> None:
    engine = recorded.store.engine
    item = LockItem(LockKind.CLIP, "c" * 32)
    with engine.begin() as conn:
        for bad in (
            dict(case_ref=None),
            dict(reason=" "),
            dict(expires_at=T0 - timedelta(days=1)),
            dict(items=[]),
        ):
            args: dict[str, object] = (
                dict(
                    actor="x",
                    reason="r",
                    expires_at=T0 + timedelta(days=1),
                    items=[item],
                    case_ref="c",
                    now=T0,
                )
                | bad
            )
            with pytest.raises(ValueError):
                create_lock(conn, **args)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            LockItem(LockKind.RANGE, camera_id="gate-1", start=T0, end=T0)
        lock = create_lock(
            conn,
            actor="x",
            reason="r",
            expires_at=T0 + timedelta(days=1),
            items=[item],
            incident_id=12,
            now=T0,
        )
    with engine.connect() as conn:
        (info,) = list_locks(conn, at=T0)
        assert info.id == lock and info.incident_id == 12 and info.items == (item,)
    with engine.begin() as conn:
        release_lock(conn, lock, actor="y", reason="done", now=T0 + timedelta(hours=1))
        with pytest.raises(KeyError):
            release_lock(conn, lock, actor="y", reason="again", now=T0 + timedelta(hours=2))
    with engine.connect() as conn:
        assert list_locks(conn, at=T0 + timedelta(hours=2)) == []
        assert len(list_locks(conn, include_ended=True)) == 1
