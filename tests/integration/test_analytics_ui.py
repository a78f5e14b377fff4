"""The analytics screen in Debian's headless chromium: charts, heatmap overlay, "<k" cells, downloads.

The real service (`create_api` under uvicorn, the built UI in src/safecity/web/dist) on a store seeded
with events; Playwright drives /usr/bin/chromium by path (never `playwright install`)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from safecity.api.app import DEFAULT_UI_DIR, create_api
from safecity.types import Event, EventKind, OccupancyGrid
from support.analytics_fixtures import MONDAY
from support.api_harness import TEST_PASSWORD, LiveServer, add_user, make_node

pytestmark = pytest.mark.e2e
CHROMIUM = Path(os.environ.get("SAFECITY_CHROMIUM", "/usr/bin/chromium"))
PERIOD = "since=2025-03-03T09:00:00Z&until=2025-03-04T09:00:00Z"  # MONDAY + 1 day


def seed() -> list[Event]:
    out = [
        Event(camera_id="cam1", kind=EventKind.ZONE_ENTER, start=MONDAY + timedelta(minutes=i), end=MONDAY,
              label="person", zone_id="plaza", track_id=i)
        for i in range(40)
    ]  # fmt: skip
    out += [
        Event(camera_id="cam1", kind=EventKind.ZONE_ENTER, start=MONDAY + timedelta(hours=3), end=MONDAY,
              label="person", zone_id="gate", track_id=i)
        for i in range(2)
    ]  # fmt: skip
    out += [
        Event(camera_id="cam1", kind=EventKind.OCCUPANCY, start=MONDAY + timedelta(minutes=5 * i),
              end=MONDAY + timedelta(minutes=5 * i + 5), label="person", count=8,
              grid=OccupancyGrid(4, 3, ((0, 8), (5, 6))))
        for i in range(6)
    ]  # fmt: skip
    out += [  # 9 coaches north, 6 cars south across the road line; 3 trucks (suppressed)
        Event(camera_id="cam1", kind=EventKind.LINE_CROSSING, start=MONDAY + timedelta(minutes=i), end=MONDAY,
              label=label, line_id="road", direction=direction, track_id=100 + i)
        for i, (label, direction) in enumerate([("bus", "north")] * 9 + [("car", "south")] * 6
                                               + [("truck", "north")] * 3)
    ]  # fmt: skip
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not (DEFAULT_UI_DIR / "index.html").is_file():
        pytest.fail(f"the web UI is not built ({DEFAULT_UI_DIR}): bash scripts/install.sh")
    data = tmp_path_factory.mktemp("analytics-ui")
    analytics = {"sites": [{"id": "centre", "name": "Centre", "cameras": ["cam1"]}]}
    camera = {"id": "cam1", "source": str(data / "none.mp4")}  # in the cameras table, no worker runs
    node = make_node(data, analytics=analytics, cameras=[camera], api={"start_workers": False})
    node.store.append(seed())
    add_user(node, "ana", "supervisor")
    with LiveServer.run(create_api(node)) as live:
        yield live


@pytest.fixture(scope="module")
def page(server: LiveServer) -> Iterator[Any]:
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} missing: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1400, "height": 1000})
        pg.goto(server.url + "/")
        pg.fill("input[name=username]", "ana")
        pg.fill("input[name=password]", TEST_PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_selector("nav >> text=Analytics")
        yield pg
        browser.close()


def test_the_analytics_screen_draws_aggregates(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/analytics?{PERIOD}&metric=footfall")
    trend = page.locator("section[aria-label=Trend]")
    trend.locator(".chart canvas").first.wait_for()
    assert "total" in trend.inner_text() and "42" in trend.inner_text()
    compare = page.locator("section[aria-label='Against the previous period']")
    compare.locator("table").wait_for()
    assert "<5" in compare.inner_text()  # the two entries at the gate are suppressed
    heat = page.locator("[data-heatmap=cam1]")
    heat.locator("canvas").wait_for()
    assert "6 samples" in heat.inner_text()
    site = page.locator("section[aria-label='Safe Tourism']")
    site.locator(".kpi").first.wait_for()
    assert "footfall" in site.inner_text().lower() and "42" in site.inner_text()
    csv = page.locator("a", has_text="CSV")
    assert "/api/analytics/export" in (csv.get_attribute("href") or "")


def test_the_vehicle_panel_counts_per_class_and_direction(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/analytics?{PERIOD}")
    panel = page.locator("section[aria-label=Vehicles]")
    table = panel.locator("table[aria-label='vehicles per class']")
    table.wait_for()
    rows = {r.locator("td").first.inner_text(): r.inner_text() for r in table.locator("tbody tr").all()}
    assert rows["Buses and coaches"].split("\t")[1:4] == ["9", "9", "<5"]  # crossings, north, south
    assert rows["Cars and taxis"].split("\t")[1:4] == ["6", "<5", "6"]
    assert rows["Trucks"].split("\t")[1] == "<5"  # 3 trucks: suppressed
    assert "crossings 18" in panel.inner_text()
    site = page.locator("section[aria-label='Safe Tourism']")
    site.locator(".kpi").first.wait_for()
    kpis = [" ".join(t.lower().split()) for t in site.locator(".kpi").all_inner_texts()]
    assert "9 coaches" in kpis and "6 cars and taxis" in kpis


def test_the_date_range_preset_and_csv_download(page: Any, server: LiveServer) -> None:
    page.goto(f"{server.url}/analytics?{PERIOD}")
    with page.expect_download() as done:
        page.locator("a", has_text="CSV").click()
    text = Path(done.value.path()).read_text()
    assert text.startswith("camera_id,zone_id") and ",40" in text
    page.locator("button", has_text="7 days").click()
    page.wait_for_url("**/analytics?*since=*")
    assert "since=" in page.url and PERIOD.split("&")[0] not in page.url
