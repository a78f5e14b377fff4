"""Event search and snapshots through the API: filters, paging, camera access lists, path escapes."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.types import Event, EventKind
from support.api_harness import ApiHarness

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _events(h: ApiHarness) -> list[Event]:
    events = []
    for i in range(12):
        cam = "gate" if i % 3 else "plaza"
        kind = EventKind.LINE_CROSSING if i % 2 else EventKind.ZONE_ENTER
        start = T0 + timedelta(minutes=i)
        line = "door" if kind is EventKind.LINE_CROSSING else None
        label = "person" if i < 8 else "car"
        e = Event(cam, kind, start, start, label=label, track_id=i, line_id=line)
        key = snapshot_key(e)
        h.node.media.put(key, encode_jpeg(np.full((8, 8, 3), i * 10, np.uint8)))
        events.append(replace(e, snapshot=key))
    h.node.store.append(events)
    return events


def test_filters_paging_and_time_window(harness: ApiHarness) -> None:
    events = _events(harness)
    hd = harness.bearer("viewer")
    page = harness.client.get("/api/events", params={"limit": 5}, headers=hd).json()
    assert page["total"] == 12 and len(page["items"]) == 5
    assert [e["id"] for e in page["items"]] == [e.id for e in reversed(events)][:5]  # newest first
    nxt = harness.client.get("/api/events", params={"limit": 5, "offset": 10}, headers=hd).json()
    assert [e["id"] for e in nxt["items"]] == [events[1].id, events[0].id]
    q = {"camera_id": "gate", "kind": "line_crossing", "label": "person", "line_id": "door"}
    got = harness.client.get("/api/events", params=q, headers=hd).json()
    assert {e["track_id"] for e in got["items"]} == {1, 5, 7}
    window = {"since": (T0 + timedelta(minutes=3)).isoformat(), "until": "2025-03-01T12:06:00"}  # naive = UTC
    got = harness.client.get("/api/events", params=window, headers=hd).json()
    assert sorted(e["track_id"] for e in got["items"]) == [3, 4, 5]
    one = harness.client.get(f"/api/events/{events[4].id}", headers=hd).json()
    assert one["snapshot_url"] == f"/api/media/{events[4].snapshot}" and one["kind"] == "zone_enter"
    assert harness.client.get("/api/events/nope", headers=hd).status_code == 404
    assert harness.client.get("/api/events", params={"kind": "teleport"}, headers=hd).status_code == 422
    far = {"since": "0001-01-01T00:00:00+05:00"}
    assert harness.client.get("/api/events", params=far, headers=hd).status_code == 422


def test_camera_access_list_filters_events_and_media(harness: ApiHarness) -> None:
    events = _events(harness)
    gate_only = harness.bearer("operator", cameras=["gate"])
    got = harness.client.get("/api/events", params={"limit": 100}, headers=gate_only).json()
    assert got["total"] == 8 and {e["camera_id"] for e in got["items"]} == {"gate"}
    r = harness.client.get("/api/events", params={"camera_id": "plaza"}, headers=gate_only)
    assert r.status_code == 403 and "plaza" in r.json()["detail"]
    plaza = next(e for e in events if e.camera_id == "plaza")
    assert harness.client.get(f"/api/events/{plaza.id}", headers=gate_only).status_code == 404
    assert harness.client.get(f"/api/media/{plaza.snapshot}", headers=gate_only).status_code == 404
    gate = next(e for e in events if e.camera_id == "gate")
    r = harness.client.get(f"/api/media/{gate.snapshot}", headers=gate_only)
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.content[:2] == b"\xff\xd8" and r.content == harness.node.media.get(gate.snapshot or "")


def test_media_needs_media_read_and_refuses_path_escapes(harness: ApiHarness, tmp_path: Path) -> None:
    events = _events(harness)
    viewer = harness.bearer("viewer")  # no media:read
    assert harness.client.get(f"/api/media/{events[0].snapshot}", headers=viewer).status_code == 403
    hd = harness.bearer("investigator")
    secret = harness.node.settings.storage.data_dir / "safecity.db"
    assert secret.is_file()
    for path in (
        "/api/media/../safecity.db",
        "/api/media/snapshots/../../safecity.db",
        "/api/media/snapshots/%2e%2e/%2e%2e/safecity.db",
        "/api/media/snapshots/gate/..%2f..%2f..%2fsafecity.db",
        "/api/media//etc/passwd",
        "/api/media/snapshots/gate/%00.jpg",
        "/api/media/snapshots\\..\\..\\safecity.db",
    ):
        r = harness.client.get(path, headers=hd)
        assert r.status_code in (400, 404), (path, r.status_code)
        assert b"SQLite" not in r.content and isinstance(r.json()["detail"], str)
    assert harness.client.get("/api/media/snapshots/gate/2025-03-01/none.jpg", headers=hd).status_code == 404
    assert harness.client.get("/api/media/snapshots/gate", headers=hd).status_code == 404


def test_listed_events_read_as_each_event_does(harness: ApiHarness) -> None:
    # the list builds its items straight from the rows, the single-event route through `Event` and the
    # bus codec: both must show an event the same way (times, kinds, optional fields, snapshot URL)
    events = _events(harness)
    cet = timezone(timedelta(hours=1))
    odd = [
        Event("gate", EventKind.CROWDING, datetime(2025, 3, 2, 9, 1, 2, 345678, tzinfo=cet),
              datetime(2025, 3, 2, 9, 1, 3, tzinfo=cet), count=7, score=0.1, zone_id="plaza"),
        Event("plaza", EventKind.LINE_CROSSING, T0, T0 + timedelta(microseconds=1), label="car", track_id=0,
              line_id="door", direction="in", score=1e-7),
    ]  # fmt: skip
    harness.node.store.append(odd)
    hd = harness.bearer("viewer")
    page = harness.client.get("/api/events", params={"limit": 100}, headers=hd).json()
    assert page["total"] == len(events) + len(odd) == len(page["items"])
    for item in page["items"]:
        assert item == harness.client.get(f"/api/events/{item['id']}", headers=hd).json()
    assert {i["snapshot_url"] is None for i in page["items"]} == {True, False}
