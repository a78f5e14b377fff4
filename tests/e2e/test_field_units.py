"""Field units and control-room urgency in a real browser against the real service on the PETS video.

1. Two field units on phones share their positions (browser geolocation); the operator's incident page
   lists the nearer one first and dispatches it with one click; the unit receives the dispatch live and
   sends a message with a photo (the operator sees it face-blurred) and gets the operator's reply; the
   dispatch, not acknowledged in time, escalates with the next unit suggested; the unit goes offline,
   reports en route, writes a message and moves; back online, the server has each of them exactly once;
   the app shell still loads offline (service worker).
2. A high-severity rule on the road's counting line, made in the alert-rule editor: the first real
   crossing raises an alert and the operator's alert sound plays.
3. The map draws tiles from a configured XYZ source (a local tile server fixture), labelled cameras and
   units, and clusters at low zoom.
4. Screenshots of every page at 1600, 1024 and 390 px (artifacts/e2e/pages-*.png), none wider than the
   screen, every nav item reachable.
5. A viewer restricted to no cameras is told so; a viewer's events page loads no media it may not see.
6. Time zones: a browser in New York shows the site's zone (London) with its label and reads a date
   filter as London time; switching to the browser's zone is kept on the server for the user.
7. The incident page shows its camera's evidence panel (no broken media) and a public report 100 m away
   in the nearby panel.
"""

from __future__ import annotations

import io
import re
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.models, pytest.mark.timeout(420)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


TILE_PORT = _free_port()
CAMERA_AT = (51.4408, -0.9415)  # the conftest's camera
NEAR = (51.4420, -0.9415)  # ~130 m north
FAR = (51.4460, -0.9415)  # ~580 m north
MOVED = (51.4412, -0.9400)
SERVICE_SETTINGS = {
    "map": {"tile_url": f"http://127.0.0.1:{TILE_PORT}/{{z}}/{{x}}/{{y}}.png", "attribution": "test tiles"},
    "field": {"position_every_s": 2, "dispatch_ack_s": 8},
    "site": {"timezone": "Europe/London"},
}
SECOND = {"username": "field2", "password": "e2e-field2-password-1", "call_sign": "Bike-2"}
PAGES = ["/", "/alerts", "/alert-rules", "/incidents", "/events", "/recordings", "/analytics", "/reports",
         "/health", "/biometrics", "/admin", "/cameras/pets"]  # fmt: skip
WIDTHS = (1600, 1024, 390)


class Tiles:
    """A local XYZ tile server: each tile is a generated PNG showing its z/x/y; requests are recorded."""

    def __init__(self) -> None:
        self.requested: list[str] = []
        tiles = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                tiles.requested.append(self.path)
                img = Image.new("RGB", (256, 256), (34, 60, 46))
                ImageDraw.Draw(img).text((8, 8), self.path, fill=(220, 220, 220))
                out = io.BytesIO()
                img.save(out, "PNG")
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(out.tell()))
                self.end_headers()
                self.wfile.write(out.getvalue())

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", TILE_PORT), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture(scope="module")
def tiles() -> Iterator[Tiles]:
    t = Tiles()
    yield t
    t.server.shutdown()


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def _phone(ui: Any, who: str, password: str, where: tuple[float, float]) -> Any:
    page = ui.page(phone=True)
    ctx = page.context
    ctx.grant_permissions(["geolocation"])
    ctx.set_geolocation({"latitude": where[0], "longitude": where[1], "accuracy": 10})
    page.goto("/login")
    page.locator("input[name=username]").fill(who)
    page.locator("input[name=password]").fill(password)
    page.get_by_role("button", name="Sign in").click()
    _expect()(page.get_by_test_id("duty")).to_have_attribute("data-on-duty", "true")
    return page


