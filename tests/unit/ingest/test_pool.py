"""FramePool: buffers are reused, never handed out while referenced, and a live source under back-pressure
drops its oldest queued frame to free one (counted); a pooled file decode gives the same pictures."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from safecity.ingest import FramePool, SourceSpec, VideoSource, open_source
from safecity.ingest.source import _Handoff, _Run
from safecity.ingest.timing import FpsSampler, Timeline
from safecity.types import Frame

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
PETS = DATA / "video" / "pets09-s2l1-vtest.avi"
SHAPE = (6, 8, 3)


def test_a_released_buffer_is_reused() -> None:
    pool = FramePool(2)
    first = pool.acquire(SHAPE)
    assert first is not None
    first_id = id(first)
    del first  # nobody holds it any more
    again = pool.acquire(SHAPE)
    assert again is not None and id(again) == first_id
    assert pool.stats.allocated == 1 and pool.stats.reused == 1


def test_a_buffer_in_use_is_never_handed_out_again() -> None:
    pool = FramePool(2)
    a, b = pool.acquire(SHAPE), pool.acquire(SHAPE)
    assert a is not None and b is not None and a is not b
    assert pool.acquire(SHAPE) is None  # both held: no third buffer, and neither of the two
    assert pool.stats.exhausted == 1 and pool.in_use == 2
    crop = b[1:3, 2:4]  # a view (a crop, a slice) still holds the picture
    del b
    assert pool.acquire(SHAPE) is None
    del crop
    c = pool.acquire(SHAPE)
    assert c is not None and c is not a
    held_in_frame = Frame("cam", 0, 0.0, 0.0, c)  # a frame in a queue holds it too
    del c
    assert pool.acquire(SHAPE) is None
    del held_in_frame
    assert pool.acquire(SHAPE) is not None


def test_many_threads_never_share_a_buffer() -> None:
    """Holders in other threads: a buffer seen free by the pool is referenced by no one."""
    pool = FramePool(3)
    owners: dict[int, int] = {}
    lock = threading.Lock()
    errors: list[str] = []

    def worker(me: int) -> None:
        for _ in range(300):
            buf = pool.acquire(SHAPE)
            if buf is None:
                continue
            with lock:
                if id(buf) in owners:
                    errors.append(f"buffer {id(buf)} handed to {me} while {owners[id(buf)]} holds it")
                owners[id(buf)] = me
            buf[0, 0, 0] = me
            with lock:
                del owners[id(buf)]
            del buf

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert pool.stats.allocated <= 3


def test_a_new_frame_size_gets_new_buffers() -> None:
    pool = FramePool(1)
    small = pool.acquire(SHAPE)
    assert small is not None
    bigger = pool.acquire((12, 16, 3))  # a reconnect at another resolution: the old holder keeps its own
    assert bigger is not None and bigger.shape == (12, 16, 3) and small.shape == SHAPE


def test_overflow_is_unpooled_and_counted() -> None:
    pool = FramePool(1)
    held = pool.acquire(SHAPE)
    extra = pool.overflow(SHAPE)
    assert extra is not held and pool.stats.overflows == 1
    del held
    assert pool.acquire(SHAPE) is not extra  # overflow arrays never join the pool


def test_live_back_pressure_drops_the_oldest_queued_frame_and_counts_it() -> None:
    pool = FramePool(2)
    source = VideoSource(SourceSpec("cam", "rtsp://127.0.0.1:9/none"), pool=pool)
    halt = threading.Event()
    run = _Run(_Handoff(2, True, halt, source.stats), halt, Timeline(time.time), FpsSampler(None))
    for seq in range(2):  # the consumer is behind: both pooled frames wait in the queue
        buf = source._buffer(SHAPE, run)
        assert buf is not None
        buf[:] = seq
        run.out.put(Frame("cam", seq, float(seq), float(seq), buf))
        del buf
    fresh = source._buffer(SHAPE, run)  # the pool is exhausted: the oldest queued frame (seq 0) goes
    assert fresh is not None and source.stats.frames_dropped == 1 and pool.stats.overflows == 0
    assert int(fresh[0, 0, 0]) == 0  # its buffer, now free, is the one reused
    queued = run.out.get()
    assert isinstance(queued, Frame) and queued.seq == 1  # the newer frame is kept
    held = [queued, fresh]
    assert source._buffer(SHAPE, run) is not None  # nothing left to drop: an unpooled array, no wait
    assert pool.stats.overflows == 1 and source.stats.frames_dropped == 1
    assert held


def test_pooled_decode_gives_the_same_pictures_with_few_buffers() -> None:
    if not PETS.is_file():
        pytest.skip(f"shared test data not found: {PETS.resolve()}")
    reference = open_source(SourceSpec("p", str(PETS))).frames()
    plain = [f.image.copy() for f in itertools.islice(reference, 12)]
    reference.close()
    pool = FramePool(4)
    pooled = open_source(SourceSpec("p", str(PETS)), pool=pool, queue_size=1)
    frames = pooled.frames()
    for i, frame in enumerate(itertools.islice(frames, 12)):
        assert np.array_equal(frame.image, plain[i])
        del frame  # a consumer that keeps no frame: a handful of buffers serve the whole file
    frames.close()
    assert pool.stats.allocated <= 4 and pool.stats.reused >= 8 and pool.stats.overflows == 0


def test_back_pressure_never_drops_the_wake_up_of_a_stopping_consumer() -> None:
    pool = FramePool(1)
    source = VideoSource(SourceSpec("cam", "rtsp://127.0.0.1:9/none"), pool=pool)
    halt = threading.Event()
    run = _Run(_Handoff(2, True, halt, source.stats), halt, Timeline(time.time), FpsSampler(None))
    held = pool.acquire(SHAPE)  # held downstream: nothing in the queue frees it
    run.out.wake()  # stop() wakes a consumer blocked on the empty queue
    assert not run.out.drop_oldest()
    assert source.stats.frames_dropped == 0
    assert run.out.get() is not None  # the marker is still there for the consumer
    assert held is not None
