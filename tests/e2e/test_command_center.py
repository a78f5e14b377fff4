"""The command center in a real browser against the real service on the PETS video.

1. An operator watches the dashboard; a crowding rule is switched on; the real pipeline raises an alert
   that arrives in the feed live; the operator acknowledges it, opens an incident from it and dispatches
   the field unit; on a phone the unit receives the dispatch live and reports en route then on scene;
   the operator's incident shows on scene.
2. A member of the public sends a report with a photo from /report; it appears in the triage queue.
3. An admin draws a counting line on the camera snapshot and saves it; the camera's config changes.

Each step waits for a real condition (an element, a state, an API answer), never a fixed sleep.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.models, pytest.mark.timeout(420)]

ALERT_TIMEOUT_MS = 150_000  # model warm-up, a worker restart and the crowding duration, on a loaded CI box


def _expect() -> Any:
    from playwright.sync_api import expect

    return expect


def test_alert_to_field_unit_on_scene(ui: Any, service: Any) -> None:
    expect = _expect()
    admin = service.api("admin")

    # the operator's desk: dashboard open, live link up, no alert yet
    op = ui.page()
    ui.login(op, "operator")
    expect(op.get_by_test_id("current-user")).to_contain_text("operator")
    expect(op.locator("[data-live=open]")).to_be_visible()
    expect(op.locator(".tile[data-camera-id=pets] img")).to_be_visible()
    expect(op.get_by_text("No open alerts")).to_be_visible()

    # the field unit's phone: signed in, waiting for work
    phone = ui.page(phone=True)
    ui.login(phone, "field")
    expect(phone).to_have_url(f"{service.base}/field")
    expect(phone.locator("[data-live=open]")).to_be_visible()
    expect(phone.get_by_text("No active dispatch")).to_be_visible()
    ui.shot(phone, "01-field-waiting")

    # switch crowding on for the zone (two people for one second): the running camera picks it up
    cam = admin.get(f"/api/cameras/{service.camera}")
    zones = cam["zones"]
    zones[0]["crowding"] = {"threshold": 2, "min_duration_s": 1}
    admin.send("PATCH", f"/api/cameras/{service.camera}", {"zones": zones})

    # the real pipeline raises a crowding alert; it arrives in the feed over the WebSocket (no reload)
    item = op.locator("[data-testid=alert-feed] .feed-item").first
    expect(item).to_be_visible(timeout=ALERT_TIMEOUT_MS)
    expect(item).to_contain_text("high")
    alert_id = item.get_attribute("data-alert-id")
    assert alert_id
    ui.shot(op, "02-dashboard-alert")

    # acknowledge it from the alerts list
    op.get_by_role("link", name="Alerts", exact=True).click()
    row = op.locator(f"tr[data-alert-id='{alert_id}']")
    expect(row).to_be_visible()
    row.get_by_role("button", name="Ack").click()
    expect(row).to_have_attribute("data-status", "acknowledged")
    assert admin.get("/api/alerts", status="acknowledged")["total"] >= 1

    # open an incident from it
    row.get_by_role("checkbox").check()
    op.get_by_role("button", name="New incident…").click()
    dialog = op.get_by_role("dialog")
    expect(dialog).to_contain_text("New incident from 1 alert")
    expect(dialog.locator("select[name=type]")).to_have_value("crowding")
    ui.shot(op, "03-new-incident")
    dialog.get_by_role("button", name="Open incident").click()
    op.wait_for_url("**/incidents/*")
    incident_id = op.url.rsplit("/", 1)[1]
    expect(op.get_by_test_id("incident-status")).to_contain_text("New")
    expect(op.get_by_test_id("checklist")).to_contain_text("Confirm the crowd")
    incident = admin.get(f"/api/incidents/{incident_id}")
    assert int(alert_id) in incident["alert_ids"]

    # dispatch the field unit
    unit_row = op.locator(f"tr[data-unit-id='{service.unit_id}']")
    expect(unit_row).to_contain_text(service.unit_call_sign)
    unit_row.get_by_role("button", name="Dispatch").click()
    expect(op.get_by_test_id("dispatches")).to_contain_text(service.unit_call_sign)
    expect(op.get_by_test_id("incident-status")).to_contain_text("Dispatched")

    # the phone receives it live and reports en route, then on scene
    card = phone.locator(".fcard").first
    expect(card).to_be_visible(timeout=15_000)
    expect(card).to_contain_text(incident["title"])
    ui.shot(phone, "04-field-dispatch")
    card.get_by_role("button", name="En route").click()
    expect(card).to_have_attribute("data-status", "en_route")
    card.get_by_role("button", name="On scene").click()
    expect(card).to_have_attribute("data-status", "on_scene")
    ui.shot(phone, "05-field-on-scene")

    # the operator's incident page follows live
    # (the field app sends through its outbox: under load the update can take a while to arrive)
    expect(op.get_by_test_id("incident-status")).to_contain_text("On scene", timeout=30_000)
    expect(op.get_by_test_id("dispatches")).to_contain_text("On scene")
    ui.shot(op, "06-incident-on-scene")
    assert admin.get(f"/api/incidents/{incident_id}")["status"] == "on_scene"

    # the board shows it in the on-scene column
    op.get_by_role("link", name="Incidents", exact=True).click()
    expect(op.locator(f".board-col[data-status=on_scene] [data-incident-id='{incident_id}']")).to_be_visible()
    ui.shot(op, "07-board")


def _photo(pets_video: Path, out: Path) -> Path:
    """A real photo: one frame of the sample video as a JPEG."""
    cap = cv2.VideoCapture(str(pets_video))
    ok, frame = cap.read()
    cap.release()
    assert ok, "cannot read a frame of the sample video"
    assert cv2.imwrite(str(out), frame)
    return out


def test_public_report_reaches_triage(ui: Any, service: Any, pets_video: Path, tmp_path: Path) -> None:
    expect = _expect()
    citizen = ui.page(phone=True)
    citizen.goto("/report")
    expect(citizen.get_by_role("heading", name="Report an incident")).to_be_visible()

    # the client refuses a file that is not a photo, before sending anything
    citizen.locator("input[name=photo]").set_input_files(
        {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo"}
    )
    expect(citizen.get_by_test_id("photo-error")).to_be_visible()

    description = "E2E: bag snatched near the campus road, thief ran east"
    citizen.locator("select[name=category]").select_option("theft")
    citizen.locator("textarea[name=description]").fill(description)
    map_box = citizen.locator(".report-map").bounding_box()
    citizen.mouse.click(map_box["x"] + map_box["width"] * 0.55, map_box["y"] + map_box["height"] * 0.45)
    expect(citizen.get_by_test_id("pin")).to_contain_text(",")
    citizen.locator("input[name=share_location]").check()  # the position is sent only with consent
    citizen.locator("input[name=photo]").set_input_files(str(_photo(pets_video, tmp_path / "photo.jpg")))
    expect(citizen.get_by_test_id("photo-error")).to_have_count(0)
    expect(citizen.locator("img.photo-preview")).to_be_visible()
    ui.shot(citizen, "01-report-form")
    citizen.get_by_role("button", name="Send report").click()
    expect(citizen.get_by_test_id("report-success")).to_be_visible()
    reference = citizen.get_by_test_id("report-reference").inner_text()
    assert reference.isdigit()
    ui.shot(citizen, "02-report-sent")

    # the operator finds it in the triage queue, with its photo
    op = ui.page()
    ui.login(op, "operator")
    expect(op.get_by_test_id("current-user")).to_be_visible()
    op.goto("/reports")
    row = op.locator(f"tr[data-report-id='{reference}']")
    expect(row).to_contain_text(description)
    thumb = row.locator("img")
    expect(thumb).to_be_visible()
    op.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle())
    ui.shot(op, "03-triage")
    row.get_by_role("button", name="Incident").click()
    expect(op.locator(f"tr[data-report-id='{reference}']")).to_have_count(0)
    report = service.api("operator").get(f"/api/reports/{reference}")
    assert report["status"] == "incident" and report["incident_id"]
    assert report["lat"] is not None and report["lon"] is not None


def test_rule_editor_draws_and_saves_a_line(ui: Any, service: Any) -> None:
    expect = _expect()
    page = ui.page()
    ui.login(page, "admin")
    expect(page.get_by_test_id("current-user")).to_be_visible()
    page.goto(f"/cameras/{service.camera}?tab=rules")
    canvas = page.get_by_test_id("rule-canvas")
    expect(canvas).to_be_visible()
    width = float(canvas.get_attribute("data-width") or 0)
    height = float(canvas.get_attribute("data-height") or 0)
    assert width > 0 and height > 0

    page.get_by_role("button", name="Draw line").click()
    box = canvas.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.2)
    expect(page.get_by_test_id("editor-hint")).to_contain_text("end point")
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.8)
    page.locator("input[name=line-name]").fill("E2E gate")
    page.locator("input[name=line-in]").fill("eastbound")
    page.locator("input[name=line-out]").fill("westbound")
    ui.shot(page, "01-line-drawn")
    page.get_by_role("button", name="Save rules").click()
    expect(page.locator(".toast")).to_contain_text("Rules saved")
    expect(page.get_by_role("button", name="Saved")).to_be_visible()

    cam = service.api("admin").get(f"/api/cameras/{service.camera}")
    line = next(ln for ln in cam["lines"] if ln.get("name") == "E2E gate")
    assert (line["in_name"], line["out_name"]) == ("eastbound", "westbound")
    assert abs(line["start"][0] - width * 0.25) < width * 0.02
    assert abs(line["start"][1] - height * 0.2) < height * 0.02
    assert abs(line["end"][1] - height * 0.8) < height * 0.02
    assert any(ln["id"] == "road-x550" for ln in cam["lines"]), "the existing line was kept"
    ui.shot(page, "02-line-saved")