def _wait(fn: Any, what: str, timeout_s: float = 30.0) -> Any:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := fn():
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def test_dispatch_nearest_message_photo_offline_and_back(
    ui: Any, service: Any, tiles: Tiles, shared_data: Path
) -> None:
    expect = _expect()
    admin, op_api = service.api("admin"), service.api("operator")
    user = admin.send("POST", "/api/users", {"username": SECOND["username"], "password": SECOND["password"],
                                              "roles": ["field-unit"]})  # fmt: skip
    bike = admin.send("POST", "/api/units", {"call_sign": SECOND["call_sign"], "kind": "bike_patrol",
                                             "user_id": user["id"]})  # fmt: skip

    # two units on duty, each sharing its browser's position
    far = _phone(ui, SECOND["username"], SECOND["password"], FAR)
    near = _phone(ui, "field", "e2e-field-password-1", NEAR)

    def positions() -> dict[str, Any]:
        return {u["call_sign"]: u for u in op_api.get("/api/units") if u["position_at"]}

    found = _wait(lambda: (p := positions()) and len(p) == 2 and p, "both positions")
    assert abs(found[service.unit_call_sign]["lat"] - NEAR[0]) < 1e-6
    assert abs(found["Bike-2"]["lat"] - FAR[0]) < 1e-6

    # the operator's incident (at the camera): the nearest unit first; one click dispatches it
    incident = op_api.send(
        "POST", "/api/incidents", {"title": "Bag snatched", "type": "theft", "camera_id": "pets"}
    )
    assert (incident["lat"], incident["lon"]) == CAMERA_AT
    op = ui.page()
    ui.login(op, "operator")
    expect(op.get_by_test_id("current-user")).to_be_visible()
    op.goto(f"/incidents/{incident['id']}")
    rows = op.get_by_test_id("nearest-units").locator("tr[data-unit-id]")
    expect(rows).to_have_count(2, timeout=20_000)
    expect(rows.first).to_have_attribute("data-unit-id", str(service.unit_id))
    expect(rows.first.get_by_test_id("distance")).to_contain_text(" m")
    expect(rows.nth(1)).to_have_attribute("data-unit-id", str(bike["id"]))
    ui.shot(op, "field-01-nearest")
    rows.first.get_by_role("button", name="Dispatch").click()
    expect(op.get_by_test_id("incident-status")).to_contain_text("Dispatched")

    card = near.locator("article.fcard").first
    expect(card).to_be_visible()
    expect(card).to_contain_text("Bag snatched")
    expect(far.get_by_text("No active dispatch")).to_be_visible()  # the other unit got nothing

    # message with a photo from the unit; the operator sees it (blurred copy) and replies
    card.locator("input[name=message]").fill("Two suspects, photo attached")
    card.locator("input[name=photo]").set_input_files(str(shared_data / "faces" / "group-6-faces.jpg"))
    card.get_by_role("button", name="Send").click()
    msg = op.get_by_test_id("messages").locator("li.msg-unit").first
    expect(msg).to_contain_text("Two suspects, photo attached", timeout=90_000)  # face blurring on a busy CPU
    img = msg.locator("img.msg-photo")
    expect(img).to_be_visible()
    _wait(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), "the photo to load")
    assert "/photo" in (img.get_attribute("src") or "") and "original" not in (img.get_attribute("src") or "")
    op.get_by_test_id("messages").locator("input[name=message]").fill("Stay with them, backup coming")
    op.get_by_test_id("messages").get_by_role("button", name="Send").click()
    expect(card.locator("li.msg-control")).to_contain_text("Stay with them, backup coming", timeout=30_000)
    ui.shot(op, "field-02-messages")
    ui.shot(near, "field-03-phone-messages")

    # the unit has not acknowledged (en route) within field.dispatch_ack_s: the operator is alerted, with
    # the next nearest unit one click away
    banner = op.get_by_test_id("dispatch-escalation")
    expect(banner).to_contain_text(f"{service.unit_call_sign} has not acknowledged", timeout=30_000)
    expect(banner.get_by_role("button", name="Dispatch Bike-2")).to_be_visible()
    expect(op.get_by_test_id("alert-sound")).not_to_have_attribute("data-played", "0")
    ui.shot(op, "field-02b-escalation")

    # offline: en route, a message and a move are queued, nothing reaches the server
    assert near.evaluate("navigator.serviceWorker.getRegistration().then(r => !!r)")
    near.context.set_offline(True)
    expect(near.get_by_test_id("offline")).to_be_visible()
    card.get_by_role("button", name="En route").click()
    card.locator("input[name=message]").fill("Lost them near the bridge")
    card.get_by_role("button", name="Send").click()
    near.context.set_geolocation({"latitude": MOVED[0], "longitude": MOVED[1], "accuracy": 10})
    expect(card.get_by_test_id("queued-message")).to_contain_text("Lost them near the bridge")
    expect(near.get_by_test_id("outbox-count")).to_be_visible()
    near.wait_for_timeout(2500)  # a position fix falls due while offline (every 2 s here)
    ui.shot(near, "field-04-phone-offline")
    detail = op_api.get(f"/api/incidents/{incident['id']}")
    assert detail["dispatches"][0]["status"] == "dispatched"
    # the app shell still loads offline, from the service worker
    near.reload()
    expect(near.get_by_test_id("outbox-count")).to_be_visible()

    # back online: everything arrives, in order, exactly once
    near.context.set_offline(False)
    expect(near.get_by_test_id("outbox-count")).to_have_count(0, timeout=30_000)
    detail = op_api.get(f"/api/incidents/{incident['id']}")
    assert detail["dispatches"][0]["status"] == "en_route"
    texts = [t["message"] for t in detail["timeline"]]
    assert texts.count(f"{service.unit_call_sign} en route") == 1
    messages = [t["message"] for t in detail["timeline"] if t["kind"] == "message"]
    assert messages == [
        "Two suspects, photo attached",
        "Stay with them, backup coming",
        "Lost them near the bridge",
    ]
    unit = next(u for u in op_api.get("/api/units") if u["id"] == service.unit_id)
    assert (round(unit["lat"], 6), round(unit["lon"], 6)) == MOVED
    expect(op.get_by_test_id("messages")).to_contain_text("Lost them near the bridge")
    ui.shot(op, "field-05-back-online")


