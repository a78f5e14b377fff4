"""Stopping `safecity serve` (SIGINT, as Ctrl+C) while a browser shows the dashboard (its live MJPEG tile,
and, with no tile server configured, the offline map of country outlines):
the stream ends by itself, the server exits without waiting out its grace period, and the log has no
traceback (it used to log a CancelledError from the stream cancelled after the grace period)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "shutdown-test-password-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.models, pytest.mark.timeout(300)]


def test_sigint_with_a_browser_watching_exits_cleanly(
    tmp_path: Path, pets_video: Path, nanodet_model: Path, browser: Any
) -> None:
    exe = str(Path(sys.executable).parent / "safecity")
    config = tmp_path / "serve.yaml"
    camera = {"id": "pets", "source": str(pets_video), "fps": 5, "loop": True}
    settings = {"storage": {"data_dir": str(tmp_path / "var")}, "detector": {"model": str(nanodet_model)},
                "cameras": [camera]}  # fmt: skip
    config.write_text(yaml.safe_dump(settings))
    create = [exe, "users", "create", "op", "--role", "operator", "--password-stdin", "-c", str(config)]
    made = subprocess.run(
        create, input=PASSWORD + "\n", capture_output=True, text=True, timeout=120, check=False
    )
    assert made.returncode == 0, made.stderr
    port = _free_port()
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([exe, "serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                time.sleep(0.3)
        ctx = browser.new_context(base_url=base, viewport={"width": 1440, "height": 900})
        page = ctx.new_page()
        page.goto("/login")
        page.locator("input[name=username]").fill("op")
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_selector(".tile[data-camera-id=pets] img", timeout=60_000)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.tile img')].some(i => i.naturalWidth > 0)"
        )
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        assert proc.wait(timeout=60) is not None
        took = time.monotonic() - started
        ctx.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    text = log.read_text()
    assert "Traceback" not in text and "CancelledError" not in text, text[-3000:]
    assert "timeout graceful shutdown exceeded" not in text
    assert took < 30, f"shutdown took {took:.1f} s"
