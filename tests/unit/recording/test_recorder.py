"""The recorder on real video: H.264 remuxed bit-exact into 10 s MP4 segments; other codecs refused or
transcoded by policy; H.265 remuxed too; a segment is indexed only once it is stored."""

from __future__ import annotations

import itertools
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import av
import pytest
from sqlalchemy import Engine, func, select

from safecity.media.storage import LocalMediaStorage
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.index import SEGMENTS, SegmentStore, segments_between
from safecity.recording.recorder import CameraRecorder, RecorderState
from safecity.recording.segment import SegmentInfo, probe

from .conftest import T0, Recorded, record_file


def _payloads(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


def test_h264_is_remuxed_bit_exact_into_keyframe_aligned_segments(
    recorded: Recorded, pets_h264: Path
) -> None:
    status = recorded.recorder.status
    assert status.state is RecorderState.ENDED and status.mode == "copy" and status.codec == "h264"
    assert status.packets == 795 and status.dropped_packets == 0 and status.waited_for_keyframe == 0
    with recorded.store.engine.connect() as conn:
        segments = segments_between(conn, "gate-1", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert len(segments) == 8  # 79.5 s cut at the first keyframe (every 2 s) after 10 s
    storage = recorded.store.storage
    payloads: list[bytes] = []
    for seg in segments:
        path = storage.path_for(seg.key)
        assert path is not None and path.stat().st_size == seg.bytes
        found = probe(path)
        assert found is not None and found.codec == "h264" and (found.width, found.height) == (768, 576)
        with av.open(str(path)) as c:
            first = next(p for p in c.demux(c.streams.video[0]) if p.size)
            assert first.is_keyframe  # every segment plays on its own
        assert seg.status == "complete" and not seg.transcoded
        payloads += _payloads(path)
    assert payloads == _payloads(pets_h264)  # the camera's bitstream, not a re-encoded copy
    # file time 0 of the first segment is the wall clock of the first frame minus the B-frame delay
    assert abs((segments[0].start - T0).total_seconds() + 0.2) < 1e-3
    assert abs((segments[-1].end - T0).total_seconds() - 79.5) < 1e-3
    for a, b in itertools.pairwise(segments):
        assert abs((b.start - a.end).total_seconds()) <= 0.25  # back to back (overlap = B-frame delay)
        assert 9.9 <= (a.end - a.start).total_seconds() <= 12.3
    assert not list(recorded.spool.rglob("*.part"))


def test_other_codecs_are_refused_by_default(pets_video: Path, tmp_path: Path) -> None:
    got: list[SegmentInfo] = []
    policy = recording_policy(RecordingConfig(enabled=True), "pets", str(pets_video), None)
    recorder = CameraRecorder(policy, tmp_path / "spool", got.append, pace=False)
    recorder.run()
    assert recorder.status.state is RecorderState.REFUSED
    assert recorder.status.codec == "msmpeg4"  # the PETS AVI: MS MPEG-4 v3 (DivX 3)
    assert "other_codecs: transcode" in (recorder.status.last_error or "")
    assert got == [] and not list((tmp_path / "spool").rglob("*"))


def test_transcode_policy_reencodes_to_h264(
    pets_video: Path, engine: Engine, storage: LocalMediaStorage, tmp_path: Path
) -> None:
    store = SegmentStore(engine, storage)
    cfg = RecordingConfig(enabled=True, segment_seconds=20, other_codecs="transcode")
    policy = recording_policy(cfg, "pets", str(pets_video), None)
    recorder = CameraRecorder(policy, tmp_path / "spool", store.commit, clock=T0.timestamp, pace=False)
    recorder.run()
    assert recorder.status.state is RecorderState.ENDED and recorder.status.mode == "transcode"
    with engine.connect() as conn:
        segments = segments_between(conn, "pets", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert len(segments) == 4 and all(s.transcoded and s.codec == "h264" for s in segments)
    frames = 0
    for seg in segments:
        path = storage.path_for(seg.key)
        assert path is not None
        found = probe(path)
        assert found is not None and found.transcoded
        with av.open(str(path)) as c:
            frames += sum(1 for _ in c.decode(video=0))
    assert frames == 795  # every source frame, decodable
    assert abs((segments[-1].end - segments[0].start).total_seconds() - 79.5) < 0.5


def test_h265_is_remuxed_too(
    pets_h264: Path, engine: Engine, storage: LocalMediaStorage, tmp_path: Path
) -> None:
    ffmpeg = shutil.which("ffmpeg")
    assert ffmpeg is not None
    hevc = tmp_path / "hevc.mp4"
    cmd = [
        ffmpeg,
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(pets_h264),
        "-t",
        "6",
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-x265-params",
        "keyint=20:log-level=error",
        "-an",
        str(hevc),
    ]
    if subprocess.run(cmd, timeout=120).returncode != 0:
        pytest.skip("this ffmpeg has no libx265")
    store = SegmentStore(engine, storage)
    recorder = record_file(hevc, store, tmp_path / "spool", segment_seconds=2)
    assert recorder.status.mode == "copy" and recorder.status.codec == "hevc"
    with engine.connect() as conn:
        segments = segments_between(conn, "gate-1", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert len(segments) == 3 and all(s.codec == "hevc" for s in segments)
    total = sum(len(_payloads(p)) for s in segments if (p := storage.path_for(s.key)) is not None)
    assert total == 60


def test_a_segment_is_indexed_only_once_stored(pets_h264: Path, engine: Engine, tmp_path: Path) -> None:
    def failing_sink(info: SegmentInfo) -> None:
        raise OSError("store unreachable")

    policy = recording_policy(
        RecordingConfig(enabled=True, segment_seconds=30), "gate-1", str(pets_h264), None
    )
    recorder = CameraRecorder(policy, tmp_path / "spool", failing_sink, clock=T0.timestamp, pace=False)
    recorder.run()
    assert recorder.status.segments == 3 and recorder.status.errors == 3
    assert "store unreachable" in (recorder.status.last_error or "")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(SEGMENTS)).scalar_one() == 0
    assert len(list((tmp_path / "spool").rglob("*.mp4.part"))) == 3  # kept for the reconciler
