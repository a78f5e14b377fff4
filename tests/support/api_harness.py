"""Test helpers for code that plugs into the API (used by tests/unit/api and tests/integration/test_api_*;
other routers' tests can use them the same way). Needs httpx (a dev dependency).

    with ApiHarness.start(tmp_path) as h:              # real SQLite in tmp_path, lifespan running
        headers = h.bearer("operator")                  # a user with that role and an API token
        r = h.client.get("/api/events", headers=headers)
        web = h.browser("op", "a long password!")       # cookie session + X-CSRF-Token, like the UI

`ApiHarness.start(..., detector=None)` uses `NullDetector` (finds nothing) unless a real one is given, so
tests that do not need detections need no model.
"""

from __future__ import annotations

import contextlib
import itertools
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import supervision as sv
from fastapi import FastAPI
from fastapi.testclient import TestClient

from safecity.accounts.models import UserRow
from safecity.accounts.sessions import create_token
from safecity.accounts.users import create_user, get_user_by_name
from safecity.api.app import create_api
from safecity.api.permissions import Role, permissions_for
from safecity.app import App, build_app
from safecity.config import Settings
from safecity.vision.detector import Detector

TEST_PASSWORD = "correct horse battery staple"
BASE_URL = "https://testserver"  # https: the Secure session cookie is sent back, as in production


class NullDetector:
    """A detector that never finds anything (API tests that do not look at detections)."""

    def detect(self, image: np.ndarray) -> sv.Detections:
        return sv.Detections.empty()


SHARED_DATA = (Path(__file__).resolve().parents[2] / ".." / "shared" / "data").resolve()


def harness_settings(data_dir: Path, **sections: Any) -> Settings:
    """Embedded defaults with the data under `data_dir`, plus settings sections (`cameras=[...]`, ...)."""
    # API tests run without the second-factor requirement (two_factor_roles: []), except the tests of
    # the second factor itself (tests/unit/api/test_two_factor.py), which pass their own `api` section
    # and with the test videos (shared data, the test's own folder) allowed as camera sources; the tests of
    # the source policy (tests/unit/api/test_camera_sources.py) pass their own `api` section too
    sources = {
        "schemes": ["rtsp", "rtsps", "http", "https", "file"],
        "file_dirs": [str(SHARED_DATA), str(data_dir)],
    }
    api = {"two_factor_roles": [], "camera_sources": sources, **sections.pop("api", {})}
    return Settings.model_validate({"storage": {"data_dir": str(data_dir)}, "api": api, **sections})


def make_node(data_dir: Path, *, detector: Detector | None = None, **sections: Any) -> App:
    """A node on a fresh SQLite database under `data_dir` (NullDetector unless a detector is given)."""
    return build_app(harness_settings(data_dir, **sections), detector=detector or NullDetector())


def add_user(
    node: App, username: str, *roles: str, cameras: Sequence[str] | None = None, password: str = TEST_PASSWORD
) -> UserRow:
    with node.session() as db:
        user = create_user(db, username, password, roles, cameras=cameras)
        db.commit()
        return user


def add_token(node: App, username: str, name: str = "test", scopes: list[str] | None = None) -> str:
    """A new API token (its secret) of an existing user, scoped by default to every permission of the
    user's roles (explicitly, so that an admin's test token may manage users: safecity.accounts.scopes)."""
    with node.session() as db:
        user = get_user_by_name(db, username)
        if user is None:
            raise LookupError(username)
        if scopes is None:
            scopes = sorted(permissions_for({Role(r) for r in user.roles}))
        new = create_token(db, user, name, None, scopes=scopes)
        db.commit()
        return new.secret


@dataclass
class ApiHarness:
    node: App
    api: FastAPI
    client: TestClient
    _names: Iterator[int] = field(default_factory=itertools.count)

    @classmethod
    @contextlib.contextmanager
    def start(
        cls, data_dir: Path, *, detector: Detector | None = None, **sections: Any
    ) -> Iterator[ApiHarness]:
        api = create_api(make_node(data_dir, detector=detector, **sections))
        with TestClient(api, base_url=BASE_URL) as client:
            yield cls(api.state.node, api, client)

    def user(
        self,
        *roles: str,
        username: str | None = None,
        cameras: Sequence[str] | None = None,
        password: str = TEST_PASSWORD,
    ) -> UserRow:
        """Create a user with `roles` (username: the roles joined, plus a counter)."""
        name = username or f"{'-'.join(roles) or 'user'}{next(self._names)}-{secrets.token_hex(3)}"
        return add_user(self.node, name, *roles, cameras=cameras, password=password)

    def token(self, username: str, name: str = "test", scopes: list[str] | None = None) -> str:
        return add_token(self.node, username, name, scopes)

    def bearer(self, *roles: str, cameras: Sequence[str] | None = None) -> dict[str, str]:
        """Authorization headers of a new user with `roles` (and camera access list)."""
        user = self.user(*roles, cameras=cameras)
        return {"Authorization": f"Bearer {self.token(user.username)}"}

    def browser(self, username: str, password: str = TEST_PASSWORD) -> TestClient:
        """A separate client logged in with a cookie session, sending X-CSRF-Token like the web UI.

        It shares the app but not the main client's event loop: use `client` for WebSockets."""
        web = TestClient(self.api, base_url=BASE_URL)
        r = web.post("/api/auth/login", json={"username": username, "password": password})
        r.raise_for_status()
        web.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return web


@dataclass
class LiveServer:
    """`safecity serve` for real (uvicorn on 127.0.0.1, a free port) in a background thread: for tests
    that need real sockets (MJPEG streaming, WebSocket clients, latency)."""

    api: FastAPI
    url: str
    ws_url: str

    @classmethod
    @contextlib.contextmanager
    def run(cls, api: FastAPI, timeout_s: float = 30.0, **options: Any) -> Iterator[LiveServer]:
        """`options`: uvicorn settings (e.g. `safecity.api.serve.server_options()`, as `serve` runs)."""
        import threading
        import time

        import uvicorn

        options = {"log_level": "warning", "ws_ping_interval": None, **options}
        config = uvicorn.Config(api, host="127.0.0.1", port=0, **options)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="test-uvicorn", daemon=True)
        thread.start()
        deadline = time.monotonic() + timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        try:
            yield cls(api, f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}")
        finally:
            server.should_exit = True
            thread.join(timeout_s)
