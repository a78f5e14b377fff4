"""Clips cut from recorded segments: keyframe-aligned remux across segment boundaries, event clips with
pre- and post-roll from the bus, one clip per event."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import av
from sqlalchemy import func, select

from safecity.bus.memory import MemoryBus
from safecity.recording.clips import EventClipper, make_clip, sha256_file
from safecity.recording.config import ClipsConfig
from safecity.recording.index import CLIPS, clip_for_event
from safecity.types import Event, EventKind

from .conftest import T0, Recorded


def _frames(path: Path) -> tuple[int, float, float]:
    """(decoded frames, first frame time, last frame time) of an MP4."""
    with av.open(str(path)) as c:
        times = [float(f.time) for f in c.decode(video=0) if f.time is not None]
    return len(times), min(times), max(times)


def test_a_clip_across_two_segments_starts_on_the_keyframe_before(recorded: Recorded, tmp_path: Path) -> None:
    store = recorded.store
    start, end = T0 + timedelta(seconds=15.5), T0 + timedelta(seconds=25.0)  # segments cut near 10, 20, 30 s
    clip = make_clip(
        store.engine,
        store.storage,
        tmp_path / "work",
        "gate-1",
        start,
        end,
        reason="request",
        created_by="alice",
    )
    assert clip is not None
    # keyframes every 2 s of stream time (stream time 0 = T0): the clip begins at 14 s, 1.5 s early
    assert abs((clip.start - (T0 + timedelta(seconds=14.0))).total_seconds()) < 1e-3
    assert end - timedelta(seconds=0.15) <= clip.end <= end + timedelta(seconds=0.35)  # + B-frame delay
    path = store.storage.path_for(clip.key)
    assert path is not None and sha256_file(path) == clip.sha256 and path.stat().st_size == clip.bytes
    frames, first, last = _frames(path)
    # 14.0 .. 25.2 s at 10 fps, every frame decodable: the packets decoded by 25.0 s show up to 25.2 s
    assert frames == 113
    assert first == 0.0 and abs(last - 11.2) < 0.05
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CLIPS)).scalar_one() == 1


def test_nothing_recorded_gives_no_clip(recorded: Recorded, tmp_path: Path) -> None:
    store = recorded.store
    later = T0 + timedelta(hours=2)
    assert (
        make_clip(
            store.engine,
            store.storage,
            tmp_path,
            "gate-1",
            later,
            later + timedelta(seconds=5),
            reason="request",
            created_by="alice",
        )
        is None
    )
    assert (
        make_clip(
            store.engine,
            store.storage,
            tmp_path,
            "other",
            T0,
            T0 + timedelta(seconds=5),
            reason="request",
            created_by="alice",
        )
        is None
    )


def _event(kind: EventKind, at_s: float, camera: str = "gate-1") -> Event:
    at = T0 + timedelta(seconds=at_s)
    return Event(camera_id=camera, kind=kind, start=at, end=at + timedelta(seconds=3))


def test_event_clips_from_the_bus_with_pre_and_post_roll(recorded: Recorded, tmp_path: Path) -> None:
    store = recorded.store
    config = ClipsConfig(pre_roll_s=4, post_roll_s=6, event_kinds=("crowding",))
    now = [T0.timestamp() + 100]
    clipper = EventClipper(
        store.engine, store.storage, config, {"gate-1": 10.0}, tmp_path / "work", clock=lambda: now[0]
    )
    bus = MemoryBus()
    bus.subscribe(clipper)
    crowd = _event(EventKind.CROWDING, 40.0)  # 36 s .. 49 s with the rolls
    late = _event(EventKind.CROWDING, 75.0)  # its post-roll (84 s) is after the recording's end (79.5 s)
    for event in (
        crowd,
        _event(EventKind.LINE_CROSSING, 30.0),
        _event(EventKind.CROWDING, 10, "unrecorded"),
        late,
    ):
        bus.publish(event)
    assert bus.drain(5)
    assert len(clipper.pending) == 2  # other kinds and unrecorded cameras are ignored
    assert clipper.run_pending() == 1  # the late one waits for segments that may still come
    with store.engine.connect() as conn:
        clip = clip_for_event(conn, crowd.id)
    assert clip is not None and clip.reason == "event" and clip.created_by == "system"
    assert clip.start <= crowd.start - timedelta(seconds=4) < clip.start + timedelta(seconds=2)
    assert clip.end >= crowd.end + timedelta(seconds=6) - timedelta(seconds=0.15)
    now[0] = late.end.timestamp() + 6 + 2 * 10 + 31  # its deadline: cut with what was recorded
    assert clipper.run_pending() == 1 and not clipper.pending
    with store.engine.connect() as conn:
        partial = clip_for_event(conn, late.id)
    assert partial is not None and abs((partial.end - (T0 + timedelta(seconds=79.5))).total_seconds()) < 0.01
    clipper(crowd)  # redelivered (NATS at-least-once): no second clip
    now[0] += 1000
    assert clipper.run_pending() == 0
    bus.close()


def test_pending_clips_are_bounded(recorded: Recorded, tmp_path: Path) -> None:
    config = ClipsConfig(event_kinds=("loitering",), max_pending=2)
    clipper = EventClipper(recorded.store.engine, recorded.store.storage, config, {"gate-1": 10.0}, tmp_path)
    for i in range(5):
        clipper(_event(EventKind.LOITERING, float(i)))
    assert len(clipper.pending) == 2 and clipper.dropped == 3
