"""A real RTSP camera (GStreamer RTSP server, tests/support/rtsp_server.py) read over TCP, killed, restarted.

Needs Debian's python3-gi, gir1.2-gst-rtsp-server-1.0, gstreamer1.0-plugins-good/-bad and ffmpeg
(scripts/apt-packages.txt); without them the tests skip and say which is missing.
"""

from __future__ import annotations

import itertools
import select
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from safecity.ingest import SourceSpec, open_source
from safecity.types import Frame

pytestmark = pytest.mark.rtsp

ROOT = Path(__file__).resolve().parents[2]
PETS = ROOT / ".." / "shared" / "data" / "video" / "pets09-s2l1-vtest.avi"
SERVER = ROOT / "tests" / "support" / "rtsp_server.py"
SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, for its gi bindings; not the venv
GI_CHECK = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"


class RtspServer:
    """The server process on a fixed port, which the test can SIGKILL and start again."""

    def __init__(self, clip: Path, port: int) -> None:
        self.clip = clip
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 15.0) -> None:
        cmd = [SYSTEM_PYTHON, str(SERVER), "--port", str(self.port), str(self.clip)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        line = self.proc.stdout.readline() if ready else ""
        if not line.startswith("READY"):
            self.kill()
            raise RuntimeError(f"RTSP server did not start: {line!r}")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        if self.proc is not None:
            for pipe in (self.proc.stdout, self.proc.stderr):
                if pipe is not None:
                    pipe.close()
        self.proc = None


def no_reader_threads_within(timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while any(t.name.startswith("ingest-") for t in threading.enumerate()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def h264_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not PETS.is_file():
        pytest.skip(f"shared test data not found: {PETS.resolve()} (see ../shared/data/README.md)")
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        pytest.skip("ffmpeg not installed (Debian package ffmpeg)")
    if not Path(SYSTEM_PYTHON).exists() or subprocess.run([SYSTEM_PYTHON, "-c", GI_CHECK]).returncode != 0:
        pytest.skip(
            "GStreamer RTSP server not installed: apt-get install python3-gi "
            "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-good gstreamer1.0-plugins-bad"
        )
    clip = tmp_path_factory.mktemp("rtsp") / "clip.mp4"
    cmd = [
        ffmpeg,
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-i",
        str(PETS),
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        "-g",
        "20",
        "-an",
        str(clip),
    ]
    subprocess.run(cmd, check=True, timeout=120)
    return clip


@pytest.fixture
def camera(h264_clip: Path) -> Iterator[RtspServer]:
    server = RtspServer(h264_clip, free_port())
    server.start()
    yield server
    server.kill()


@pytest.mark.timeout(60)
def test_rtsp_tcp_frames_sampled_and_stamped(camera: RtspServer) -> None:
    source = open_source(SourceSpec("gate-1", camera.url, fps=5))
    t_open = time.time()
    frames: list[Frame] = []
    for frame in source.frames():
        frames.append(frame)
        assert frame.ts <= time.time() + 0.05  # never stamped in the future
        if len(frames) == 15:
            break
    assert frames[0].image.shape == (576, 768, 3) and frames[0].image.dtype == np.uint8
    assert np.allclose(np.diff([f.pts for f in frames]), 0.2, atol=1e-3)  # 10 fps stream sampled to 5
    assert t_open - 0.5 <= frames[0].ts <= t_open + 2.0
    assert source.stats.frames_skipped >= 14 and source.stats.errors == 0


@pytest.mark.timeout(120)
def test_rtsp_reconnects_after_the_server_is_killed(camera: RtspServer) -> None:
    spec = SourceSpec(
        "gate-2",
        camera.url,
        rtsp_transport="tcp",
        backoff_initial_s=0.25,
        backoff_max_s=1.0,
        open_timeout_s=5.0,
        read_timeout_s=5.0,
    )
    source = open_source(spec)
    before: list[Frame] = []
    after: list[Frame] = []
    back_at = 0.0
    first_after = 0.0

    def restart() -> None:
        nonlocal back_at
        camera.start()
        back_at = time.monotonic()

    timer = threading.Timer(1.5, restart)
    for frame in source.frames():
        if not back_at or time.monotonic() < back_at:
            before.append(frame)
            if len(before) == 10:
                camera.kill()  # SIGKILL: no RTSP TEARDOWN, the TCP connection just goes away
                timer.start()
            continue
        first_after = first_after or time.monotonic()
        after.append(frame)
        if len(after) == 10:
            source.stop()
    timer.join()
    assert len(after) == 10
    assert source.stats.reconnects >= 1
    assert source.stats.errors >= source.stats.reconnects  # each drop and each refused open is counted
    seqs = [f.seq for f in before + after]
    assert all(b > a for a, b in itertools.pairwise(seqs))
    assert after[0].pts < before[-1].pts  # a new connection: the server's stream starts again
    ts = [f.ts for f in before + after]
    assert all(b >= a for a, b in itertools.pairwise(ts))
    print(
        f"RTSP: first frame {first_after - back_at:.2f} s after the server came back, "
        f"{source.stats.reconnects} reconnect attempts"
    )
    assert no_reader_threads_within(5.0)
