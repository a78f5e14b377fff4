"""Alerts, incidents, dispatch, field units and public reports through the real API (FastAPI TestClient on a
real node: SQLite in tmp_path, the in-process bus, the AlertEngine subscribed by build_app), plus one run of
the real pipeline on the PETS2009 video that must raise a real crowding alert.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, TiffImagePlugin
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.types import Event, EventKind
from support.api_harness import ApiHarness

NOW = datetime.now(UTC)


@pytest.fixture
def h(tmp_path: Path) -> Iterator[ApiHarness]:
    # a disabled camera (no worker, so no camera-dark alert) with a map position
    camera = {"id": "cam1", "source": "rtsp://127.0.0.1:9/none", "enabled": False, "lat": 41.9, "lon": 12.5}
    with ApiHarness.start(tmp_path, cameras=[camera]) as harness:
        yield harness


def crowding(h: ApiHarness, camera: str = "cam1", zone: str = "plaza", at: datetime = NOW) -> None:
    h.node.bus.publish(
        Event(camera_id=camera, kind=EventKind.CROWDING, start=at, end=at, zone_id=zone, count=6)
    )
    assert h.node.bus.drain(10)  # type: ignore[attr-defined]


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def receive_type(ws: Any, wanted: str, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == wanted:
            return dict(msg["data"])
    raise AssertionError(f"no {wanted!r} message")


# --- alerts -----------------------------------------------------------------------------------------


def test_alert_lifecycle_over_the_api(h: ApiHarness) -> None:
    op, viewer = h.bearer("operator"), h.bearer("viewer")
    crowding(h)
    crowding(h, at=NOW + timedelta(seconds=30))
    page = ok(h.client.get("/api/alerts", headers=viewer))
    assert page["total"] == 1
    alert = page["items"][0]
    assert (alert["severity"], alert["status"], alert["occurrences"], alert["count"]) == (
        "high",
        "open",
        2,
        6,
    )
    assert ok(h.client.get("/api/alerts?status=open&severity=high&camera_id=cam1", headers=op))["total"] == 1
    assert ok(h.client.get("/api/alerts?status=closed", headers=op))["total"] == 0
    url = f"/api/alerts/{alert['id']}"
    assert h.client.post(f"{url}/ack", headers=viewer).status_code == 403
    r = h.client.post(f"{url}/close", json={"note": "nothing there"}, headers=op)
    assert r.status_code == 409 and "acknowledge it before closing" in r.json()["detail"]
    acked = ok(h.client.post(f"{url}/ack", headers=op))
    assert acked["status"] == "acknowledged" and acked["acknowledged_by"].startswith("operator")
    r = h.client.post(f"{url}/ack", headers=op)
    assert r.status_code == 409 and "only an open alert" in r.json()["detail"]
    assert h.client.post(f"{url}/assign", json={"user_id": 424242}, headers=op).status_code == 422
    supervisor = h.user("supervisor")
    assigned = ok(h.client.post(f"{url}/assign", json={"user_id": supervisor.id}, headers=op))
    assert assigned["status"] == "assigned" and assigned["assignee_id"] == supervisor.id
    assert h.client.post(f"{url}/close", json={}, headers=op).status_code == 422
    closed = ok(h.client.post(f"{url}/close", json={"note": "stewards opened gate B"}, headers=op))
    assert closed["status"] == "closed" and closed["close_note"] == "stewards opened gate B"
    assert h.client.post(f"{url}/assign", json={"user_id": 1}, headers=op).status_code == 409
    assert ok(h.client.get(url, headers=viewer))["closed_at"] is not None
    assert h.client.get("/api/alerts/2147483647", headers=op).status_code == 404
    assert h.client.get("/api/alerts/2147483648", headers=op).status_code == 422


def test_alerts_follow_the_camera_access_list(h: ApiHarness) -> None:
    crowding(h, camera="cam1")
    crowding(h, camera="cam2")
    only_cam2 = h.bearer("operator", cameras=["cam2"])
    page = ok(h.client.get("/api/alerts", headers=only_cam2))
    assert [a["camera_id"] for a in page["items"]] == ["cam2"] and page["total"] == 1
    assert len(ok(h.client.get("/api/alerts?camera_id=cam2", headers=h.bearer("operator")))["items"]) == 1
    hidden = ok(h.client.get("/api/alerts?camera_id=cam1", headers=h.bearer("operator")))["items"][0]["id"]
    assert h.client.get(f"/api/alerts/{hidden}", headers=only_cam2).status_code == 404
    assert h.client.post(f"/api/alerts/{hidden}/ack", headers=only_cam2).status_code == 404
    assert h.client.get("/api/alerts?camera_id=cam1", headers=only_cam2).status_code == 403


def test_alert_rules_change_what_alerts(h: ApiHarness) -> None:
    sup, op = h.bearer("supervisor"), h.bearer("operator")
    assert h.client.get("/api/alert-rules", headers=op).status_code == 403
    rules = {r["name"]: r for r in ok(h.client.get("/api/alert-rules", headers=sup))}
    assert rules["Crowding"]["severity"] == "high" and rules["Loitering"]["severity"] == "medium"
    assert rules["Camera dark"]["severity"] == "high" and rules["Line crossing"]["enabled"] is False
    ok(
        h.client.patch(
            f"/api/alert-rules/{rules['Crowding']['id']}", json={"severity": "critical"}, headers=sup
        )
    )
    r = h.client.patch(
        f"/api/alert-rules/{rules['Crowding']['id']}", json={"event_kinds": ["x"]}, headers=sup
    )
    assert r.status_code == 422
    new = {"name": "Crowd at cam9", "event_kinds": ["crowding"], "camera_ids": ["cam9"], "severity": "low"}
    ok(h.client.post("/api/alert-rules", json=new, headers=sup), 201)
    assert h.client.post("/api/alert-rules", json=new, headers=sup).status_code == 409
    h.node.operations.alerts.invalidate_rules()  # type: ignore[union-attr]
    crowding(h, camera="cam9")
    items = ok(h.client.get("/api/alerts?camera_id=cam9", headers=op))["items"]
    assert sorted((a["rule_name"], a["severity"]) for a in items) == [
        ("Crowd at cam9", "low"),
        ("Crowding", "critical"),
    ]


# --- incidents, dispatch, field ---------------------------------------------------------------------


def test_incident_dispatch_and_field_unit_flow_with_live_messages(h: ApiHarness) -> None:
    op, sup = h.bearer("operator"), h.bearer("supervisor")
    crowding(h)
    alert_id = ok(h.client.get("/api/alerts", headers=op))["items"][0]["id"]
    field_a, field_b, viewer_user = h.user("field-unit"), h.user("field-unit"), h.user("viewer")
    a_headers = {"Authorization": f"Bearer {h.token(field_a.username)}"}
    b_headers = {"Authorization": f"Bearer {h.token(field_b.username)}"}
    r = h.client.post(
        "/api/units", json={"call_sign": "X-1", "kind": "car", "user_id": viewer_user.id}, headers=sup
    )
    assert r.status_code == 422 and "field-unit role" in r.json()["detail"]
    unit_a = ok(h.client.post("/api/units", json={"call_sign": "Foot-12", "kind": "foot_patrol",
                                                  "user_id": field_a.id}, headers=sup), 201)  # fmt: skip
    ok(
        h.client.post(
            "/api/units", json={"call_sign": "Car-3", "kind": "car", "user_id": field_b.id}, headers=sup
        ),
        201,
    )
    assert h.client.post("/api/units", json={"call_sign": "Z", "kind": "car"}, headers=op).status_code == 403
    assert [u["call_sign"] for u in ok(h.client.get("/api/units", headers=op))] == ["Car-3", "Foot-12"]

    incident = ok(h.client.post("/api/incidents", json={"alert_ids": [alert_id]}, headers=op), 201)
    assert (incident["type"], incident["priority"], incident["status"]) == ("crowding", "high", "new")
    assert incident["alert_ids"] == [alert_id] and len(incident["checklist"]) == 5
    assert ok(h.client.get(f"/api/alerts/{alert_id}", headers=op))["status"] == "acknowledged"
    base = f"/api/incidents/{incident['id']}"
    ok(h.client.post(f"{base}/checklist/confirm", json={"done": True}, headers=op))
    assert h.client.post(f"{base}/checklist/nope", json={"done": True}, headers=op).status_code == 404
    ok(h.client.post(f"{base}/notes", json={"text": "Gate B opened"}, headers=op), 201)

    token_a = h.token(field_a.username, "phone")
    with h.client.websocket_connect(f"/ws?token={token_a}") as ws:
        assert ws.receive_json()["type"] == "hello"
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"  # registered with the hub from here on
        sent = ok(h.client.post(f"{base}/dispatch", json={"unit_id": unit_a["id"], "note": "North gate"},
                                headers=op), 201)  # fmt: skip
        pushed = receive_type(ws, "dispatch")
        assert pushed["id"] == sent["id"] and pushed["incident"]["title"] == incident["title"]
        assert pushed["note"] == "North gate" and pushed["call_sign"] == "Foot-12"
    r = h.client.post(f"{base}/dispatch", json={"unit_id": unit_a["id"]}, headers=op)
    assert r.status_code == 409 and "not available" in r.json()["detail"]

    mine = ok(h.client.get("/api/field/dispatches", headers=a_headers))
    assert [d["id"] for d in mine] == [sent["id"]] and mine[0]["incident"]["id"] == incident["id"]
    assert ok(h.client.get("/api/field/dispatches", headers=b_headers)) == []
    assert ok(h.client.get("/api/field/unit", headers=a_headers))["call_sign"] == "Foot-12"
    status_url = f"/api/field/dispatches/{sent['id']}/status"
    assert h.client.post(status_url, json={"status": "en_route"}, headers=b_headers).status_code == 404
    assert h.client.get("/api/field/dispatches", headers=op).status_code == 403
    ok(h.client.post(status_url, json={"status": "en_route", "lat": 41.9, "lon": 12.5}, headers=a_headers))
    on_scene = ok(
        h.client.post(status_url, json={"status": "on_scene", "note": "40 people"}, headers=a_headers)
    )
    assert on_scene["incident"]["status"] == "on_scene"
    r = h.client.post(status_url, json={"status": "en_route"}, headers=a_headers)
    assert r.status_code == 409 and "already on_scene" in r.json()["detail"]
    ok(h.client.post(status_url, json={"status": "closed"}, headers=a_headers))

    final = ok(h.client.get(base, headers=op))
    assert final["status"] == "resolved"
    d = final["dispatches"][0]
    assert d["status"] == "closed" and 0 < d["to_dispatch_s"] <= d["to_en_route_s"] <= d["to_on_scene_s"]
    kinds = [t["kind"] for t in final["timeline"]]
    assert kinds[:4] == ["created", "alert_linked", "checklist", "note"]
    assert kinds[4:] == [
        "dispatch",
        "status",
        "unit_status",
        "unit_status",
        "status",
        "unit_status",
        "status",
    ]
    unit = next(u for u in ok(h.client.get("/api/units", headers=op)) if u["id"] == unit_a["id"])
    assert (unit["status"], unit["lat"]) == ("available", 41.9)
    closed = ok(h.client.patch(base, json={"status": "closed"}, headers=op))
    assert closed["status"] == "closed"
    r = h.client.patch(base, json={"status": "on_scene"}, headers=op)
    assert r.status_code == 409 and "is closed" in r.json()["detail"]
    assert ok(h.client.get("/api/incidents?status=closed", headers=op))["total"] == 1


def test_incident_permissions_and_validation(h: ApiHarness) -> None:
    op, investigator = h.bearer("operator"), h.bearer("investigator")
    made = ok(
        h.client.post("/api/incidents", json={"title": "Lost boy", "type": "lost_person"}, headers=op), 201
    )
    assert ok(h.client.get(f"/api/incidents/{made['id']}", headers=investigator))["title"] == "Lost boy"
    assert h.client.post("/api/incidents", json={"title": "x"}, headers=investigator).status_code == 403
    assert h.client.post("/api/incidents", json={"type": "aliens"}, headers=op).status_code == 422
    assert h.client.post("/api/incidents", json={"lat": 1.0}, headers=op).status_code == 422
    assert h.client.post("/api/incidents", json={"title": "a\x00b"}, headers=op).status_code == 422
    assert h.client.post("/api/incidents", json={"alert_ids": [99]}, headers=op).status_code == 404
    types = ok(h.client.get("/api/incident-types", headers=investigator))
    assert {t["id"] for t in types} >= {"crowding", "lost_person", "theft", "medical", "suspicious_object"}


# --- public reports ---------------------------------------------------------------------------------


def jpeg_with_gps() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif[0x8825] = {1: "N", 2: tuple(TiffImagePlugin.IFDRational(v) for v in (41, 53, 24))}
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (10, 200, 10)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def form(**kw: str) -> dict[str, str]:
    base = {"category": "theft", "description": "Phone snatched by a cyclist", "lat": "41.9", "lon": "12.5",
            "observed_at": (NOW - timedelta(minutes=20)).isoformat()}  # fmt: skip
    return {**base, **kw}


def submit(client: TestClient, data: dict[str, str], photo: tuple[str, bytes, str] | None = None) -> Any:
    files = {"photo": photo} if photo is not None else None
    return client.post("/api/public/reports", data=data, files=files)


def test_public_report_with_photo_lands_in_triage_without_metadata(h: ApiHarness) -> None:
    options = ok(h.client.get("/api/public/report-options"))
    assert "theft" in options["categories"] and options["max_photo_bytes"] == 5 * 1024 * 1024
    assert options["cameras"] == [{"id": "cam1", "name": "cam1", "lat": 41.9, "lon": 12.5}]
    jpeg = jpeg_with_gps()
    assert b"PhoneMaker" in jpeg
    receipt = ok(submit(h.client, form(contact="+39 333 000"), ("IMG_0001.JPG", jpeg, "image/jpeg")), 201)
    assert receipt["status"] == "received"
    triager = h.bearer("operator")
    assert h.client.get("/api/reports").status_code == 401
    assert h.client.get("/api/reports", headers=h.bearer("viewer")).status_code == 403
    (report,) = ok(h.client.get("/api/reports?status=new", headers=triager))
    assert report["id"] == receipt["id"] and report["has_photo"] and report["contact"] == "+39 333 000"
    photo = h.client.get(f"/api/reports/{report['id']}/photo", headers=triager)
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert b"PhoneMaker" not in photo.content and b"Exif" not in photo.content
    with Image.open(io.BytesIO(photo.content)) as im:
        assert im.size == (80, 60) and len(im.getexif()) == 0
    stored = list((h.node.settings.storage.resolved_media_dir / "reports").rglob("*.jpg"))
    assert len(stored) == 1 and b"PhoneMaker" not in stored[0].read_bytes()

    png = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(png, "PNG")
    renamed = ok(
        submit(h.client, form(), ("holiday.jpg", png.getvalue(), "image/jpeg")), 201
    )  # accepted by content
    assert (
        h.client.get(f"/api/reports/{renamed['id']}/photo", headers=triager).headers["content-type"]
        == "image/png"
    )

    decision = {"action": "incident", "note": "cyclist seen on cam1"}
    incident_made = ok(h.client.post(f"/api/reports/{report['id']}/triage", json=decision, headers=triager))
    assert incident_made["status"] == "incident" and incident_made["incident_id"]
    incident = ok(h.client.get(f"/api/incidents/{incident_made['incident_id']}", headers=triager))
    assert (incident["type"], incident["source"], incident["report_ids"]) == (
        "theft",
        "report",
        [report["id"]],
    )
    r = h.client.post(f"/api/reports/{report['id']}/triage", json={"action": "dismiss"}, headers=triager)
    assert r.status_code == 409
    dismissed = ok(
        h.client.post(f"/api/reports/{renamed['id']}/triage", json={"action": "dismiss"}, headers=triager)
    )
    assert dismissed["status"] == "dismissed"


@pytest.mark.parametrize(
    ("data", "photo", "status", "reason"),
    [
        (form(), ("notes.jpg", b"just some text, not a picture", "image/jpeg"), 415, "JPEG or PNG"),
        (form(), ("big.jpg", os.urandom(5 * 1024 * 1024 + 1), "image/jpeg"), 413, "larger than"),
        (form(category="ufo"), None, 422, "category"),
        (form(lat="", lon=""), None, 422, "say where"),
        (form(lat="95"), None, 422, "lat"),
        (form(description="x" * 2001), None, 422, "description"),
        (form(observed_at=(NOW + timedelta(hours=2)).isoformat()), None, 422, "future"),
        (form(observed_at=(NOW - timedelta(days=8)).isoformat()), None, 422, "7 days"),
        (form(observed_at="yesterday"), None, 422, "observed_at"),
        (form(lat="", lon="", camera_id="cam-nope"), None, 422, "no camera"),
        (form(extra="1"), None, 422, "extra"),
    ],
)
def test_public_report_rejections_are_4xx_with_a_reason(
    h: ApiHarness, data: dict[str, str], photo: tuple[str, bytes, str] | None, status: int, reason: str
) -> None:
    r = submit(h.client, data, photo)
    assert r.status_code == status, r.text
    assert reason in r.json()["detail"] or reason in str(r.json().get("errors"))


def test_public_report_needs_a_form_and_is_rate_limited(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, operations={"reports": {"rate_limit": 3}}) as h:
        r = h.client.post("/api/public/reports", json=form())
        assert r.status_code == 415  # JSON is refused (and counts as an attempt)
        assert submit(h.client, form(lat="", lon="", camera_id="")).status_code == 422
        ok(submit(h.client, form()), 201)
        r = submit(h.client, form())
        assert r.status_code == 429 and 0 < int(r.headers["Retry-After"]) <= 600
        assert "too many reports" in r.json()["detail"]


# --- the real pipeline ------------------------------------------------------------------------------

PETS_CONFIG = """
storage: {{data_dir: {data}}}
models: {{cache_dir: {models}}}
cameras:
  - id: pets
    source: {video}
    fps: 10
    zones:
      - id: west
        polygon: [[120, 190], [420, 180], [420, 420], [120, 330]]
        classes: [person]
        crowding: {{threshold: 2, min_duration_s: 1}}
