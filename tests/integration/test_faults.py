"""Fault injection with real processes: `safecity serve` on the PETS video (looped), SQLite and a private
PostgreSQL cluster. Every published event id is logged by the service itself (`durability.event_log`,
flushed per line) and compared with the store.

- SIGKILL in the middle of writing: after a restart every id published before the kill is stored, the
  audit chain verifies, and the recording that was being written is salvaged into the index.
- The database down for 30 s: the service stays up, the API answers 503 with a reason (never 500), the
  public liveness says `degraded` and the web UI (Debian's chromium) shows the banner, events are
  held; when it returns every id is stored exactly once.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, func, select, text

from safecity.config.api import ApiConfig
from safecity.recording.index import SEGMENTS
from safecity.store.models import EventRow
from support.processes import (
    ROOT,
    PgServer,
    ServeProcess,
    h264_copy,
    missing,
    pets_camera,
    published_ids,
    run_cli,
    wait_for,
    write_config,
)

pytestmark = [pytest.mark.slow, pytest.mark.models]
ADMIN_PASSWORD = "fault-admin-password-1"
WEB_DIST = ROOT / "src" / "safecity" / "web" / "dist"
CHROMIUM = Path(os.environ.get("SAFECITY_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def pets_h264(pets_video: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return h264_copy(pets_video, tmp_path_factory.mktemp("video") / "pets.mp4")


DB_DOWN_S = 30.0


def fault_config(tmp: Path, video: Path, model: Path, database_url: str | None = None, **extra: Any) -> Path:
    storage: dict[str, Any] = {"data_dir": str(tmp / "var")}
    if database_url:
        storage["database_url"] = database_url
    settings = {
        "storage": storage,
        "detector": {"model": str(model), "threads": 1},
        "recording": {"enabled": True, "segment_seconds": 4},
        "durability": {"event_log": str(tmp / "published.log"), "retry_s": 1.0},
        "cameras": [pets_camera(video)],
        **extra,
    }
    return write_config(tmp / "safecity.yaml", settings)


def stored_ids(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(select(EventRow.id)).scalars())
    finally:
        engine.dispose()


def db_url(tmp: Path, pg: PgServer | None) -> str:
    return pg.url if pg else f"sqlite:///{(tmp / 'var' / 'safecity.db').resolve()}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_mid_write_loses_no_published_event(
    tmp_path: Path, pets_h264: Path, nanodet_model: Path, backend: str
) -> None:
    with contextlib.ExitStack() as stack:
        pg = stack.enter_context(PgServer.start()) if backend == "postgresql" else None
        config = fault_config(tmp_path, pets_h264, nanodet_model, pg.url if pg else None)
        url = db_url(tmp_path, pg)
        log = tmp_path / "published.log"
        run_cli(config, "users", "create", "admin", "--role", "admin", "--password-stdin",
                stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        serve = ServeProcess.launch(config, tmp_path / "serve.log")
        stack.callback(serve.kill)
        serve.wait_up()
        wait_for(lambda: len(published_ids(log)) >= 12, 90, "12 published events")
        segment = wait_for(lambda: first_segment(url), 30, "a recorded segment")
        stop, viewed = threading.Event(), threading.Event()
        viewer = threading.Thread(target=view_segment_repeatedly, args=(serve.base, segment, stop, viewed))
        viewer.start()  # every view appends to the audit chain: the kill lands amid audit writes too
        assert viewed.wait(30), "an audited segment view"
        spool = tmp_path / "var" / "spool"
        wait_for(
            lambda: any(p.stat().st_size > 20_000 for p in spool.rglob("*.part")),
            30,
            "a segment half written",
        )
        serve.kill()  # SIGKILL: events in the in-memory queue, a segment half written
        stop.set()
        viewer.join(10)
        before = published_ids(log)
        assert len(before) == len(set(before))

        again = ServeProcess.launch(config, tmp_path / "serve2.log")
        stack.callback(again.kill)
        again.wait_up()
        wait_for(lambda: set(before) <= set(stored_ids(url)), 30, "the events published before the kill")
        assert again.terminate(), again.tail()
        after = published_ids(log)
        stored = stored_ids(url)
        assert len(stored) == len(set(stored))
        assert set(stored) == set(after), "a clean stop stores every event it published, nothing else"

        out = run_cli(config, "audit", "verify")
        assert "intact" in out and int(out.split(":")[1].split()[0]) > 0, out
        engine = create_engine(url)
        try:
            with engine.connect() as conn:
                statuses = dict(
                    conn.execute(select(SEGMENTS.c.status, func.count()).group_by(SEGMENTS.c.status)).all()
                )
                if backend == "sqlite":
                    assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        finally:
            engine.dispose()
        assert statuses.get("salvaged", 0) >= 1, f"the segment cut by the kill is salvaged: {statuses}"
        assert statuses.get("complete", 0) >= 1, statuses


def first_segment(url: str) -> str | None:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(SEGMENTS.c.id).limit(1)).scalar()
    finally:
        engine.dispose()


def view_segment_repeatedly(
    base: str, segment_id: str, stop: threading.Event, viewed: threading.Event
) -> None:
    http = _login(base)
    while not stop.is_set():
        with contextlib.suppress(requests.RequestException):
            if http.get(f"{base}/api/recordings/segments/{segment_id}/video", timeout=5).ok:
                viewed.set()


def ui_banner(base: str) -> str:
    """The web UI in Debian's chromium: the text of the degraded banner (waits for it to appear)."""
    from playwright.sync_api import sync_playwright

    if not (WEB_DIST / "index.html").is_file():
        missing(f"the web UI is not built ({WEB_DIST}): cd src/safecity/web && npm ci && npm run build")
    if not CHROMIUM.is_file():
        missing(f"chromium not found at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(base + "/")
            banner = page.get_by_test_id("degraded-banner")
            banner.wait_for(timeout=20_000)
            return banner.inner_text()
        finally:
            browser.close()


def _login(base: str) -> requests.Session:
    http = requests.Session()
    creds = {"username": "admin", "password": ADMIN_PASSWORD}
    r = http.post(f"{base}/api/auth/login", json=creds, timeout=10)
    assert r.ok, r.text
    return http


def test_database_down_degrades_holds_events_and_stores_each_once(
    tmp_path: Path, pets_h264: Path, nanodet_model: Path
) -> None:
    log = tmp_path / "published.log"
    with PgServer.start() as pg:
        config = fault_config(tmp_path, pets_h264, nanodet_model, pg.url)
        run_cli(config, "users", "create", "admin", "--role", "admin", "--password-stdin",
                stdin=ADMIN_PASSWORD + "\n")  # fmt: skip
        with ServeProcess.start(config, tmp_path / "serve.log") as serve:
            http = _login(serve.base)
            assert http.get(f"{serve.base}/api/events", timeout=10).status_code == 200
            wait_for(lambda: len(published_ids(log)) >= 3, 90, "first events")

            pg.down()
            down_at = time.monotonic()
            at_down = len(published_ids(log))
            live = wait_for(
                lambda: (
                    (b := requests.get(f"{serve.base}/healthz", timeout=5).json())["status"] == "degraded"
                    and b
                ),
                30,
                "healthz to say degraded",
            )
            assert "database" in live["reason"]
            for path in ("/api/events", "/api/alerts", "/api/incidents"):
                r = http.get(f"{serve.base}{path}", timeout=30)
                assert r.status_code == 503, (path, r.status_code, r.text)
                assert r.json()["degraded"] is True and "database" in r.json()["detail"]
            # who the caller is may still come from the node's credential cache (api.auth_cache_s) for a
            # few seconds; once that expires it needs the database: 503, never a 500
            time.sleep(ApiConfig().auth_cache_s + 1)
            r = http.get(f"{serve.base}/api/auth/me", timeout=30)
            assert r.status_code == 503, (r.status_code, r.text)
            assert r.json()["degraded"] is True and "database" in r.json()["detail"]
            assert requests.get(f"{serve.base}/", timeout=10).status_code == 200  # the UI shell loads
            banner = ui_banner(serve.base)
            assert "Service degraded" in banner and "database" in banner, banner
            while time.monotonic() - down_at < DB_DOWN_S:
                time.sleep(1)
                assert serve.proc.poll() is None, serve.tail()
            held = requests.get(f"{serve.base}/healthz", timeout=5).json()
            produced_while_down = len(published_ids(log)) - at_down
            assert produced_while_down > 0, "the cameras kept running"
            assert held["held_events"] >= produced_while_down

            pg.up()
            wait_for(lambda: requests.get(f"{serve.base}/healthz", timeout=5).json()["status"] == "ok", 30,
                     "the service to recover")  # fmt: skip
            wait_for(lambda: set(published_ids(log)) <= set(stored_ids(pg.url)), 30, "held events stored")
            assert http.get(f"{serve.base}/api/events", timeout=10).status_code == 200
            assert serve.terminate(), serve.tail()
        published = published_ids(log)
        stored = stored_ids(pg.url)
        assert len(stored) == len(set(stored)) == len(set(published))
        assert set(stored) == set(published)
