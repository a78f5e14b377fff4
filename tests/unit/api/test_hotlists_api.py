"""The hotlist API with real users: authorization (scope vehicles) recorded by one person and used by
another, a hotlist refused under an expired authorization, a hit confirmed by two different people before
anyone may act on it (the same person twice: 403), the plate crop served only to reviewers, audited."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from safecity.governance import audit
from safecity.plates.runtime import Plates, PlateStep
from safecity.types import Event
from safecity.vision.plate_stage import TrackPlate
from safecity.vision.plates import PlateRead
from safecity.vision.plates_config import PlatesConfig
from support.api_harness import ApiHarness

CAM = "gate"


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[ApiHarness]:
    with ApiHarness.start(tmp_path) as h:
        yield h


def _iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def _authorization(h: ApiHarness, headers: dict[str, str], start: timedelta, end: timedelta) -> int:
    body = {
        "issuer": "Procura di Roma",
        "reference": f"stolen {start}",
        "purpose": "stolen_vehicle",
        "cameras": [CAM],
        "starts_at": _iso(start),
        "ends_at": _iso(end),
    }
    r = h.client.post("/api/hotlists/authorizations", json=body, headers=headers)
    assert r.status_code == 201, r.text
    assert r.json()["scope"] == "vehicles"
    return int(r.json()["id"])


def _hotlist(h: ApiHarness, headers: dict[str, str], name: str) -> int:
    r = h.client.post("/api/hotlists", json={"name": name, "cameras": [CAM]}, headers=headers)
    assert r.status_code == 201, r.text
    hotlist_id = int(r.json()["id"])
    entry = {
        "plate": "ab 123 cd",
        "label": "stolen",
        "source": "report 77",
        "expires_at": _iso(timedelta(days=3)),
    }
    r = h.client.post(f"/api/hotlists/{hotlist_id}/entries", json=[entry], headers=headers)
    assert r.status_code == 201 and r.json()[0]["plate"] == "AB123CD", r.text
    return hotlist_id


def test_hotlist_hit_two_person_flow_through_the_api(harness: ApiHarness, tmp_path: Path) -> None:
    h = harness
    clerk, first, second = h.bearer("admin"), h.bearer("investigator"), h.bearer("supervisor")
    operator = h.bearer("operator")
    assert h.client.get("/api/hotlists", headers=operator).status_code == 403

    expired = _authorization(h, clerk, -timedelta(hours=2), -timedelta(hours=1))
    in_force = _authorization(h, clerk, -timedelta(minutes=1), timedelta(hours=4))
    hotlist_id = _hotlist(h, first, "stolen vehicles")
    r = h.client.post(
        f"/api/hotlists/{hotlist_id}/activate", json={"authorization_id": expired}, headers=first
    )
    assert r.status_code == 403 and "in force" in r.json()["detail"]
    r = h.client.post(
        f"/api/hotlists/{hotlist_id}/activate", json={"authorization_id": in_force}, headers=clerk
    )
    assert r.status_code == 403 and "separation of duties" in r.json()["detail"]
    r = h.client.post(
        f"/api/hotlists/{hotlist_id}/activate", json={"authorization_id": in_force}, headers=first
    )
    assert r.status_code == 200 and r.json()["status"] == "active"
    # the face API neither lists nor revokes a vehicle authorization
    assert all(
        a["id"] != in_force for a in h.client.get("/api/biometrics/authorizations", headers=first).json()
    )

    plates = Plates(PlatesConfig(enabled=True), tmp_path, h.node.session, h.node.media, live=h.node.live)
    events: list[Event] = []
    step = PlateStep(CAM, None, plates, events.append)  # type: ignore[arg-type]
    crop = np.full((24, 96, 3), 180, np.uint8)
    read = PlateRead("AB123CD", "AB123CD", 0.88, "generic", (0, 0, 96, 24))
    step.record(TrackPlate(5, read, crop, "approaching"), datetime.now(UTC).timestamp())
    assert h.client.get("/api/hotlists/hits", headers=operator).status_code == 403
    (hit,) = h.client.get("/api/hotlists/hits", headers=first).json()
    assert (hit["plate"], hit["listed"], hit["fuzzy"], hit["status"]) == (
        "AB123CD",
        "AB123CD",
        False,
        "pending",
    )
    url = f"/api/hotlists/hits/{hit['id']}"
    r = h.client.get(f"{url}/crop", headers=second)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg" and r.content[:2] == b"\xff\xd8"

    r = h.client.post(f"{url}/review", json={"confirm": True, "note": "crop reads AB123CD"}, headers=first)
    assert r.status_code == 200 and r.json()["status"] == "pending"
    r = h.client.post(f"{url}/review", json={"confirm": True, "note": "again"}, headers=first)
    assert r.status_code == 403 and "already reviewed" in r.json()["detail"]
    r = h.client.post(f"{url}/dispatch", json={"note": "unit 4 stops the car"}, headers=first)
    assert r.status_code == 403 and "2 different reviewers" in r.json()["detail"]
    r = h.client.post(f"{url}/review", json={"confirm": True, "note": "agree"}, headers=second)
    assert r.json()["status"] == "confirmed"
    r = h.client.post(f"{url}/dispatch", json={"note": "unit 4 stops the car"}, headers=second)
    assert r.status_code == 200 and r.json()["status"] == "dispatched"
    detail = h.client.get(url, headers=first).json()
    assert [rv["decision"] for rv in detail["reviews"]] == ["confirm", "confirm"]

    with h.node.engine.connect() as conn:
        actions = [e.action for e in audit.entries(conn, limit=500)]
    for action in ("plates.hotlist.create", "plates.hotlist.activate", "plates.hit", "plates.hit.view",
                   "plates.hit.review", "plates.hit.dispatch"):  # fmt: skip
        assert action in actions, action

    # revoked: the hotlist stops and nothing more is raised
    r = h.client.post(
        f"/api/hotlists/authorizations/{in_force}/revoke", json={"reason": "withdrawn"}, headers=clerk
    )
    assert r.status_code == 200
    plates.hotlists.refresh()  # type: ignore[union-attr]
    step.record(TrackPlate(6, read, crop, ""), datetime.now(UTC).timestamp())
    assert len(h.client.get("/api/hotlists/hits", headers=first).json()) == 1
    (listed,) = h.client.get("/api/hotlists", headers=first).json()
    assert listed["status"] == "stopped" and listed["stop_reason"] == "authorization revoked"
