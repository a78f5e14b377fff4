"""The national view in a real browser: `safecity serve` in federation mode (national site, no cameras,
its own PostgreSQL database and nats-server) fed by two cities; a national viewer signs in and sees the
map, the cities with their key figures and the links to each city's own UI."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from safecity.federation.models import FedCameraRow, FedEventRow
from support.federation_sites import (
    count,
    events_for,
    federation,
    health_of,
    require_services,
    start_city,
    wait_for,
)

from .conftest import ARTIFACTS, WEB_DIST, _free_port, _missing, _safecity_bin

pytestmark = [pytest.mark.e2e, pytest.mark.federation]
PASSWORD = "e2e-national-password-1"


def test_national_page_shows_every_city_with_its_figures_and_link(tmp_path: Path, browser: Any) -> None:
    require_services()
    if not (WEB_DIST / "index.html").is_file():
        _missing(f"the web UI is not built ({WEB_DIST})")
    with federation(tmp_path / "sites", ("rome", "milan")) as sites:
        nat = sites["national"]
        config = tmp_path / "national.yaml"
        settings = {
            "storage": {"data_dir": str(tmp_path / "var"), "database_url": nat.db_url},
            "federation": nat.cfg.model_dump(mode="json"),
        }
        config.write_text(yaml.safe_dump(settings, sort_keys=False))
        exe = _safecity_bin()
        made = subprocess.run(
            [
                exe,
                "users",
                "create",
                "natview",
                "--role",
                "national-viewer",
                "--password-stdin",
                "-c",
                str(config),
            ],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert made.returncode == 0, made.stdout + made.stderr
        port = _free_port()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        log = ARTIFACTS / "national-serve.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [exe, "serve", "-c", str(config), "--host", "127.0.0.1", "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=tmp_path,
            )
        cities = []
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(lambda: _up(base, proc), 90, f"the national site to serve (log: {log})")
            for c in ("rome", "milan"):
                cities.append(rt := start_city(sites[c], health_of(c)))
                for e in events_for(c, 12):
                    rt.bus.publish(e)  # type: ignore[attr-defined]
            wait_for(
                lambda: count(nat, FedEventRow) == 24 and count(nat, FedCameraRow) == 4, 60, "both cities"
            )
            page = browser.new_page(base_url=base)
            page.goto("/login")
            page.locator("input[name=username]").fill("natview")
            page.locator("input[name=password]").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.get_by_role("heading", name="National view").wait_for(timeout=30_000)  # the start page
            table = page.get_by_test_id("national-sites")
            for city in ("rome", "milan"):
                row = table.locator(f"tr[data-site={city}]")
                row.wait_for(timeout=30_000)
                assert "1/2" in row.inner_text()  # cameras ok / total
                link = row.get_by_role("link")
                assert link.get_attribute("href") == f"https://{city}.example.org"
            assert page.locator(".national-map .map-pin").count() == 2  # the two cities on the map
            page.get_by_test_id("national-footfall-by-city-and-zone").get_by_text(
                "rome-cam0/piazza"
            ).first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "national.png"), full_page=True)
            page.close()
        finally:
            for rt in cities:
                rt.close()
            proc.terminate()
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def _up(base: str, proc: subprocess.Popen[bytes]) -> bool:
    if proc.poll() is not None:
        raise AssertionError(f"safecity serve exited with {proc.returncode}")
    try:
        return requests.get(f"{base}/healthz", timeout=2).ok
    except requests.RequestException:
        return False
