"""Crash safety with a real kill: a recording process (the real RecordingService) is SIGKILLed in the middle
of a segment, from a file played at its own speed and from a real RTSP camera (GStreamer's server).
Nothing half-written is in the index; on restart the spool is reconciled: the partial segment is
validated with PyAV and indexed as `salvaged`, and the timeline continues without a hole."""

from __future__ import annotations

import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func
from sqlalchemy import select as sql_select

from safecity.media.storage import LocalMediaStorage
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.index import SEGMENTS
from safecity.recording.segment import parse_spool_name, probe
from safecity.recording.service import RecordingService
from safecity.store import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
GI_CHECK = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"

CHILD = """
import sys, time
from pathlib import Path
from safecity.media.storage import LocalMediaStorage
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.service import RecordingService
from safecity.store import make_engine

url, media, spool, source = sys.argv[1:5]
config = RecordingConfig(enabled=True, segment_seconds=3)
policy = recording_policy(config, "gate-1", source, None)
service = RecordingService(make_engine(url), LocalMediaStorage(Path(media)), config, [policy], Path(spool))
service.start()
print("RECORDING", flush=True)
time.sleep(600)
"""


def _segments(engine: Engine) -> list[tuple[str, str, float, float]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sql_select(SEGMENTS.c.key, SEGMENTS.c.status, SEGMENTS.c.start, SEGMENTS.c.end).order_by(
                SEGMENTS.c.start
            )
        )
        return [(r.key, r.status, r.start.timestamp(), r.end.timestamp()) for r in rows]


def _writing_since(spool: Path) -> float:
    """Wall-clock start of the segment being written (from its spool name); +inf when there is none."""
    starts = [parsed[0] for p in spool.rglob("*.mp4.part") if (parsed := parse_spool_name(p.name))]
    return max(starts, default=float("inf"))


def _record_and_kill(
    database_url: str, tmp_path: Path, source: str
) -> tuple[Engine, LocalMediaStorage, Path]:
    upgrade(database_url)
    engine = make_engine(database_url)
    media, spool = tmp_path / "media", tmp_path / "spool"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    args = [sys.executable, "-c", CHILD, database_url, str(media), str(spool), source]
    child = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert child.stdout is not None
        ready, _, _ = select.select([child.stdout], [], [], 60)
        assert ready and child.stdout.readline().startswith("RECORDING")
        deadline = time.monotonic() + 90
        while len(_segments(engine)) < 2:  # two segments stored and indexed ...
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        while time.time() - _writing_since(spool) < 2.5:  # ... and 2.5 s into the third
            assert time.monotonic() < deadline and child.poll() is None
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)  # no clean-up of any kind
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    return engine, LocalMediaStorage(media), spool


def _check_recovery(engine: Engine, storage: LocalMediaStorage, spool: Path) -> None:
    before = _segments(engine)
    assert all(status == "complete" for _, status, _, _ in before)
    for key, _, _, _ in before:  # nothing half-written in the index: every row's file is whole
        path = storage.path_for(key)
        assert path is not None and probe(path) is not None
    left = list(spool.rglob("*.mp4.part"))
    assert len(left) == 1  # the segment the kill interrupted

    config = RecordingConfig(enabled=True, segment_seconds=3)
    policy = recording_policy(config, "gate-1", "/nonexistent.mp4", None, loop=False)
    service = RecordingService(engine, storage, config, [policy], spool)
    report = service.reconcile()  # what start() does first after a restart
    assert report.salvaged == 1 and report.discarded == 0 and report.missing == 0
    assert not list(spool.rglob("*.mp4.part"))
    after = _segments(engine)
    assert len(after) == len(before) + 1
    key, status, start, end = after[-1]
    assert status == "salvaged"
    path = storage.path_for(key)
    found = probe(path) if path is not None else None
    assert found is not None and found.packets > 0
    assert 1.5 <= end - start <= 3.5  # the part of the segment written before the kill (whole fragments)
    assert abs(start - before[-1][3]) < 0.5  # it continues the previous segment
    with engine.connect() as conn:
        assert conn.execute(sql_select(func.count()).select_from(SEGMENTS)).scalar_one() == len(after)
    service.stop()


@pytest.mark.timeout(180)
def test_sigkill_while_recording_a_file(database_url: str, tmp_path: Path, pets_h264: Path) -> None:
    engine, storage, spool = _record_and_kill(database_url, tmp_path, str(pets_h264))
    try:
        _check_recovery(engine, storage, spool)
    finally:
        engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def rtsp_camera(pets_h264: Path) -> Iterator[str]:
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run([SYSTEM_PYTHON, "-c", GI_CHECK]).returncode != 0:
        pytest.skip("GStreamer RTSP server not installed (python3-gi gir1.2-gst-rtsp-server-1.0 ...)")
    port = _free_port()
    cmd = [
        SYSTEM_PYTHON,
        str(ROOT / "tests" / "support" / "rtsp_server.py"),
        "--port",
        str(port),
        str(pets_h264),
    ]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert server.stdout is not None
    ready, _, _ = select.select([server.stdout], [], [], 15)
    line = server.stdout.readline() if ready else ""
    assert line.startswith("READY"), line
    yield f"rtsp://127.0.0.1:{port}/cam"
    server.kill()
    server.wait(10)
    server.stdout.close()


@pytest.mark.rtsp
@pytest.mark.timeout(180)
def test_sigkill_while_recording_an_rtsp_camera(database_url: str, tmp_path: Path, rtsp_camera: str) -> None:
    engine, storage, spool = _record_and_kill(database_url, tmp_path, rtsp_camera)
    try:
        _check_recovery(engine, storage, spool)
        first = _segments(engine)[0]
        assert first[3] - first[2] >= 3.0 - timedelta(milliseconds=300).total_seconds()
    finally:
        engine.dispose()
