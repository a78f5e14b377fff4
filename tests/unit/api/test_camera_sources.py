"""Camera sources through the API: the attacks of issue 17 (a local file, /etc/passwd, an internal
service, cloud metadata) are refused by the source policy, and no error text tells what is there."""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.api_harness import ApiHarness

SECRET_BANNER = b"-ERR redis-like internal service: secret-banner-1234\r\n"


@pytest.fixture
def banner_service() -> Iterator[int]:
    """An internal TCP service on loopback that answers anything with a recognisable banner."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.sendall(SECRET_BANNER)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(2)
    server.close()


def _post(h: ApiHarness, source: str) -> tuple[int, str]:
    camera = {"id": f"c{uuid.uuid4().hex[:8]}", "source": source, "enabled": False}
    r = h.client.post("/api/cameras", json=camera,
                      headers=h.bearer("admin"))  # fmt: skip
    return r.status_code, r.text


def test_default_policy_refuses_files_loopback_and_metadata(tmp_path: Path, banner_service: int) -> None:
    recording = tmp_path / "var" / "media" / "recordings" / "x.mp4"
    recording.parent.mkdir(parents=True)
    recording.write_bytes(b"\x00" * 64)
    with ApiHarness.start(tmp_path, api={"camera_sources": {}}) as h:  # the default policy, not the harness's
        for source in ("/etc/passwd", "file:///etc/passwd", str(recording), "../../etc/shadow",
                       f"http://127.0.0.1:{banner_service}/", "http://localhost:6379", "http://[::1]:6379",
                       "http://2130706433:6379/", "http://169.254.169.254/latest/meta-data",
                       "gopher://10.0.0.1/", "ftp://10.0.0.1/a.mp4"):  # fmt: skip
            status, text = _post(h, source)
            assert status == 422 and "not allowed" in text, (source, status, text)
            assert "root:" not in text and "secret-banner" not in text
        assert _post(h, "rtsp://user:pw@192.168.10.20:554/stream1")[0] == 201  # a camera on the LAN


def test_files_only_inside_the_configured_folders(tmp_path: Path) -> None:
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / "clip.mp4").write_bytes(b"not really a video")
    (videos / "escape.mp4").symlink_to("/etc/passwd")
    policy = {"schemes": ["file", "rtsp"], "file_dirs": [str(videos)]}
    with ApiHarness.start(tmp_path, api={"camera_sources": policy}) as h:
        assert _post(h, str(videos / "clip.mp4"))[0] == 201
        for source in (str(videos / "escape.mp4"), str(videos / ".." / ".." / "etc" / "passwd"),
                       "/etc/passwd"):  # fmt: skip
            status, text = _post(h, source)
            assert status == 422 and "outside api.camera_sources.file_dirs" in text, (source, text)


def test_errors_from_a_source_stay_in_the_log(
    tmp_path: Path, banner_service: int, caplog: pytest.LogCaptureFixture
) -> None:
    """An allowed source that fails (an internal service, a non-video file) answers a generic error."""
    policy = {"hosts": ["127.0.0.1"], "schemes": ["http", "file"], "file_dirs": ["/etc"]}
    with ApiHarness.start(tmp_path, api={"camera_sources": policy}) as h:
        admin = h.bearer("admin")
        for i, source in enumerate((f"http://127.0.0.1:{banner_service}/", "/etc/passwd")):
            r = h.client.post("/api/cameras", json={"id": f"s{i}", "source": source, "enabled": False},
                              headers=admin)  # fmt: skip
            assert r.status_code == 201, r.text
            with caplog.at_level(logging.WARNING):
                r = h.client.get(f"/api/cameras/s{i}/snapshot.jpg", headers=admin)
            assert r.status_code == 404 and "details in the server log" in r.json()["detail"]
            assert "secret-banner" not in r.text and "passwd" not in r.text and "root" not in r.text
        assert any("no frame from its source" in rec.getMessage() for rec in caplog.records)