def test_alert_sound_on_a_high_alert(ui: Any, service: Any) -> None:
    expect = _expect()
    op = ui.page()
    ui.login(op, "operator")
    expect(op.locator("[data-live=open]")).to_be_visible()
    sound = op.get_by_test_id("alert-sound")
    expect(sound).to_have_attribute("data-played", "0")
    op.evaluate(
        """() => document.querySelector('[data-testid=alert-sound]')
                 .addEventListener('play', () => { window.__played = (window.__played || 0) + 1; })"""
    )
    # an admin adds a high-severity rule on the road's counting line in the alert-rule editor
    admin = ui.page()
    ui.login(admin, "admin")
    expect(admin.get_by_test_id("current-user")).to_be_visible()
    admin.goto("/alerts")
    admin.get_by_role("link", name="Alert rules").click()
    form = admin.get_by_role("form", name="New alert rule")
    form.locator("input[name=name]").fill("Road crossing (e2e)")
    form.locator("select[name=severity]").select_option("high")
    form.locator("input[name=kind-crowding]").uncheck()
    form.locator("input[name=kind-line_crossing]").check()
    form.locator("input[name=cooldown_s]").fill("3600")
    form.locator("input[name=line_ids]").fill("road-x550")
    form.get_by_role("button", name="Add rule").click()
    expect(admin.locator("[data-testid=alert-rules] tr", has_text="Road crossing (e2e)")).to_be_visible()
    ui.shot(admin, "sound-00-rule-editor")
    rules = service.api("admin").get("/api/alert-rules")
    mine = next(r for r in rules if r["name"] == "Road crossing (e2e)")
    assert (mine["event_kinds"], mine["severity"], mine["line_ids"]) == (
        ["line_crossing"],
        "high",
        ["road-x550"],
    )
    expect(op.locator("[data-testid=alert-feed] .feed-item.sev-high").first).to_be_visible(timeout=120_000)
    expect(sound).not_to_have_attribute("data-played", "0")
    assert op.evaluate("window.__played || 0") >= 1  # the element really started playing
    ui.shot(op, "sound-01-alert")


