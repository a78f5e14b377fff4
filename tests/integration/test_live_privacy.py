"""Live view privacy and revocation on the real service (uvicorn, real sockets, PETS2009 video, NanoDet).

Attacks performed: a viewer without `media:unredacted` reads faces from the live snapshot and the live
MJPEG; a viewer asks for the unmasked picture; an open WebSocket or MJPEG stream keeps flowing after its
user is disabled, demoted, re-scoped, has their token revoked or their password reset."""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from sqlalchemy import select
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from safecity.api.app import create_api
from safecity.api.live_privacy import LIVE_VIEW_ACTION, person_boxes
from safecity.app import App, build_detector
from safecity.config import Settings
from safecity.governance.audit import LOG
from safecity.pipeline.analyzer import Analysis
from support.api_harness import LiveServer, add_token, add_user, make_node

pytestmark = [pytest.mark.slow, pytest.mark.models]
CLOSE_WITHIN_S = 2.0


@dataclass
class Served:
    node: App
    server: LiveServer
    admin: httpx.Client
    users: Iterator[int]

    def person(self, *roles: str, cameras: list[str] | None = None) -> tuple[int, str, str]:
        """A new user: (id, username, API token)."""
        name = f"u{next(self.users)}"
        user = add_user(self.node, name, *roles, cameras=cameras)
        return user.id, name, add_token(self.node, name)

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )


@pytest.fixture(scope="module")
def served(
    tmp_path_factory: pytest.TempPathFactory, pets_video: Path, nanodet_model: Path
) -> Iterator[Served]:
    detector = build_detector(Settings.model_validate({"models": {"cache_dir": str(nanodet_model.parent)}}))
    camera = {"id": "pets", "source": str(pets_video), "fps": 10, "loop": True}
    node = make_node(tmp_path_factory.mktemp("privacy"), detector=detector, cameras=[camera])
    add_user(node, "chief", "admin")
    token = add_token(node, "chief")
    with (
        LiveServer.run(create_api(node)) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as admin,
    ):
        yield Served(node, server, admin, iter(range(10_000)))


class Analyses:
    """Every analysis the camera worker publishes while the test runs (polled), to compare pictures with."""

    def __init__(self, node: App) -> None:
        self.node, self.seen, self._halt = node, dict[int, Analysis](), threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._halt.wait(0.005):
            latest = self.node.workers["pets"].latest
            if latest is not None and latest.frame.seq not in self.seen:
                # a copy: the frame's buffer comes from the camera's pool and is reused for later frames
                frame = dataclasses.replace(latest.frame, image=latest.frame.image.copy())
                self.seen[latest.frame.seq] = dataclasses.replace(latest, frame=frame)

    def __enter__(self) -> Analyses:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._halt.set()
        self._thread.join(2)

    def source_of(self, image: np.ndarray) -> Analysis:
        """The analysis whose frame `image` shows (the least different one)."""
        seen = list(self.seen.values())
        return min(seen, key=lambda a: float(np.abs(a.frame.image.astype(np.int16) - image).mean()))


