"""Cameras at run time through the real service (uvicorn, real sockets) on the real PETS2009 video with
the real detector: add / edit / disable restart only that camera's worker; snapshot, live MJPEG of
annotated frames, health, Prometheus metrics, and a camera that goes dark pushed on the WebSocket."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from websockets.sync.client import connect

from safecity.api.app import create_api
from safecity.app import App, build_detector
from safecity.config import Settings
from safecity.vision.detector import Detector
from support.api_harness import LiveServer, add_token, add_user, make_node

pytestmark = [pytest.mark.slow, pytest.mark.models]
PETS_SIZE = (576, 768)  # rows, columns of the PETS2009 S2.L1 view 001 frames


@dataclass
class Served:
    node: App
    server: LiveServer
    http: httpx.Client
    admin_token: str


def wait_for(check: Callable[[], Any], timeout_s: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def detector(nanodet_model: Path) -> Detector:
    return build_detector(Settings.model_validate({"models": {"cache_dir": str(nanodet_model.parent)}}))


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, pets_video: Path, detector: Detector
) -> Iterator[Served]:
    camera = {
        "id": "pets",
        "source": str(pets_video),
        "fps": 10,
        "loop": True,
        "zones": [{"id": "road", "polygon": [[0, 150], [768, 150], [768, 576], [0, 576]]}],
    }
    node = make_node(
        tmp_path_factory.mktemp("served"),
        detector=detector,
        cameras=[camera],
        api={
            "camera_dark_after_s": 2.0,
            # the tests add a second view of the sample video and a dead camera on loopback
            "camera_sources": {
                "schemes": ["rtsp", "file"],
                "hosts": ["127.0.0.1"],
                "file_dirs": [str(pets_video.parent)],
            },
        },
    )
    add_user(node, "chief", "admin")
    token = add_token(node, "chief")
    with (
        LiveServer.run(create_api(node)) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http,
    ):
        yield Served(node, server, http, token)


def test_settings_cameras_are_seeded_and_run(served: Served) -> None:
    cams = served.http.get("/api/cameras").json()
    assert [c["id"] for c in cams] == ["pets"] and cams[0]["zones"][0]["id"] == "road"
    wait_for(
        lambda: served.http.get("/api/cameras/pets").json()["health"]["frames_analysed"] > 5,
        what="frames analysed",
    )
    health = served.http.get("/api/cameras/pets").json()["health"]
    assert health["status"] == "ok" and health["running"] and health["error"] is None


def test_add_edit_disable_restart_only_that_camera(served: Served, pets_video: Path) -> None:
    node, http = served.node, served.http
    pets_worker = node.workers["pets"]
    new = {"id": "pets-2", "name": "second view", "source": str(pets_video), "fps": 5, "loop": True}
    r = http.post("/api/cameras", json=new)
    assert r.status_code == 201, r.text
    assert http.post("/api/cameras", json=new).status_code == 409
    first = node.workers["pets-2"]
    wait_for(lambda: first.metrics.frames_analysed > 2, what="the new camera's frames")

    line = {"id": "door", "start": [550, 150], "end": [550, 470], "classes": ["person"]}
    r = http.patch("/api/cameras/pets-2", json={"lines": [line], "fps": 8})
    assert r.status_code == 200, r.text
    assert r.json()["lines"][0]["id"] == "door" and r.json()["fps"] == 8
    second = node.workers["pets-2"]
    assert second is not first and first.done  # restarted with the new configuration
    assert second.camera.lines[0].id == "door" and second.camera.fps == 8
    assert node.workers["pets"] is pets_worker and not pets_worker.done  # the other camera untouched
    wait_for(lambda: second.metrics.frames_analysed > 2, what="the restarted camera's frames")

    bad = http.patch("/api/cameras/pets-2", json={"lines": [{**line, "end": line["start"]}]})
    assert bad.status_code == 422 and "two different points" in bad.json()["detail"]
    assert node.workers["pets-2"] is second  # a refused change restarts nothing

    r = http.delete("/api/cameras/pets-2")
    assert r.status_code == 200 and r.json()["enabled"] is False and r.json()["health"] is None
    assert "pets-2" not in node.workers and second.done
    assert http.patch("/api/cameras/pets-2", json={"enabled": True}).json()["health"] is not None
    assert http.delete("/api/cameras/pets-2").status_code == 200
    assert http.get("/api/cameras", params={"enabled": False}).json()[0]["id"] == "pets-2"


def test_snapshot_is_the_latest_source_frame(served: Served) -> None:
    r = served.http.get("/api/cameras/pets/snapshot.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == PETS_SIZE
    overlay = served.http.get("/api/cameras/pets/snapshot.jpg", params={"overlay": True})
    assert overlay.status_code == 200 and overlay.content != r.content


def _mjpeg_parts(response: httpx.Response, count: int) -> list[bytes]:
    boundary = response.headers["content-type"].split("boundary=")[1].encode()
    buf, parts = b"", []
    for chunk in response.iter_bytes():
        buf += chunk
        while True:
            start = buf.find(b"--" + boundary)
            head_end = buf.find(b"\r\n\r\n", start)
            if start < 0 or head_end < 0:
                break
            headers = buf[start:head_end].decode()
            length = int(headers.lower().split("content-length:")[1].split("\r\n")[0])
            if len(buf) < head_end + 4 + length:
                break
            parts.append(buf[head_end + 4 : head_end + 4 + length])
            buf = buf[head_end + 4 + length :]
        if len(parts) >= count:
            return parts
    raise AssertionError(f"stream ended after {len(parts)} parts")


def test_live_mjpeg_sends_annotated_jpeg_parts_and_stops_with_the_client(served: Served) -> None:
    wait_for(lambda: served.node.live is not None and served.node.workers["pets"].latest is not None)
    t0 = time.monotonic()
    with served.http.stream("GET", "/api/cameras/pets/live.mjpeg") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
        parts = _mjpeg_parts(r, 6)
    elapsed = time.monotonic() - t0
    frames = [cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_COLOR) for p in parts]
    assert all(f is not None and f.shape[:2] == PETS_SIZE for f in frames)
    assert len({p for p in parts}) == len(parts)  # each part is a new frame
    assert elapsed > 0.3  # bounded by the analysis rate (10 fps), not as fast as the socket allows
    raw = served.node.workers["pets"].latest
    assert raw is not None
    # the zone is drawn: pixels along its top edge (y=150) differ from the raw frame's
    assert np.abs(frames[-1][150, 10:700].astype(int) - raw.frame.image[150, 10:700].astype(int)).mean() > 20
    assert served.http.get("/api/cameras/nope/live.mjpeg").status_code == 404


def test_health_and_prometheus_metrics_per_camera(served: Served) -> None:
    health = served.http.get("/api/health").json()
    pets = next(c for c in health["cameras"] if c["camera_id"] == "pets")
    assert pets["analysed_fps"] > 0 and pets["detector_runs"] > 0 and pets["last_frame_at"]
    text = served.http.get("/metrics").text
    series = {}
    for line in text.splitlines():
        if line.startswith("safecity_camera_") and 'camera="pets"' in line:
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    assert series['safecity_camera_frames_analysed_total{camera="pets"}'] > 0
    assert series['safecity_camera_analysed_fps{camera="pets"}'] > 0
    assert series['safecity_camera_up{camera="pets"}'] == 1.0
    assert 'safecity_camera_status{camera="pets",status="ok"}' in series
    for name in (
        "frames_dropped_total",
        "reconnects_total",
        "detector_latency_seconds",
        "last_frame_timestamp_seconds",
    ):
        assert f'safecity_camera_{name}{{camera="pets"}}' in series, name
    assert httpx.get(f"{served.server.url}/metrics").status_code == 401


def test_a_camera_that_goes_dark_is_reported_and_pushed(served: Served) -> None:
    url = f"{served.server.ws_url}/ws?token={served.admin_token}"
    with connect(url, open_timeout=10) as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "hello"
        dead = {"id": "dead", "source": "rtsp://127.0.0.1:9/nothing", "fps": 5}
        assert served.http.post("/api/cameras", json=dead).status_code == 201
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline:
            msg = json.loads(ws.recv(timeout=20))
            if msg["type"] == "camera_status" and msg["data"]["camera_id"] == "dead":
                status = msg["data"]
                break
    assert status is not None and status["status"] == "dark" and status["last_frame_at"] is None
    cams = served.http.get("/api/health").json()["cameras"]
    dead_health = next(c for c in cams if c["camera_id"] == "dead")
    assert dead_health["status"] == "dark"
    assert dead_health["last_error"], "a dark camera says why (the source's last error)"
    served.http.delete("/api/cameras/dead")