def test_map_tiles_labels_units_and_clusters(ui: Any, service: Any, tiles: Tiles) -> None:
    import requests

    expect = _expect()
    service.api("field").send("POST", "/api/field/position", {"lat": NEAR[0], "lon": NEAR[1]})
    op = ui.page()
    ui.login(op, "operator")
    expect(op.locator(".dash-map img.leaflet-tile-loaded").first).to_be_visible()
    assert any(p.endswith(".png") for p in tiles.requested)
    expect(op.locator(".map-camera-label", has_text="PETS2009")).to_be_visible()
    expect(op.locator(".leaflet-control-attribution")).to_contain_text("test tiles")
    expect(op.locator(".dash-map .map-unit").first).to_be_visible()  # the unit, live from its position
    ui.shot(op, "map-01-tiles")
    zoom_out = op.locator(".dash-map .leaflet-control-zoom-out")
    for _ in range(5):  # at low zoom the camera and the unit 130 m away merge into one cluster
        zoom_out.click()
        op.wait_for_timeout(300)
    expect(op.locator(".dash-map .map-cluster").first).to_be_visible()
    ui.shot(op, "map-02-cluster")
    # the console stays clean: the UI's own config and the favicon exist
    assert (
        requests.get(f"{service.base}/favicon.ico", timeout=10).headers["content-type"].startswith("image/")
    )
    config = service.api("operator").get("/api/ui-config")
    assert config["tile_url"].startswith("http://127.0.0.1:") and config["timezone"] == "Europe/London"


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshots_of_every_page(ui: Any, service: Any, artifacts: Path, width: int) -> None:
    expect = _expect()
    page = ui.page()
    page.set_viewport_size({"width": width, "height": 900})
    ui.login(page, "admin")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    for path in PAGES:
        page.goto(path)
        expect(page.locator("main.page")).to_be_visible()
        page.wait_for_timeout(600)
        name = path.strip("/").replace("/", "-") or "dashboard"
        page.screenshot(path=str(artifacts / f"pages-{width}-{name}.png"))
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"{path} at {width} px scrolls sideways by {overflow} px"
    field = ui.page()
    field.set_viewport_size({"width": width, "height": 900})
    ui.login(field, "field")
    expect(field.get_by_test_id("field-dispatches")).to_be_visible()
    field.screenshot(path=str(artifacts / f"pages-{width}-field.png"))
    public = ui.page()
    public.set_viewport_size({"width": width, "height": 900})
    public.goto("/report")
    public.wait_for_timeout(600)
    public.screenshot(path=str(artifacts / f"pages-{width}-report.png"))
    assert _overflow(public) <= 1, f"/report at {width} px is wider than the screen by {_overflow(public)} px"


def _overflow(page: Any) -> int:
    """How far the document or the page's scrolling main area is wider than the screen (px)."""
    return int(
        page.evaluate(
            """() => Math.max(document.documentElement.scrollWidth - document.documentElement.clientWidth,
                             ...[...document.querySelectorAll('main.page, .field-page, .public-page')]
                                .map(m => m.scrollWidth - m.clientWidth))"""
        )
    )