def _decode(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def _fine(image: np.ndarray, box: np.ndarray) -> np.ndarray:
    """Fine detail (grey minus its Gaussian blur) of the middle of a person's head region."""
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = x2 - x1, (y2 - y1) * 0.3
    a, b, c, d = int(x1 + w * 0.25), int(y1 + h * 0.2), int(x2 - w * 0.25), int(y1 + h * 0.9)
    gray = cv2.cvtColor(image[b:d, a:c], cv2.COLOR_BGR2GRAY).astype(np.float64)
    return gray - cv2.GaussianBlur(gray, (0, 0), 1.5)


def _head_detail(image: np.ndarray, analyses: Analyses) -> tuple[float, float]:
    """(how much of the raw frame's head detail `image` still shows, the raw detail), summed over people.

    The first is the projection of the shown head's fine detail onto the raw head's, so only the face's
    own texture counts: the edges of a mosaic block or of a box or label drawn over the head (boxes of
    people walking together cross each other's heads) do not line up with it and add nothing. Measured as
    plain detail (Laplacian variance), those edges made a well-masked frame look 0.4-0.8 unmasked."""
    source = analyses.source_of(image)
    people = [b for b in person_boxes(source.tracks) if (b[2] - b[0]) > 12 and (b[3] - b[1]) > 40]
    assert people, "the PETS frame has people in it"
    pairs = [(_fine(image, b), _fine(source.frame.image, b)) for b in people]
    return sum(float((s * r).sum()) for s, r in pairs), sum(float((r * r).sum()) for _, r in pairs)


def _wait_people(node: App) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        latest = node.workers["pets"].latest
        if latest is not None and len(person_boxes(latest.tracks)) >= 3:
            return
        time.sleep(0.1)
    raise AssertionError("no frame with people analysed")


def _live_views(node: App) -> int:
    with node.engine.connect() as conn:
        return len(conn.execute(select(LOG.c.seq).where(LOG.c.action == LIVE_VIEW_ACTION)).all())


def _mjpeg_parts(response: httpx.Response, count: int) -> list[bytes]:
    boundary = response.headers["content-type"].split("boundary=")[1].encode()
    buf, parts = b"", []
    for chunk in response.iter_bytes():
        buf += chunk
        while (start := buf.find(b"--" + boundary)) >= 0 and (end := buf.find(b"\r\n\r\n", start)) >= 0:
            length = int(buf[start:end].decode().lower().split("content-length:")[1].split("\r\n")[0])
            if len(buf) < end + 4 + length:
                break
            parts.append(buf[end + 4 : end + 4 + length])
            buf = buf[end + 4 + length :]
        if len(parts) >= count:
            return parts
    raise AssertionError(f"stream ended after {len(parts)} parts")


def test_live_snapshot_masks_heads_unless_unredacted_and_audits_once_per_session(served: Served) -> None:
    _wait_people(served.node)
    _, _, viewer_token = served.person("viewer")
    _, _, investigator_token = served.person("investigator")
    with Analyses(served.node) as analyses, served.client(viewer_token) as viewer:
        time.sleep(0.3)
        masked = _decode(viewer.get("/api/cameras/pets/snapshot.jpg").content)
        shown, raw = _head_detail(masked, analyses)
        assert shown < raw * 0.2, (shown, raw)  # faces gone: the head regions hold no fine detail
        refused = viewer.get("/api/cameras/pets/snapshot.jpg", params={"unredacted": True})
        assert refused.status_code == 403 and "media:unredacted" in refused.json()["detail"]
        before = _live_views(served.node)
        with served.client(investigator_token) as investigator:
            for _ in range(3):  # one viewing session: polled three times, audited once
                r = investigator.get("/api/cameras/pets/snapshot.jpg", params={"unredacted": True})
                assert r.status_code == 200
            shown, raw = _head_detail(_decode(r.content), analyses)
            assert shown > raw * 0.6, (shown, raw)  # the unmasked picture keeps the detail (JPEG aside)
        assert _live_views(served.node) == before + 1


def test_live_mjpeg_is_masked_for_a_viewer_and_unmasked_stream_is_audited(served: Served) -> None:
    _wait_people(served.node)
    _, _, viewer_token = served.person("viewer")
    with Analyses(served.node) as analyses, served.client(viewer_token) as viewer:
        with viewer.stream("GET", "/api/cameras/pets/live.mjpeg") as r:
            assert r.status_code == 200
            parts = _mjpeg_parts(r, 4)
        ratios = [shown / raw for shown, raw in (_head_detail(_decode(part), analyses) for part in parts[1:])]
        assert max(ratios) < 0.2, ratios  # every frame: its heads' own detail is gone
        refused = viewer.get("/api/cameras/pets/live.mjpeg", params={"unredacted": True})
        assert refused.status_code == 403
    before = _live_views(served.node)
    with served.admin.stream("GET", "/api/cameras/pets/live.mjpeg", params={"unredacted": True}) as r:
        assert r.status_code == 200
        _mjpeg_parts(r, 3)
    assert _live_views(served.node) == before + 1  # one entry for the whole stream


def _revoke(served: Served, how: str, user_id: int, token: str) -> None:
    if how == "token revoked":
        with served.client(token) as own:
            token_id = own.get("/api/tokens").json()[0]["id"]
            assert own.delete(f"/api/tokens/{token_id}").status_code == 204
        return
    body: dict[str, Any] = {
        "disabled": {"disabled": True},
        "demoted": {"roles": ["field-unit"]},
        "cameras changed": {"cameras": ["elsewhere"]},
        "password reset": {"password": "a brand new long password"},
    }[how]
    r = served.admin.patch(f"/api/users/{user_id}", json=body)
    assert r.status_code == 200, r.text


CHANGES = ["disabled", "demoted", "cameras changed", "token revoked", "password reset"]


def _closed_after(read: Callable[[], None], revoke: Callable[[], None]) -> float:
    """Seconds from `revoke()` until the connection `read()` drains ends (or the test's limit)."""
    ended = threading.Event()

    def drain() -> None:
        try:
            read()
        finally:
            ended.set()

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    time.sleep(1.0)
    assert not ended.is_set(), "the connection ended before its rights were revoked"
    t0 = time.monotonic()
    revoke()
    ended.wait(10)
    return time.monotonic() - t0


@pytest.mark.parametrize("how", CHANGES)
def test_revocation_closes_an_open_mjpeg_stream(served: Served, how: str) -> None:
    _wait_people(served.node)
    user_id, _, token = served.person("operator")

    def read() -> None:
        with served.client(token) as me, me.stream("GET", "/api/cameras/pets/live.mjpeg") as r:
            assert r.status_code == 200
            for _ in r.iter_bytes():
                pass

    took = _closed_after(read, lambda: _revoke(served, how, user_id, token))
    assert took < CLOSE_WITHIN_S, f"MJPEG still streaming {took:.1f} s after: {how}"


@pytest.mark.parametrize("how", CHANGES)
def test_revocation_closes_an_open_websocket(served: Served, how: str) -> None:
    user_id, _, token = served.person("operator")
    codes: list[int | None] = []

    def read() -> None:
        with connect(f"{served.server.ws_url}/ws?token={token}", open_timeout=10) as ws:
            assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            try:
                while True:
                    ws.recv(timeout=15)  # the PETS camera's events keep coming
            except ConnectionClosed as exc:
                codes.append(exc.rcvd.code if exc.rcvd else None)

    took = _closed_after(read, lambda: _revoke(served, how, user_id, token))
    assert took < CLOSE_WITHIN_S, f"WebSocket still open {took:.1f} s after: {how}"
    assert codes == [1008]
