"""Segment playback (media:unredacted, Range requests, one audit entry per viewing) and the evidence lock
routes, on the real API (SQLite in tmp_path) with a real recorded H.264 camera."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from safecity.governance import audit
from safecity.media.storage import ManagedStorage
from safecity.recording.config import RecordingConfig, recording_policy
from safecity.recording.index import SegmentStore
from safecity.recording.recorder import CameraRecorder
from support.api_harness import ApiHarness

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


@pytest.fixture
def harness(tmp_path: Path, pets_h264: Path) -> Iterator[ApiHarness]:
    cameras = [{"id": "gate-1", "source": str(pets_h264), "enabled": False}]
    with ApiHarness.start(tmp_path, cameras=cameras) as h:
        assert isinstance(h.node.media, ManagedStorage)
        store = SegmentStore(h.node.engine, h.node.media)
        policy = recording_policy(
            RecordingConfig(enabled=True, segment_seconds=20), "gate-1", str(pets_h264), None
        )
        CameraRecorder(policy, tmp_path / "spool", store.commit, clock=T0.timestamp, pace=False).run()
        yield h


def _segments(h: ApiHarness) -> list[dict[str, object]]:
    window = {
        "since": (T0 - timedelta(minutes=1)).isoformat(),
        "until": (T0 + timedelta(minutes=5)).isoformat(),
    }
    r = h.client.get("/api/recordings/gate-1/timeline", params=window, headers=h.bearer("operator"))
    assert r.status_code == 200, r.text
    segments: list[dict[str, object]] = r.json()["segments"]
    assert segments
    return segments


def _views(h: ApiHarness) -> list[str]:
    with h.node.engine.connect() as conn:
        assert audit.verify(conn).ok
        return [e.subject for e in audit.entries(conn, limit=100, action="recording.view")]


def test_a_range_not_starting_at_zero_is_audited_too(harness: ApiHarness) -> None:
    """Attack: `Range: bytes=1-` downloads all but one byte of a segment; it must be audited."""
    segment = _segments(harness)[0]
    url = f"/api/recordings/segments/{segment['id']}/video"
    sneaky = harness.bearer("investigator")
    r = harness.client.get(url, headers={**sneaky, "Range": "bytes=1-"})
    assert r.status_code == 206 and len(r.content) > 1000
    assert _views(harness) == [f"segment:{segment['id']}"]
    for start in (2, 500, 1000):  # the rest of that viewing adds nothing
        harness.client.get(url, headers={**sneaky, "Range": f"bytes={start}-"})
    assert len(_views(harness)) == 1
    other = harness.bearer("investigator")  # another credential is another viewing
    assert harness.client.get(url, headers={**other, "Range": "bytes=5-9"}).status_code == 206
    assert len(_views(harness)) == 2


def test_playback_streams_with_range_and_audits_each_viewing(harness: ApiHarness) -> None:
    segment = _segments(harness)[0]
    url = f"/api/recordings/segments/{segment['id']}/video"
    investigator = harness.bearer("investigator")
    full = harness.client.get(url, headers=investigator)
    assert full.status_code == 200 and full.headers["content-type"] == "video/mp4"
    assert full.content[4:8] == b"ftyp"
    assert _views(harness) == [f"segment:{segment['id']}"]
    size = len(full.content)
    head = harness.client.get(url, headers={**investigator, "Range": "bytes=0-99"})
    assert head.status_code == 206 and head.content == full.content[:100]
    assert head.headers["content-range"] == f"bytes 0-99/{size}"
    chunk = harness.client.get(url, headers={**investigator, "Range": f"bytes=100-{size - 1}"})
    assert chunk.status_code == 206 and chunk.content == full.content[100:]
    assert len(_views(harness)) == 1  # the chunks of one viewing (same credential) add no entry
    with harness.node.engine.connect() as conn:
        entry = audit.entries(conn, limit=1, action="recording.view")[0]
    assert entry.actor.startswith("investigator")

    assert harness.client.get(url, headers=harness.bearer("operator")).status_code == 403  # no unredacted
    elsewhere = harness.bearer("investigator", cameras=["other"])
    assert harness.client.get(url, headers=elsewhere).status_code == 404
    missing = "/api/recordings/segments/nope/video"
    assert harness.client.get(missing, headers=investigator).status_code == 404
    assert len(_views(harness)) == 1  # refused and missing ones show nothing: no viewing


def test_playback_of_a_segment_whose_file_is_gone_is_404(harness: ApiHarness) -> None:
    from sqlalchemy import select

    from safecity.recording.models import SegmentRow

    segment = _segments(harness)[0]
    assert segment["url"] == f"/api/recordings/segments/{segment['id']}/video"
    with harness.node.engine.connect() as conn:
        key = conn.execute(select(SegmentRow.key).where(SegmentRow.id == segment["id"])).scalar_one()
    assert isinstance(harness.node.media, ManagedStorage)
    assert harness.node.media.delete(key)
    r = harness.client.get(f"/api/recordings/segments/{segment['id']}/video", headers=harness.bearer("admin"))
    assert r.status_code == 404 and _views(harness) == []


def test_evidence_lock_round_trip(harness: ApiHarness) -> None:
    segment = _segments(harness)[0]
    supervisor = harness.bearer("supervisor")
    body = {
        "case_ref": "CASE-2025-17",
        "reason": "assault on the gate, footage requested by police",
        "expires_at": (datetime.now(UTC) + timedelta(days=90)).isoformat(),
        "items": [
            {"kind": "segment", "item_id": segment["id"]},
            {"kind": "range", "camera_id": "gate-1", "start": T0.isoformat(),
             "end": (T0 + timedelta(seconds=30)).isoformat()},
        ],
    }  # fmt: skip
    assert (
        harness.client.post("/api/evidence-locks", json=body, headers=harness.bearer("operator")).status_code
        == 403
    )
    bad = {**body, "case_ref": None}
    assert harness.client.post("/api/evidence-locks", json=bad, headers=supervisor).status_code == 422
    blind = harness.bearer("investigator", cameras=["other"])
    assert harness.client.post("/api/evidence-locks", json=body, headers=blind).status_code == 403
    r = harness.client.post("/api/evidence-locks", json=body, headers=supervisor)
    assert r.status_code == 201, r.text
    lock = r.json()
    assert lock["active"] and lock["case_ref"] == "CASE-2025-17" and len(lock["items"]) == 2
    listed = harness.client.get("/api/evidence-locks", headers=harness.bearer("investigator")).json()
    assert [x["id"] for x in listed] == [lock["id"]]
    assert any(s["locked"] for s in _segments(harness))

    release = f"/api/evidence-locks/{lock['id']}/release"
    r = harness.client.post(release, json={"reason": "case closed"}, headers=supervisor)
    assert r.status_code == 200, r.text
    assert r.json()["active"] is False and r.json()["released_at"]
    assert harness.client.post(release, json={"reason": "again"}, headers=supervisor).status_code == 404
    assert harness.client.get("/api/evidence-locks", headers=supervisor).json() == []
    ended = harness.client.get(
        "/api/evidence-locks", params={"include_ended": True}, headers=supervisor
    ).json()
    assert [x["id"] for x in ended] == [lock["id"]]
    with harness.node.engine.connect() as conn:
        actions = [e.action for e in audit.entries(conn, limit=100) if e.action.startswith("evidence.")]
    assert sorted(actions) == ["evidence.lock", "evidence.release"]
