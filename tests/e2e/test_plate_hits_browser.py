"""Vehicle hotlists in a real browser (the real `safecity serve`, Debian's chromium): the "Faces" area is now
"Watchlists"; an investigator sees the hotlist and its authorization, opens a plate hit with the plate crop
next to the read text and confirms it; confirming twice is refused and nothing can be dispatched until a
second person (a supervisor, in another browser) confirms. Plate search appears in the event search."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from sqlalchemy.orm import Session

from safecity.config.loader import load_settings
from safecity.media.storage import LocalMediaStorage
from safecity.plates.runtime import Plates, PlateStep
from safecity.store import make_engine
from safecity.types import Event
from safecity.vision.plate_stage import TrackPlate
from safecity.vision.plates import PlateRead
from safecity.vision.plates_config import PlatesConfig

from .conftest import Api

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.models, pytest.mark.timeout(300)]
PASSWORD = "e2e-reviewer-password-1"


def _user(service: Any, name: str, role: str) -> Api:
    body = {"username": name, "password": PASSWORD, "roles": [role], "cameras": None}
    service.api("admin").send("POST", "/api/users", body)
    return Api(service.base, name, PASSWORD)


def _login(page: Any, name: str) -> None:
    page.goto("/login")
    page.locator("input[name=username]").fill(name)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _hit(service: Any) -> None:
    """A read on the service's camera recorded by the plate step's own code, on the service's store."""
    settings = load_settings(service.config)
    engine = make_engine(settings.storage.resolved_database_url)
    media = LocalMediaStorage(settings.storage.resolved_media_dir)
    plates = Plates(PlatesConfig(enabled=True), settings.storage.data_dir, lambda: Session(engine), media)
    events: list[Event] = []
    crop = np.full((40, 160, 3), 235, np.uint8)
    crop[8:32, 10:150] = 30  # a dark band: an image, not a blank
    read = PlateRead("AB123CD", "AB123CD", 0.87, "generic", (0, 0, 160, 40))
    PlateStep(service.camera, None, plates, events.append).record(  # type: ignore[arg-type]
        TrackPlate(11, read, crop, "approaching"), datetime.now(UTC).timestamp()
    )
    engine.dispose()


def test_plate_hit_is_confirmed_by_two_people_in_the_watchlists_area(ui: Any, service: Any) -> None:
    from playwright.sync_api import expect

    admin = service.api("admin")
    investigator = _user(service, "inv", "investigator")
    _user(service, "sup", "supervisor")
    now = datetime.now(UTC)
    auth = admin.send("POST", "/api/hotlists/authorizations", {
        "issuer": "Procura di Roma", "reference": "stolen 2026/881", "purpose": "stolen_vehicle",
        "cameras": [service.camera], "starts_at": (now - timedelta(minutes=1)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
    })  # fmt: skip
    hotlist = investigator.send("POST", "/api/hotlists", {"name": "Stolen cars", "cameras": [service.camera]})
    entry = {
        "plate": "AB 123 CD",
        "label": "stolen",
        "source": "report 77",
        "expires_at": (now + timedelta(days=2)).isoformat(),
    }
    investigator.send("POST", f"/api/hotlists/{hotlist['id']}/entries", [entry])
    investigator.send("POST", f"/api/hotlists/{hotlist['id']}/activate", {"authorization_id": auth["id"]})
    _hit(service)

    page = ui.page()
    _login(page, "inv")
    page.get_by_role("link", name="Watchlists", exact=True).click()
    page.get_by_role("link", name="Vehicle hotlists").click()
    expect(page.get_by_test_id("hotlists-table")).to_contain_text("Stolen cars")
    page.get_by_role("link", name="Vehicle authorizations").click()
    expect(page.get_by_test_id("vehicle-authorizations-table")).to_contain_text("stolen 2026/881")

    page.get_by_role("link", name="Plate hits").click()
    row = page.locator("[data-testid=plate-hits-table] tr[data-hit-id]").first
    expect(row).to_contain_text("AB123CD")
    row.get_by_role("button", name="Review").click()
    review = page.get_by_test_id("hit-review")
    expect(review.get_by_test_id("hit-read")).to_have_text("AB123CD")
    crop = review.locator("img.plate-crop")
    expect(crop).to_be_visible()
    page.wait_for_function("() => document.querySelector('img.plate-crop')?.naturalWidth === 160")
    ui.shot(page, "plate-hit")

    def confirm(p: Any) -> None:
        p.get_by_test_id("hit-review").get_by_role("button", name="Confirm").click()
        p.locator("textarea[name=answer]").fill("the crop reads AB123CD")
        p.get_by_role("button", name="OK").click()

    confirm(page)
    expect(review).to_contain_text("inv: confirm")
    confirm(page)  # the same person again: refused by the server, shown, nothing changes
    expect(page.get_by_text("already reviewed")).to_be_visible()
    expect(review.get_by_role("button", name="Dispatch")).to_have_count(0)
    hit_id = investigator.get("/api/hotlists/hits")[0]["id"]
    assert investigator.get(f"/api/hotlists/hits/{hit_id}")["status"] == "pending"

    other = ui.page()
    _login(other, "sup")
    other.goto("/biometrics/plate-hits")
    other.locator(f"tr[data-hit-id='{hit_id}']").get_by_role("button", name="Review").click()
    confirm(other)
    expect(other.get_by_test_id("hit-review")).to_contain_text("confirmed")
    expect(other.get_by_test_id("hit-review").get_by_role("button", name="Dispatch")).to_be_visible()
    assert investigator.get(f"/api/hotlists/hits/{hit_id}")["status"] == "confirmed"

    page.goto("/events")
    expect(page.get_by_test_id("plate-search")).to_be_visible()
    ui.shot(page, "events-plate-search")
