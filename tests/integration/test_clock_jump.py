"""Clock jump: the wall clock steps back one hour (NTP correction, a wrong RTC) while the system runs,
simulated through the clocks the components take as parameters.

- Frames: a looped real video whose loop restarts (a new segment anchored on the wall clock) happen
  after the step: frame times never go back, so no event or recording gets a negative duration.
- Retention: purging with the clock stepped back keeps everything it kept before (nothing goes early).
- Leases: a fence's deadline is on the monotonic clock; a wall-clock step neither closes it early nor
  keeps it open past its deadline.
- The event outbox: its age reading never goes negative.
"""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from safecity.cluster.leases import Lease
from safecity.cluster.worker import Fence
from safecity.governance.retention import Retention
from safecity.governance.retention_config import RetentionConfig
from safecity.ingest import SourceSpec, VideoSource
from safecity.media.storage import LocalMediaStorage
from safecity.store import make_engine, open_store
from safecity.store.models import EventRow
from safecity.store.outbox import Outbox
from safecity.types import Event, EventKind

HOUR = 3600.0


class SteppableClock:
    """Wall clock with an offset a test can change (the step), as `time.time` would after NTP steps it."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_frame_times_never_go_back_when_the_clock_steps_back(shared_data: Path) -> None:
    video = shared_data / "video" / "tud-campus.mp4"  # 71 frames: the loop restarts twice below
    clock = SteppableClock()
    source = VideoSource(SourceSpec(camera_id="c", url=str(video), fps=None, loop=True), clock=clock)
    stamps: list[float] = []
    frames = source.frames()
    try:
        for frame in frames:
            stamps.append(frame.ts)
            if len(stamps) == 30:
                clock.offset = -HOUR  # the step, in the middle of the first pass
            if len(stamps) >= 180:
                break
    finally:
        frames.close()
        source.stop()
    steps = [b - a for a, b in itertools.pairwise(stamps)]
    assert min(steps) >= 0, "a frame time went back"
    assert stamps[-1] - stamps[0] < 60  # and it did not jump an hour either way


def _event(i: int, start: datetime) -> Event:
    return Event(camera_id="c", kind=EventKind.LINE_CROSSING, start=start, end=start, id=f"{i:032x}")


def test_retention_does_not_purge_early_when_the_clock_steps_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    store = open_store(url)
    now = datetime.now(UTC)
    ages_h = [1, 23, 25, 47, 49]  # events retained 2 days: 49 h is due, the rest are not
    store.append([_event(i, now - timedelta(hours=h)) for i, h in enumerate(ages_h)])
    store.close()
    engine = make_engine(url)
    config = RetentionConfig.model_validate({"events": {"days": 2}})
    media = LocalMediaStorage(tmp_path / "media")

    def remaining() -> int:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(EventRow)).scalar_one())

    try:
        Retention(engine, media, config, clock=lambda: now).run()
        assert remaining() == 4  # the 49 h one went, on time
        stepped_back = now - timedelta(hours=1)
        for _ in range(2):
            Retention(engine, media, config, clock=lambda: stepped_back).run()
        assert remaining() == 4, "nothing purged early after the step"
        Retention(engine, media, config, clock=lambda: now + timedelta(hours=1.5)).run()
        assert remaining() == 3, "the 47 h event goes when its time really comes"
    finally:
        engine.dispose()


def test_lease_fence_ignores_wall_clock_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    fence = Fence(Lease("c", 1, time.monotonic() + 0.5))
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - HOUR)  # the wall clock steps back
    assert fence.is_open()
    time.sleep(0.6)
    assert not fence.is_open(), "the deadline passed on the monotonic clock: closed, step or not"
    monkeypatch.setattr(time, "time", lambda: real_time() + HOUR)  # and forward: no early expiry
    assert Fence(Lease("c", 2, time.monotonic() + 5)).is_open()


def test_outbox_age_never_negative_after_a_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    box = Outbox(tmp_path / "outbox.db")
    box.put([_event(1, datetime.now(UTC))])
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - HOUR)
    age = box.oldest_age_s()
    assert age is not None and age >= 0
    box.close()
