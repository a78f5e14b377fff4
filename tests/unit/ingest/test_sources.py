"""VideoSource on real files (PETS09, TUD-Campus), broken files, and a live URL that never answers."""

from __future__ import annotations

import itertools
import os
import random
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest

from safecity.ingest import SourceError, SourceSpec, VideoSource, open_source
from safecity.types import Frame

DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"
PETS = DATA / "video" / "pets09-s2l1-vtest.avi"
TUD = DATA / "video" / "tud-campus.mp4"


def need(path: Path) -> Path:
    if not path.is_file():
        pytest.skip(f"shared test data not found: {path.resolve()} (see ../shared/data/README.md)")
    return path


def reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("ingest-")]


def wait_no_readers(timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while reader_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not reader_threads(), f"reader threads left running: {reader_threads()}"


def strictly_increasing(values: list[float]) -> bool:
    return all(b > a for a, b in itertools.pairwise(values))


@pytest.fixture(autouse=True)
def no_leaked_readers() -> Iterator[None]:
    yield
    wait_no_readers(5.0)


def test_pets_every_frame() -> None:
    source = open_source(SourceSpec("pets", str(need(PETS))))
    t0 = time.perf_counter()
    frames = list(source.frames())
    elapsed = time.perf_counter() - t0
    print(f"PETS09 768x576 msmpeg4: {len(frames) / elapsed:.0f} frames/s decoded to BGR")
    assert len(frames) == 795
    assert [f.seq for f in frames] == list(range(795))
    assert strictly_increasing([f.pts for f in frames])
    assert strictly_increasing([f.ts for f in frames])
    assert frames[0].pts == 0.0 and frames[-1].pts == pytest.approx(79.4)
    assert frames[-1].ts - frames[0].ts == pytest.approx(79.4, abs=1e-6)
    first = frames[0]
    assert isinstance(first, Frame) and first.camera_id == "pets"
    assert first.image.shape == (576, 768, 3) and first.image.dtype == np.uint8
    assert first.image.flags.c_contiguous and first.image.std() > 10  # a picture, not a blank buffer
    stats = source.stats
    assert (stats.frames_decoded, stats.frames_emitted, stats.frames_skipped) == (795, 795, 0)
    assert stats.errors == 0 and stats.reconnects == 0 and not stats.connected
    assert stats.last_frame_wall is not None


def test_pets_is_bgr_like_an_independent_decode() -> None:
    """Channel order: compare with PyAV's own RGB decode of the same frame, flipped."""
    with av.open(str(need(PETS))) as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    first = next(iter(open_source(SourceSpec("pets", str(PETS))).frames()))
    assert np.array_equal(first.image, rgb[:, :, ::-1])


def test_pets_sampled_to_5fps() -> None:
    source = open_source(SourceSpec("pets", str(need(PETS)), fps=5))
    frames = list(source.frames())
    assert abs(len(frames) - 398) <= 1
    steps = np.diff([f.pts for f in frames])
    assert np.allclose(steps, 0.2, atol=1e-6)
    assert [f.seq for f in frames] == list(range(len(frames)))
    stats = source.stats
    assert stats.frames_decoded == 795  # inter-coded: every frame is decoded ...
    assert stats.frames_skipped == 795 - len(frames)  # ... but the skipped ones are never converted


def test_pets_loop_keeps_pts_and_ts_monotonic() -> None:
    source = open_source(SourceSpec("pets", str(need(PETS)), loop=True))
    frames: list[Frame] = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 1000:
            break
    assert len(frames) == 1000
    assert [f.seq for f in frames] == list(range(1000))
    assert strictly_increasing([f.pts for f in frames])
    assert strictly_increasing([f.ts for f in frames])
    assert frames[795].pts == pytest.approx(79.5)  # the second pass follows the first by one frame
    assert np.array_equal(frames[795].image, frames[0].image)  # and starts again at the first picture


def test_tud_campus_mp4() -> None:
    source = open_source(SourceSpec("tud", "file://" + str(need(TUD).resolve())))
    frames = list(source.frames())
    assert len(frames) == 71
    assert frames[0].image.shape == (480, 640, 3)
    assert np.allclose(np.diff([f.pts for f in frames]), 0.04)


def test_corrupt_file_raises_naming_camera_and_file(tmp_path: Path) -> None:
    bad = tmp_path / "garbage-camera-7.mp4"
    bad.write_bytes(random.Random(0).randbytes(200_000))
    source = open_source(SourceSpec("cam7", str(bad)))
    with pytest.raises(SourceError) as err:
        list(source.frames())
    assert "garbage-camera-7.mp4" in str(err.value) and "cam7" in str(err.value)


def test_empty_file_raises(tmp_path: Path) -> None:
    empty = tmp_path / "empty.avi"
    empty.write_bytes(b"")
    with pytest.raises(SourceError, match=r"empty\.avi"):
        list(open_source(SourceSpec("cam", str(empty))).frames())


def test_missing_file_raises(tmp_path: Path) -> None:
    for url in (str(tmp_path / "nope.mp4"), (tmp_path / "nope.mp4").as_uri()):
        with pytest.raises(SourceError, match=r"camera cam8 .*nope\.mp4"):
            list(open_source(SourceSpec("cam8", url, loop=True)).frames())


def mjpeg_avi(path: Path, frames: int) -> list[int]:
    """An MJPEG AVI of the first PETS frames; returns each packet's byte offset in the file."""
    with av.open(str(need(PETS))) as src, av.open(str(path), "w") as dst:
        stream = dst.add_stream("mjpeg", rate=10)
        stream.width, stream.height, stream.pix_fmt = 768, 576, "yuvj420p"
        for i, frame in enumerate(src.decode(video=0)):
            if i == frames:
                break
            dst.mux(stream.encode(frame.reformat(format="yuvj420p")))
        dst.mux(stream.encode(None))
    with av.open(str(path)) as check:
        return [p.pos for p in check.demux(video=0) if p.size and p.pos is not None]


def test_undecodable_packets_are_counted_and_skipped(tmp_path: Path) -> None:
    clip = tmp_path / "mjpeg.avi"
    offsets = mjpeg_avi(clip, 30)
    data = bytearray(clip.read_bytes())
    for i in (5, 12, 20):  # wipe the JPEG headers of three frames
        data[offsets[i] : offsets[i] + 4000] = bytes(4000)
    clip.write_bytes(bytes(data))
    source = open_source(SourceSpec("cam", str(clip)))
    frames = list(source.frames())
    assert len(frames) == 27
    assert source.stats.errors == 3 and "undecodable" in (source.stats.last_error or "")
    assert strictly_increasing([f.pts for f in frames])


def test_intra_only_skipped_packets_are_not_decoded(tmp_path: Path) -> None:
    clip = tmp_path / "mjpeg.avi"
    mjpeg_avi(clip, 40)
    source = open_source(SourceSpec("cam", str(clip), fps=2.5))
    frames = list(source.frames())
    assert [round(f.pts, 3) for f in frames] == [0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.8, 3.2, 3.6]
    assert source.stats.frames_decoded == 10 and source.stats.frames_skipped == 30


def test_stop_from_another_thread_ends_frames() -> None:
    source = open_source(SourceSpec("pets", str(need(PETS)), loop=True))
    count = 0
    timer = threading.Timer(0.3, source.stop)
    timer.start()
    t0 = time.monotonic()
    for _ in source.frames():
        count += 1
        time.sleep(0.001)
    assert time.monotonic() - t0 < 2.0
    assert count > 0 and source.stopped
    assert list(source.frames()) == []  # stop is permanent
    timer.join()


def test_breaking_out_of_frames_stops_the_reader() -> None:
    source = open_source(SourceSpec("pets", str(need(PETS))))
    frames = source.frames()
    next(frames)
    frames.close()
    wait_no_readers(2.0)
    assert sum(1 for _ in source.frames()) == 795  # a new iteration starts again with a new reader


def test_frames_cannot_be_iterated_twice_at_once() -> None:
    source = open_source(SourceSpec("pets", str(need(PETS))))
    first = source.frames()
    next(first)
    with pytest.raises(RuntimeError, match="already"):
        next(source.frames())
    first.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_live_source_gives_up_after_max_reconnects_with_backoff() -> None:
    port = free_port()  # nothing listens there: every open is refused
    slept: list[float] = []
    spec = SourceSpec(
        "gate",
        f"rtsp://admin:hunter2@127.0.0.1:{port}/cam",
        max_reconnects=3,
        backoff_initial_s=0.5,
        backoff_max_s=1.5,
        open_timeout_s=2.0,
    )
    source = VideoSource(spec, sleep=slept.append)
    with pytest.raises(SourceError) as err:
        list(source.frames())
    message = str(err.value)
    assert "gate" in message and f"127.0.0.1:{port}/cam" in message and "3 reconnect" in message
    assert "hunter2" not in message
    assert source.stats.reconnects == 3 and source.stats.errors == 4
    assert 0.4 <= slept[0] <= 0.5 and 0.8 <= slept[1] <= 1.0 and 1.2 <= slept[2] <= 1.5


def test_stop_interrupts_the_backoff_sleep() -> None:
    url = f"rtsp://127.0.0.1:{free_port()}/cam"
    spec = SourceSpec("gate", url, backoff_initial_s=30.0, backoff_max_s=60.0)
    source = open_source(spec)
    threading.Timer(0.5, source.stop).start()
    t0 = time.monotonic()
    assert list(source.frames()) == []
    assert time.monotonic() - t0 < 1.0
    assert source.stats.reconnects == 1


@pytest.mark.skipif(os.name != "posix", reason="a silent TCP listener")
def test_stop_ends_frames_while_a_read_blocks() -> None:
    """A server that accepts and never answers: FFmpeg blocks; stop() still ends frames() at once, and
    the reader, released by the open timeout, does not outlive it."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        spec = SourceSpec("mute", f"http://127.0.0.1:{port}/video.mjpg", open_timeout_s=3.0)
        source = open_source(spec)
        threading.Timer(0.5, source.stop).start()
        t0 = time.monotonic()
        assert list(source.frames()) == []
        assert time.monotonic() - t0 < 1.0
        wait_no_readers(5.0)
