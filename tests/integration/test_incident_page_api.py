"""The incident page's API on a real node (SQLite): the correlation panel with real rows at known distances
and times (inside and outside both bounds, camera access filtering), the linked camera's snapshot and clip
cut from a real recording with its permissions and redaction, the audited one-click evidence lock, and the
per-user display preferences.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from safecity.governance import audit
from safecity.media.storage import ManagedStorage
from safecity.operations.field_units import distance_m
from safecity.operations.models import AlertRow, IncidentRow, PublicReportRow
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.index import SegmentStore, blurred_copy_of, clip_by_id, clip_key, insert_clip
from safecity.recording.recorder import CameraRecorder
from support.api_harness import ApiHarness

LAT, LON = 41.8992, 12.4731
DLAT_PER_M = 1 / 111_195  # metres north -> degrees of latitude


def north(metres: float) -> tuple[float, float]:
    return LAT + metres * DLAT_PER_M, LON


def cam(cid: str, metres: float) -> dict[str, Any]:
    lat, lon = north(metres)
    return {"id": cid, "source": "rtsp://127.0.0.1:9/none", "enabled": False, "lat": lat, "lon": lon}


# the incident's camera, one 200 m away, one 500 m away, and one 100 m away shared with admins only
CAMERAS = [cam("c0", 0), cam("c200", 200), cam("c500", 500), cam("secret", 100)]


def ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


def add_alert(h: ApiHarness, camera: str, at: datetime, title: str, incident_id: int | None = None) -> int:
    with h.node.session() as db:
        row = AlertRow(
            rule_name="r", kind="loitering", severity="high", status="open", dedup_key=f"{camera}:{title}",
            title=title, camera_id=camera, occurrences=1, first_seen=at, last_seen=at + timedelta(minutes=1),
            created_at=at, incident_id=incident_id,
        )  # fmt: skip
        db.add(row)
        db.commit()
        return row.id


def add_report(
    h: ApiHarness, at: datetime, text: str, where: tuple[float, float] | None, camera: str | None = None
) -> int:
    with h.node.session() as db:
        row = PublicReportRow(
            category="theft", description=text, lat=where[0] if where else None,
            lon=where[1] if where else None, camera_id=camera, observed_at=at, status="new", created_at=at,
        )  # fmt: skip
        db.add(row)
        db.commit()
        return row.id


def test_correlation_within_radius_and_window_filtered_by_camera_access(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, cameras=CAMERAS) as h:
        op = h.bearer("operator", cameras=["c0", "c200", "c500"])
        admin = h.bearer("admin")
        iid = ok(
            h.client.post("/api/incidents", json={"title": "Fight", "camera_id": "c0"}, headers=op), 201
        )["id"]
        with h.node.session() as db:
            row = db.get(IncidentRow, iid)
            assert row is not None
            origin = row.origin_at
        m = timedelta(minutes=1)
        inside = add_alert(h, "c200", origin + 10 * m, "inside")  # 200 m, +10 min
        add_alert(h, "c200", origin + 45 * m, "too late")  # 200 m, +45 min (window 30)
        add_alert(h, "c200", origin - 50 * m, "too early")  # ended 49 min before
        add_alert(h, "c500", origin + 5 * m, "too far")  # 500 m (radius 300)
        hidden = add_alert(h, "secret", origin + 5 * m, "not shared")  # 100 m, camera not shared with op
        add_alert(h, "c0", origin, "linked", incident_id=iid)  # this incident's own: not "other"
        near_report = add_report(h, origin - 20 * m, "saw a fight", north(250))  # 250 m, -20 min
        add_report(h, origin - 40 * m, "old news", north(250))  # outside the window
        add_report(h, origin, "far away", north(400))  # outside the radius
        cam_report = add_report(h, origin + 1 * m, "at the camera", None, camera="c200")  # no pin: camera's
        secret_report = add_report(h, origin + 2 * m, "at the secret camera", None, camera="secret")

        got = ok(h.client.get(f"/api/incidents/{iid}/correlated", headers=op))
        assert (got["radius_m"], got["window_min"]) == (300, 30)
        found = [(i["kind"], i["id"]) for i in got["items"]]
        assert found == [
            ("report", cam_report),
            ("alert", inside),
            ("report", near_report),
        ]  # nearest in time
        by_id = {(i["kind"], i["id"]): i for i in got["items"]}
        assert by_id[("alert", inside)]["distance_m"] == pytest.approx(
            distance_m(LAT, LON, *north(200)), abs=0.2
        )
        assert 199 < by_id[("alert", inside)]["distance_m"] < 201
        assert by_id[("report", near_report)]["minutes_from_incident"] == pytest.approx(-20, abs=0.02)
        # placed for the map: a report at its own pin, one without a pin and an alert at their camera's
        assert (by_id[("report", near_report)]["lat"], by_id[("report", cam_report)]["lat"]) == (
            pytest.approx(north(250)[0]),
            pytest.approx(north(200)[0]),
        )
        assert by_id[("alert", inside)]["lat"] == pytest.approx(north(200)[0])

        # an admin sees every camera: the hidden alert and report appear
        everyone = ok(h.client.get(f"/api/incidents/{iid}/correlated", headers=admin))
        ids = {(i["kind"], i["id"]) for i in everyone["items"]}
        assert {("alert", hidden), ("report", secret_report)} <= ids and len(ids) == 5

        # wider bounds bring the far and late ones in
        wide = ok(
            h.client.get(
                f"/api/incidents/{iid}/correlated", params={"radius_m": 600, "minutes": 60}, headers=op
            )
        )
        titles = {i["title"] for i in wide["items"]}
        assert {"too far", "too late", "far away", "old news", "too early"} <= titles
        assert "not shared" not in titles and "linked" not in titles

        # an investigator may read incidents but neither alerts nor reports: told so, given nothing
        inv = ok(h.client.get(f"/api/incidents/{iid}/correlated", headers=h.bearer("investigator")))
        assert (inv["alerts_included"], inv["reports_included"], inv["items"]) == (False, False, [])
        # no incidents:read; an incident on a camera not shared; bad bounds
        assert h.client.get(f"/api/incidents/{iid}/correlated", headers=h.bearer("viewer")).status_code == 403
        secret_inc = ok(
            h.client.post("/api/incidents", json={"title": "x", "camera_id": "secret"}, headers=admin), 201
        )
        assert h.client.get(f"/api/incidents/{secret_inc['id']}/correlated", headers=op).status_code == 404
        bad = h.client.get(f"/api/incidents/{iid}/correlated", params={"radius_m": -1}, headers=op)
        assert bad.status_code == 422


T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def recorded(tmp_path: Path, pets_h264: Path) -> Iterator[ApiHarness]:
    cameras = [{"id": "gate-1", "source": str(pets_h264), "enabled": False, "lat": LAT, "lon": LON}]
    with ApiHarness.start(tmp_path, cameras=cameras) as h:
        assert isinstance(h.node.media, ManagedStorage)
        store = SegmentStore(h.node.engine, h.node.media)
        policy = recording_policy(
            RecordingConfig(enabled=True, segment_seconds=20), "gate-1", str(pets_h264), None
        )
        CameraRecorder(policy, tmp_path / "spool", store.commit, clock=T0.timestamp, pace=False).run()
        yield h


def _actions(h: ApiHarness, action: str) -> list[audit.AuditEntry]:
    with h.node.engine.connect() as conn:
        assert audit.verify(conn).ok
        return audit.entries(conn, limit=100, action=action)


def test_snapshot_clip_redaction_and_one_click_evidence_lock(recorded: ApiHarness) -> None:
    h = recorded
    op, sup, inv = h.bearer("operator"), h.bearer("supervisor"), h.bearer("investigator")
    snap_key = f"snapshots/gate-1/{T0:%Y-%m-%d}/ev-1.jpg"
    h.node.media.put(snap_key, b"\xff\xd8\xff\xe0 a blurred jpeg")
    aid = add_alert(h, "gate-1", T0 + timedelta(seconds=30), "Loitering at the gate")
    with h.node.session() as db:
        row = db.get(AlertRow, aid)
        assert row is not None
        row.first_event_id, row.last_event_id, row.snapshot = "ev-1", "ev-1", snap_key
        row.last_seen = row.first_seen + timedelta(seconds=2)
        db.commit()
    iid = ok(h.client.post("/api/incidents", json={"alert_ids": [aid]}, headers=op), 201)["id"]
    url = f"/api/incidents/{iid}/media"

    before = ok(h.client.get(url, headers=op))
    assert before["snapshot"] == {"alert_id": aid, "event_id": "ev-1", "url": f"/api/media/{snap_key}"}
    assert h.client.get(before["snapshot"]["url"], headers=op).status_code == 200
    assert before["clip"] is None and before["recorded"] is True
    assert before["live_url"] is None  # the camera does not run here: no broken picture

    # cut the clip from the recording (audited); the operator may not see it unblurred
    made = ok(h.client.post(f"/api/incidents/{iid}/clip", headers=op), 201)
    clip = made["clip"]
    assert clip["url"] is None and clip["original_url"] is None and clip["locked"] is False
    original = clip_by_id_checked(h, clip["id"])
    assert original.start <= T0 + timedelta(seconds=25) and original.end >= T0 + timedelta(seconds=40)
    assert [e.subject for e in _actions(h, "incident.clip")] == [f"incident:{iid}"]
    assert h.client.get(f"/api/media/{original.key}", headers=op).status_code == 403  # unblurred: refused
    again = ok(h.client.post(f"/api/incidents/{iid}/clip", headers=op), 201)  # idempotent: same clip
    assert again["clip"]["id"] == clip["id"] and len(_actions(h, "incident.clip")) == 1

    # the investigator (media:unredacted) plays the original, and that viewing is audited
    seen = ok(h.client.get(url, headers=inv))["clip"]
    assert seen["url"] == seen["original_url"] == f"/api/media/{original.key}" and seen["redacted"] is False
    video = h.client.get(seen["url"], headers=inv)
    assert video.status_code == 200 and video.content[4:8] == b"ftyp"
    assert [e.subject for e in _actions(h, "media.view_unredacted")] == [original.key]

    # once a blurred copy exists (an export), the operator plays that one
    copy_id = "b" * 32
    key = clip_key("gate-1", original.start, copy_id)
    h.node.media.put(key, b"blurred mp4")
    with h.node.engine.begin() as conn:
        from dataclasses import replace

        insert_clip(conn, replace(original, id=copy_id, key=key, redacted=True, reason="export"))
        assert blurred_copy_of(conn, original) is not None
    shown = ok(h.client.get(url, headers=op))["clip"]
    assert (shown["url"], shown["redacted"], shown["original_url"]) == (f"/api/media/{key}", True, None)
    assert h.client.get(shown["url"], headers=op).status_code == 200

    # one-click lock: evidence:manage only; the clip and the alert's event, tied to the incident, audited
    assert h.client.post(f"/api/incidents/{iid}/evidence-lock", json={}, headers=op).status_code == 403
    lock = ok(h.client.post(f"/api/incidents/{iid}/evidence-lock", json={}, headers=sup), 201)
    assert lock["items"] == [f"clip:{original.id}", "event:ev-1"]
    expires = datetime.fromisoformat(lock["expires_at"])
    assert timedelta(days=89) < expires - datetime.now(UTC) <= timedelta(days=90)
    entries = _actions(h, "evidence.lock")
    assert [e.subject for e in entries] == [f"incident:{iid}"] and entries[0].actor.startswith("supervisor")
    after = ok(h.client.get(url, headers=op))
    assert after["clip"]["locked"] is True and after["lock_ids"] == [lock["lock_id"]]

    # other callers: no incidents:read, and a camera not shared with them
    assert h.client.get(url, headers=h.bearer("viewer")).status_code == 403
    assert h.client.get(url, headers=h.bearer("operator", cameras=["elsewhere"])).status_code == 404
    elsewhere = h.bearer("supervisor", cameras=["elsewhere"])
    assert h.client.post(f"/api/incidents/{iid}/evidence-lock", json={}, headers=elsewhere).status_code == 404
    # an incident without camera and events has nothing to lock
    bare = ok(h.client.post("/api/incidents", json={"title": "lost child"}, headers=op), 201)["id"]
    assert ok(h.client.get(f"/api/incidents/{bare}/media", headers=op))["clip"] is None
    assert h.client.post(f"/api/incidents/{bare}/evidence-lock", json={}, headers=sup).status_code == 409


def clip_by_id_checked(h: ApiHarness, clip_id: str) -> Any:
    with h.node.engine.connect() as conn:
        found = clip_by_id(conn, clip_id)
    assert found is not None and found.redacted is False and found.reason == "incident"
    return found


def test_time_zone_preference_is_kept_per_user(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, site={"timezone": "Europe/Rome"}) as h:
        a, b = h.bearer("operator"), h.bearer("viewer")
        first = ok(h.client.get("/api/me/preferences", headers=a))
        assert (first["time_zone"], first["site_zone"]) == ("site", "Europe/Rome")
        saved = ok(
            h.client.patch(
                "/api/me/preferences", json={"time_zone": "browser", "sound_volume": 0.4}, headers=a
            )
        )
        assert (saved["time_zone"], saved["sound_volume"]) == ("browser", 0.4)
        kept = ok(h.client.patch("/api/me/preferences", json={"sound_muted": True}, headers=a))
        assert (kept["time_zone"], kept["sound_volume"], kept["sound_muted"]) == ("browser", 0.4, True)
        assert ok(h.client.get("/api/me/preferences", headers=a))["time_zone"] == "browser"
        assert ok(h.client.get("/api/me/preferences", headers=b))["time_zone"] == "site"  # another user's own
        bad = h.client.patch("/api/me/preferences", json={"time_zone": "Mars/Olympus"}, headers=a)
        assert bad.status_code == 422
        assert h.client.get("/api/me/preferences").status_code == 401
        with h.node.session() as db:
            from safecity.accounts.models import UserPreferenceRow

            assert len(db.scalars(select(UserPreferenceRow)).all()) == 1


def test_alert_and_report_lists_filter_by_period(tmp_path: Path) -> None:
    with ApiHarness.start(tmp_path, cameras=CAMERAS) as h:
        op = h.bearer("operator")
        t = datetime(2026, 7, 15, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)
        early = add_alert(h, "c0", t - timedelta(hours=2), "early")  # seen 07:00-07:01 UTC
        during = add_alert(h, "c0", t - timedelta(minutes=30), "during")
        add_report(h, t - timedelta(hours=2), "early report", north(10))
        late_report = add_report(h, t + timedelta(minutes=5), "late report", north(10))
        since = {"since": "2026-07-15T08:00:00Z"}
        alerts = ok(h.client.get("/api/alerts", params=since, headers=op))["items"]
        assert [a["id"] for a in alerts] == [during]
        until = {"until": "2026-07-15T07:30:00+00:00"}  # an offset is honoured
        assert [a["id"] for a in ok(h.client.get("/api/alerts", params=until, headers=op))["items"]] == [
            early
        ]
        reports = ok(h.client.get("/api/reports", params={"status": "new", **since}, headers=op))
        assert [r["id"] for r in reports] == [late_report]
        bad = h.client.get("/api/alerts", params={"since": "yesterday"}, headers=op)
        assert bad.status_code == 422


def test_a_session_waiting_for_its_second_factor_keeps_no_preferences(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from support.api_harness import BASE_URL, TEST_PASSWORD

    with ApiHarness.start(tmp_path, api={"two_factor_roles": ["supervisor"]}) as h:
        h.user("supervisor", username="sue")
        web = TestClient(h.api, base_url=BASE_URL)
        r = web.post("/api/auth/login", json={"username": "sue", "password": TEST_PASSWORD})
        assert r.status_code == 200 and r.json()["second_factor"] == "enrol"
        web.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        assert web.get("/api/me/preferences").status_code == 403
        assert web.patch("/api/me/preferences", json={"time_zone": "browser"}).status_code == 403
