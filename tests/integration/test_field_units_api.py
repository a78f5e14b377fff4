"""Field units through the real API (TestClient on a real node, SQLite): positions and staleness, the
nearest available unit, idempotent replays of the field app's requests, messages with a face-blurred
photo pushed live both ways, and escalation of an unanswered dispatch and an unacknowledged critical alert.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from safecity.governance import audit
from safecity.operations.field_units import distance_m
from safecity.operations.models import FieldRequestRow, TimelineRow
from support.api_harness import ApiHarness

# the incident is at the camera (Piazza Navona); units stand 150 m, 600 m and 2 km away
LAT, LON = 41.8992, 12.4731
CAMERA = {"id": "cam1", "source": "rtsp://127.0.0.1:9/none", "enabled": False, "lat": LAT, "lon": LON}
NEAR, MID, FAR = (41.9005, 12.4731), (41.9046, 12.4731), (41.9172, 12.4731)


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture
def h(tmp_path: Path) -> Iterator[ApiHarness]:
    field = {"dispatch_ack_s": 1, "critical_alert_ack_s": 1, "escalation_every_s": 0.2}
    with ApiHarness.start(tmp_path, cameras=[CAMERA], field=field) as harness:
        yield harness


def unit(h: ApiHarness, admin: dict[str, str], call_sign: str) -> tuple[int, dict[str, str], str]:
    """A unit linked to a new field-unit account: (unit id, its headers, its username)."""
    user = h.user("field-unit")
    body = {"call_sign": call_sign, "kind": "foot_patrol", "user_id": user.id}
    created = ok(h.client.post("/api/units", json=body, headers=admin), 201)
    token = {"Authorization": f"Bearer {h.token(user.username)}"}
    return int(created["id"]), token, user.username


def position(h: ApiHarness, who: dict[str, str], where: tuple[float, float], **extra: Any) -> Any:
    body = {"lat": where[0], "lon": where[1]} | extra
    return h.client.post("/api/field/position", json=body, headers=who)


def incident(h: ApiHarness, op: dict[str, str]) -> int:
    body = {"title": "Pickpocket", "type": "theft", "camera_id": "cam1"}
    created = ok(h.client.post("/api/incidents", json=body, headers=op), 201)
    assert (created["lat"], created["lon"]) == (CAMERA["lat"], CAMERA["lon"])  # from the camera
    return int(created["id"])


def test_nearest_unit_by_distance_with_stale_units_last(h: ApiHarness) -> None:
    admin, op = h.bearer("supervisor"), h.bearer("operator")
    far_id, far, _ = unit(h, admin, "Far-1")
    mid_id, mid, _ = unit(h, admin, "Mid-1")
    near_id, near, _ = unit(h, admin, "Near-1")
    _none_id, _none, _ = unit(h, admin, "Nopos-1")
    ok(position(h, far, FAR))
    ok(position(h, mid, MID))
    old = (datetime.now(UTC) - timedelta(minutes=3)).isoformat()
    stale = ok(position(h, near, NEAR, at=old))  # nearest, but its last fix is 3 minutes old
    assert stale["position_at"].startswith(old[:16])
    iid = incident(h, op)

    found = ok(h.client.get(f"/api/incidents/{iid}/nearest-units", headers=op))
    order = [(u["unit"]["call_sign"], u["stale"]) for u in found["units"]]
    assert order == [("Mid-1", False), ("Far-1", False), ("Near-1", True), ("Nopos-1", True)]
    expected = distance_m(LAT, LON, *MID)
    assert found["units"][0]["distance_m"] == pytest.approx(expected) and 500 < expected < 700

    # a fresh fix makes Near-1 the nearest; an older fix sent late does not move it back
    ok(position(h, near, NEAR))
    ok(position(h, near, FAR, at=old))
    found = ok(h.client.get(f"/api/incidents/{iid}/nearest-units", headers=op))
    assert found["units"][0]["unit"]["id"] == near_id and found["units"][0]["distance_m"] < 200

    # one-click dispatch of the first; it leaves the list of available units
    ok(h.client.post(f"/api/incidents/{iid}/dispatch", json={"unit_id": near_id}, headers=op), 201)
    found = ok(h.client.get(f"/api/incidents/{iid}/nearest-units", headers=op))
    assert [u["unit"]["id"] for u in found["units"]][:2] == [mid_id, far_id]

    # bad input is a 4xx with a reason; the position route is the unit's own
    r = position(h, near, (95.0, 0.0))
    assert r.status_code == 422 and "lat" in r.text
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert position(h, near, NEAR, at=future).status_code == 422
    assert position(h, op, NEAR).status_code == 403


def test_replayed_requests_act_once(h: ApiHarness) -> None:
    admin, op = h.bearer("supervisor"), h.bearer("operator")
    uid, me, _ = unit(h, admin, "Foot-1")
    iid = incident(h, op)
    did = ok(h.client.post(f"/api/incidents/{iid}/dispatch", json={"unit_id": uid}, headers=op), 201)["id"]

    def send(method: str, path: str, key: str, **kw: Any) -> Any:
        return h.client.request(method, path, headers=me | {"Idempotency-Key": key}, **kw)

    first = ok(
        send("POST", f"/api/field/dispatches/{did}/status", "k-status-0001", json={"status": "en_route"})
    )
    ok(send("POST", f"/api/field/dispatches/{did}/status", "k-status-0002", json={"status": "on_scene"}))
    # the queue replays the first request (its answer was lost): the first answer comes back, no 409
    again = ok(
        send("POST", f"/api/field/dispatches/{did}/status", "k-status-0001", json={"status": "en_route"})
    )
    assert again == first and again["status"] == "en_route"
    for _ in range(3):
        ok(send("POST", "/api/field/position", "k-pos-00001", json={"lat": NEAR[0], "lon": NEAR[1]}))
        ok(send("POST", f"/api/field/dispatches/{did}/messages", "k-msg-00001", data={"text": "on it"}), 201)

    detail = ok(h.client.get(f"/api/incidents/{iid}", headers=op))
    kinds = [(t["kind"], t["message"]) for t in detail["timeline"]]
    assert kinds.count(("unit_status", "Foot-1 en_route".replace("_", " "))) == 1
    assert [m for k, m in kinds if k == "message"] == ["on it"]
    assert detail["status"] == "on_scene"
    with h.node.session() as db:
        assert db.scalar(select(func.count()).select_from(FieldRequestRow)) == 4
    # another user's key is theirs: the same key from the operator is a new request
    ok(h.client.post(f"/api/incidents/{iid}/messages", data={"text": "copy"},
                     headers=op | {"Idempotency-Key": "k-msg-00001"}), 201)  # fmt: skip
    bad = send("POST", "/api/field/position", "short", json={"lat": 1, "lon": 1})
    assert bad.status_code == 422


def _faces(data: bytes) -> int:
    from safecity.media.face_redaction import default_redactor

    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    boxes = default_redactor().face_boxes(image)
    assert boxes is not None, "CenterFace is not installed (safecity models install)"
    return len(boxes)


def test_message_with_photo_blurred_live_both_ways(h: ApiHarness, shared_data: Path) -> None:
    admin, op = h.bearer("supervisor"), h.bearer("operator")
    uid, me, _ = unit(h, admin, "Foot-1")
    investigator = h.bearer("investigator")
    iid = incident(h, op)
    did = ok(h.client.post(f"/api/incidents/{iid}/dispatch", json={"unit_id": uid}, headers=op), 201)["id"]
    photo = (shared_data / "faces" / "group-6-faces.jpg").read_bytes()
    assert _faces(photo) >= 5

    with (
        h.client.websocket_connect("/ws", headers=op) as op_ws,
        h.client.websocket_connect("/ws", headers=me) as unit_ws,
    ):
        for ws in (op_ws, unit_ws):
            assert ws.receive_json()["type"] == "hello"
        files = {"photo": ("crowd.jpg", photo, "image/jpeg")}
        url = f"/api/field/dispatches/{did}/messages"
        sent = ok(h.client.post(url, data={"text": "suspects"}, files=files, headers=me), 201)
        assert sent["has_photo"] and sent["origin"] == "unit" and sent["call_sign"] == "Foot-1"
        got = _receive(op_ws, "message")
        assert got["id"] == sent["id"] and got["text"] == "suspects"
        assert _receive(unit_ws, "message")["id"] == sent["id"]  # the unit sees its own message too
        reply = ok(
            h.client.post(f"/api/incidents/{iid}/messages", data={"text": "stay put"}, headers=op), 201
        )
        assert _receive(unit_ws, "message") == reply and reply["origin"] == "control"

    # the operator and the unit get the blurred photo; the faces are gone
    for url, who in ((f"/api/incidents/{iid}/messages/{sent['id']}/photo", op),
                     (f"/api/field/dispatches/{did}/messages/{sent['id']}/photo", me)):  # fmt: skip
        r = h.client.get(url, headers=who)
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert _faces(r.content) <= 1
        denied = h.client.get(url, params={"original": "true"}, headers=who)
        assert denied.status_code == 403 and "media:unredacted" in denied.text
    # an investigator may see the original, and that view is audited
    orig = h.client.get(
        f"/api/incidents/{iid}/messages/{sent['id']}/photo?original=true", headers=investigator
    )
    assert orig.status_code == 200
    assert _faces(orig.content) >= 5
    with h.node.engine.connect() as conn:
        seen = audit.entries(conn, action="media.view_unredacted")
    assert [(e.actor, e.subject) for e in seen] == [(ANY, f"messages/{iid}/{_photo_id(h, sent['id'])}.jpg")]

    # messages are in the timeline; a unit not on the incident cannot read or write them
    timeline = ok(h.client.get(f"/api/incidents/{iid}", headers=op))["timeline"]
    assert [t["message"] for t in timeline if t["kind"] == "message"] == ["suspects", "stay put"]
    _, other, _ = unit(h, admin, "Foot-2")
    assert h.client.get(f"/api/field/dispatches/{did}/messages", headers=other).status_code == 404
    listed = ok(h.client.get(f"/api/field/dispatches/{did}/messages", headers=me))
    assert [m["text"] for m in listed] == ["suspects", "stay put"]
    # not an image: 415 with a reason; an empty message: 409
    gif = {"photo": ("x.jpg", b"GIF89a....", "image/jpeg")}
    r = h.client.post(f"/api/incidents/{iid}/messages", files=gif, headers=op)
    assert r.status_code == 415 and "photo" in r.text
    assert h.client.post(f"/api/incidents/{iid}/messages", data={"text": " "}, headers=op).status_code == 409


def _photo_id(h: ApiHarness, message_id: int) -> str:
    with h.node.session() as db:
        row = db.get(TimelineRow, message_id)
        assert row is not None
        return str(row.data["photo"])


def _receive(ws: Any, wanted: str, limit: int = 30) -> dict[str, Any]:
    for _ in range(limit):
        msg = ws.receive_json()
        if msg["type"] == wanted:
            return dict(msg["data"])
    raise AssertionError(f"no {wanted!r} message")


def test_unanswered_dispatch_escalates_once_with_next_unit(h: ApiHarness) -> None:
    admin, op = h.bearer("supervisor"), h.bearer("operator")
    first_id, first, _ = unit(h, admin, "Near-1")
    _, second, _ = unit(h, admin, "Mid-1")
    ok(position(h, first, NEAR))
    ok(position(h, second, MID))
    iid = incident(h, op)
    with h.client.websocket_connect("/ws", headers=op) as ws:
        assert ws.receive_json()["type"] == "hello"
        ok(h.client.post(f"/api/incidents/{iid}/dispatch", json={"unit_id": first_id}, headers=op), 201)
        got = _receive(ws, "dispatch_escalation")
    assert got["incident_id"] == iid and got["call_sign"] == "Near-1"
    assert got["suggested"]["call_sign"] == "Mid-1"
    time.sleep(0.6)  # a few more checks: still one escalation
    with h.node.session() as db:
        entries = db.scalars(select(TimelineRow).where(TimelineRow.kind == "escalation")).all()
        assert len(entries) == 1 and "Mid-1" in entries[0].message


def test_acknowledged_dispatch_does_not_escalate(h: ApiHarness) -> None:
    admin, op = h.bearer("supervisor"), h.bearer("operator")
    uid, me, _ = unit(h, admin, "Foot-1")
    iid = incident(h, op)
    did = ok(h.client.post(f"/api/incidents/{iid}/dispatch", json={"unit_id": uid}, headers=op), 201)["id"]
    ok(h.client.post(f"/api/field/dispatches/{did}/status", json={"status": "en_route"}, headers=me))
    time.sleep(1.8)
    with h.node.session() as db:
        assert (
            db.scalar(select(func.count()).select_from(TimelineRow).where(TimelineRow.kind == "escalation"))
            == 0
        )


def test_unacknowledged_critical_alert_escalates_acknowledged_one_does_not(h: ApiHarness) -> None:
    from safecity.types import Event, EventKind

    sup, op = h.bearer("supervisor"), h.bearer("operator")
    rule = {"name": "Fight", "event_kinds": ["loitering"], "severity": "critical", "dedup_by": ["zone_id"]}
    ok(h.client.post("/api/alert-rules", json=rule, headers=sup), 201)
    now = datetime.now(UTC)
    with h.client.websocket_connect("/ws", headers=op) as ws:
        assert ws.receive_json()["type"] == "hello"
        for zone in ("a", "b"):
            h.node.bus.publish(
                Event(camera_id="cam1", kind=EventKind.LOITERING, start=now, end=now, zone_id=zone)
            )
        assert h.node.bus.drain(10)
        alerts = ok(h.client.get("/api/alerts", params={"severity": "critical"}, headers=op))["items"]
        assert len(alerts) == 2
        acked = alerts[0]["id"]
        ok(h.client.post(f"/api/alerts/{acked}/ack", json={}, headers=op))
        got = _receive(ws, "alert_escalation")
    assert got["alert_id"] == alerts[1]["id"] and got["severity"] == "critical"
    time.sleep(0.6)
    with h.node.session() as db:
        from safecity.operations.models import AlertRow

        stamped = db.scalars(select(AlertRow.id).where(AlertRow.escalated_at.is_not(None))).all()
    assert stamped == [alerts[1]["id"]]


def test_disabling_a_camera_closes_its_dark_alert(tmp_path: Path) -> None:
    from safecity.operations.rules import Observation

    cams = [CAMERA, CAMERA | {"id": "cam2"}]
    with ApiHarness.start(tmp_path, cameras=cams) as h:
        assert h.node.operations is not None
        for cam in ("cam1", "cam2"):
            h.node.operations.alerts.observe(Observation.camera_dark(cam, datetime.now(UTC)))
        admin = h.bearer("admin")
        dark = ok(h.client.get("/api/alerts", params={"kind": "camera_dark"}, headers=admin))["items"]
        assert sorted(a["camera_id"] for a in dark if a["status"] == "open") == ["cam1", "cam2"]
        ok(h.client.delete("/api/cameras/cam1", headers=admin))
        after = {a["camera_id"]: a for a in ok(h.client.get("/api/alerts", headers=admin))["items"]}
        assert after["cam1"]["status"] == "closed" and after["cam1"]["close_note"] == "camera disabled"
        assert after["cam2"]["status"] == "open"  # another camera's alert stays


def test_empty_timeline_says_whether_the_camera_records(tmp_path: Path) -> None:
    on = CAMERA | {"id": "rec", "recording": {"enabled": True}}
    with ApiHarness.start(tmp_path, cameras=[CAMERA, on], recording={"other_codecs": "refuse"}) as h:
        op = h.bearer("operator")
        now = datetime.now(UTC)
        window = {"since": (now - timedelta(hours=1)).isoformat(), "until": now.isoformat()}
        off = ok(h.client.get("/api/recordings/cam1/timeline", params=window, headers=op))
        assert (off["segments"], off["recording_enabled"]) == ([], False)
        rec = ok(h.client.get("/api/recordings/rec/timeline", params=window, headers=op))
        assert (rec["recording_enabled"], rec["other_codecs"]) == (True, "refuse")
