"""HTTP MJPEG camera: a real multipart/x-mixed-replace server (JPEGs of PETS frames) read by VideoSource."""

from __future__ import annotations

import itertools
import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from safecity.ingest import SourceSpec, open_source
from safecity.types import Frame

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
PETS = DATA / "video" / "pets09-s2l1-vtest.avi"
BOUNDARY = "pets-frame"


class MjpegServer:
    """A multipart MJPEG camera on 127.0.0.1:`port`, one JPEG every `interval` s, that can be stopped (every
    client connection ends) and started again on the same port."""

    def __init__(self, jpegs: list[bytes], port: int, interval: float = 0.04) -> None:
        self.jpegs = jpegs
        self.port = port
        self.interval = interval
        self.sent = 0
        self.paused = threading.Event()  # connections stay open but nothing is sent
        self._halt = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._halt.clear()
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="mjpeg-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._halt.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)
        self._server = self._thread = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                index = 0
                try:
                    while not server._halt.is_set():
                        if server.paused.is_set():
                            server._halt.wait(0.02)
                            continue
                        jpeg = server.jpegs[index % len(server.jpegs)]
                        head = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        head += f"Content-Length: {len(jpeg)}\r\n\r\n"
                        self.wfile.write(head.encode() + jpeg + b"\r\n")
                        self.wfile.flush()
                        server.sent += 1
                        index += 1
                        server._halt.wait(server.interval)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client went away
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler


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


@pytest.fixture(scope="module")
def pets_jpegs() -> list[bytes]:
    if not PETS.is_file():
        pytest.skip(f"shared test data not found: {PETS.resolve()} (see ../shared/data/README.md)")
    jpegs = []
    with av.open(str(PETS)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i == 50:
                break
            ok, buf = cv2.imencode(".jpg", frame.to_ndarray(format="bgr24"), [cv2.IMWRITE_JPEG_QUALITY, 90])
            assert ok
            jpegs.append(buf.tobytes())
    return jpegs


@pytest.fixture
def camera(pets_jpegs: list[bytes]) -> Iterator[MjpegServer]:
    server = MjpegServer(pets_jpegs, free_port())
    server.start()
    yield server
    server.stop()


def url(server: MjpegServer) -> str:
    return f"http://127.0.0.1:{server.port}/video.mjpg"


@pytest.mark.timeout(60)
def test_mjpeg_frames_come_through(camera: MjpegServer, pets_jpegs: list[bytes]) -> None:
    source = open_source(SourceSpec("mjpeg", url(camera)))
    frames: list[Frame] = []
    t0 = time.time()
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 40:
            break
    assert frames[0].image.shape == (576, 768, 3) and frames[0].image.dtype == np.uint8
    expected = cv2.imdecode(np.frombuffer(pets_jpegs[frames[0].seq % 50], np.uint8), cv2.IMREAD_COLOR)
    assert expected is not None
    diff = np.abs(frames[0].image.astype(int) - expected.astype(int)).mean()
    assert diff < 3.0  # the same picture (JPEG decoders differ by rounding only)
    assert [f.seq for f in frames] == list(range(40))
    pts = [f.pts for f in frames]
    assert all(b > a for a, b in itertools.pairwise(pts))
    # MJPEG carries no time: frames are stamped on arrival, not on the 25 fps that FFmpeg invents
    assert all(t0 - 1.0 <= f.ts <= time.time() + 0.01 for f in frames)


@pytest.mark.timeout(60)
def test_mjpeg_sampling_skips_decoding(camera: MjpegServer) -> None:
    """25 fps camera sampled at 5 fps: intra-only JPEGs that are not due are not even decoded."""
    source = open_source(SourceSpec("mjpeg", url(camera), fps=5))
    frames: list[Frame] = []
    for frame in source.frames():
        frames.append(frame)
        if len(frames) == 10:
            break
    steps = np.diff([f.pts for f in frames[1:]])  # the first frames may be a burst buffered at connect
    assert np.all(steps > 0.15) and np.all(steps < 0.35), steps
    stats = source.stats
    assert stats.frames_skipped > 2 * stats.frames_emitted
    assert stats.frames_decoded < stats.frames_emitted + stats.frames_skipped


@pytest.mark.timeout(60)
def test_mjpeg_reconnects_after_the_server_restarts(camera: MjpegServer) -> None:
    spec = SourceSpec("mjpeg", url(camera), backoff_initial_s=0.2, backoff_max_s=1.0, read_timeout_s=3.0)
    source = open_source(spec)
    before: list[Frame] = []
    after: list[Frame] = []
    restarted_at = 0.0
    first_after = 0.0

    def restart() -> None:
        nonlocal restarted_at
        camera.start()
        restarted_at = time.monotonic()

    for frame in source.frames():
        if not restarted_at or time.monotonic() < restarted_at:
            before.append(frame)
            if len(before) == 10:
                camera.stop()
                threading.Timer(1.0, restart).start()
            continue
        if not after:
            first_after = time.monotonic()
        after.append(frame)
        if len(after) == 10:
            source.stop()
    assert len(before) >= 10 and len(after) == 10
    assert source.stats.reconnects >= 1 and source.stats.errors >= 1
    seqs = [f.seq for f in before + after]
    assert all(b > a for a, b in itertools.pairwise(seqs))
    assert after[0].ts >= before[-1].ts
    print(
        f"MJPEG: first frame {first_after - restarted_at:.2f} s after the server came back, "
        f"{source.stats.reconnects} reconnect attempts"
    )
    assert no_reader_threads_within(5.0)


@pytest.mark.timeout(60)
def test_mjpeg_silent_stream_is_dropped_after_the_read_timeout(
    camera: MjpegServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The connection stays open but no byte comes: the read timeout ends it and the source reconnects."""
    spec = SourceSpec("mjpeg", url(camera), read_timeout_s=1.0, backoff_initial_s=0.2, backoff_max_s=0.5)
    source = open_source(spec)
    frames: list[Frame] = []
    paused_at = 0.0
    with caplog.at_level(logging.WARNING, logger="safecity.ingest"):
        for frame in source.frames():
            frames.append(frame)
            if len(frames) == 5:
                camera.paused.set()
                paused_at = time.monotonic()
                threading.Timer(2.0, camera.paused.clear).start()
            if source.stats.reconnects and len(frames) >= 15:
                break
    stalled = max(b.ts - a.ts for a, b in itertools.pairwise(frames))
    assert 1.5 < stalled < 6.0, stalled
    assert source.stats.reconnects >= 1
    assert any("no data for 1 s" in r.getMessage() for r in caplog.records), caplog.text
    assert time.monotonic() - paused_at < 10.0