def test_viewer_without_cameras_is_told_so(ui: Any, service: Any) -> None:
    expect = _expect()
    admin = service.api("admin")
    body = {"username": "viewer0", "password": "e2e-viewer-password-1", "roles": ["viewer"], "cameras": []}
    admin.send("POST", "/api/users", body)
    page = ui.page()
    page.goto("/login")
    page.locator("input[name=username]").fill("viewer0")
    page.locator("input[name=password]").fill("e2e-viewer-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("No cameras are shared with you")).to_be_visible()
    expect(page.locator("nav.nav a", has_text="Recordings")).to_have_count(0)  # it would only error
    page.goto(f"/cameras/{service.camera}")
    expect(page.get_by_text(f"Camera {service.camera} is not shared with you")).to_be_visible()
    ui.shot(page, "viewer-01-no-cameras")


def test_viewer_events_have_no_broken_thumbnails(ui: Any, service: Any) -> None:
    expect = _expect()
    admin = service.api("admin")
    body = {"username": "viewer1", "password": "e2e-viewer-password-1", "roles": ["viewer"]}
    admin.send("POST", "/api/users", body)
    assert admin.get("/api/events", limit=5)["items"], "the camera has produced events"
    page = ui.page()
    failed: list[str] = []
    page.on(
        "response", lambda r: failed.append(r.url) if "/api/media/" in r.url and r.status >= 400 else None
    )
    page.goto("/login")
    page.locator("input[name=username]").fill("viewer1")
    page.locator("input[name=password]").fill("e2e-viewer-password-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.goto("/events")
    expect(page.locator("table.grid tbody tr").first).to_be_visible()
    page.wait_for_timeout(1000)
    assert page.locator("td.thumb-cell img").count() == 0 and failed == []


def test_times_in_the_site_zone_and_the_users_own(ui: Any, service: Any) -> None:
    from urllib.parse import parse_qs, urlparse

    expect = _expect()
    page = ui.page(timezone_id="America/New_York")  # the browser is far from the site (Europe/London)
    ui.login(page, "operator")
    clock = page.get_by_test_id("clock")
    expect(clock).to_have_attribute("data-zone", "Europe/London")
    expect(clock).to_have_text(re.compile(r"^\d\d:\d\d:\d\d (GMT|BST)$"))

    def since_for(wall: str) -> str:
        page.goto("/events")
        expect(page.get_by_text(re.compile(r"^From \((GMT|BST|GMT-[45])\)$"))).to_be_visible()
        page.locator("input[name=since]").fill(wall)
        page.locator("form.filters button[type=submit]").click()
        page.wait_for_url(re.compile("since="))
        return parse_qs(urlparse(page.url).query)["since"][0]

    assert since_for("2026-07-15T10:00") == "2026-07-15T09:00:00.000Z"  # 10:00 BST, not 10:00 in New York
    clock.click()  # the user's own zone, kept on the server
    expect(clock).to_have_attribute("data-zone", "America/New_York")
    expect(clock).to_have_text(re.compile(r" GMT-[45]$"))
    _wait(lambda: service.api("operator").get("/api/me/preferences")["time_zone"] == "browser", "preference")
    assert since_for("2026-07-15T10:00") == "2026-07-15T14:00:00.000Z"  # 10:00 EDT
    ui.shot(page, "timezone-browser")
    page.get_by_test_id("clock").click()  # back to the site's zone for the other tests of this user
    _wait(
        lambda: service.api("operator").get("/api/me/preferences")["time_zone"] == "site", "preference saved"
    )


def test_incident_page_evidence_and_nearby_report(ui: Any, service: Any) -> None:
    from datetime import UTC, datetime

    import requests

    expect = _expect()
    op = service.api("operator")
    incident = op.send("POST", "/api/incidents", {"title": "Bag snatched", "camera_id": service.camera})
    near = (CAMERA_AT[0] + 0.0009, CAMERA_AT[1])  # 100 m north of the camera
    report = {"category": "theft", "description": "A man ran off with a bag", "lat": str(near[0]),
              "lon": str(near[1]), "observed_at": datetime.now(UTC).isoformat()}  # fmt: skip
    r = requests.post(f"{service.base}/api/public/reports", data=report, timeout=10)
    assert r.status_code == 201, r.text
    page = ui.page()
    broken: list[str] = []
    page.on(
        "response", lambda r: broken.append(r.url) if "/api/media/" in r.url and r.status >= 400 else None
    )
    ui.login(page, "operator")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.goto(f"/incidents/{incident['id']}")
    panel = page.get_by_test_id("correlation")
    expect(panel.locator("li[data-kind=report]")).to_have_count(1)
    expect(panel).to_contain_text("100 m")
    expect(page.get_by_test_id("incident-evidence")).to_be_visible()
    ui.shot(page, "incident-evidence")
    assert broken == []