"""


@pytest.mark.slow
@pytest.mark.models
def test_real_pipeline_raises_a_crowding_alert(tmp_path: Path, pets_video: Path, nanodet_model: Path) -> None:
    from safecity.app import build_app
    from safecity.config import parse_settings
    from safecity.operations.models import AlertRow

    settings = parse_settings(
        PETS_CONFIG.format(data=tmp_path, models=nanodet_model.parent, video=pets_video)
    )
    node = build_app(settings)
    node.start()
    try:
        assert node.wait(timeout=300), "the pipeline did not finish the 80 s file in 5 minutes"
    finally:
        node.close()  # drains the bus through the alert engine
    assert node.workers["pets"].metrics.error is None
    assert node.operations is not None and node.operations.alerts.raised >= 1
    from safecity.store import make_engine

    engine = make_engine(settings.storage.resolved_database_url)
    try:
        with Session(engine) as db:
            rows = list(db.scalars(select(AlertRow).where(AlertRow.kind == "crowding")))
    finally:
        engine.dispose()
    assert rows, "no crowding alert from the real video"
    first = rows[0]
    assert (first.camera_id, first.zone_id, first.severity, first.status) == ("pets", "west", "high", "open")
    assert first.count is not None and first.count >= 2 and first.snapshot is not None
    assert (tmp_path / "media" / first.snapshot).is_file()
    # one crowded spell is one event; repeats within the 300 s cooldown merge into the same alert
    assert len(rows) == 1 and first.occurrences >= 1
