"""The recordings routes on the real API (SQLite in tmp_path): a camera's timeline for playback, segment
files through the media route, audited exports (unredacted only with media:unredacted)."""

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


def _segment_key(harness: ApiHarness, segment_id: str) -> str:
    from sqlalchemy import select

    from safecity.recording.models import SegmentRow

    with harness.node.engine.connect() as conn:
        return str(conn.execute(select(SegmentRow.key).where(SegmentRow.id == segment_id)).scalar_one())


def _window() -> dict[str, str]:
    return {
        "since": (T0 - timedelta(minutes=1)).isoformat(),
        "until": (T0 + timedelta(minutes=5)).isoformat(),
    }


def test_timeline_and_playback(harness: ApiHarness) -> None:
    operator = harness.bearer("operator")
    r = harness.client.get("/api/recordings/gate-1/timeline", params=_window(), headers=operator)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["segments"]) == 4 and all(s["status"] == "complete" for s in body["segments"])
    assert len(body["gaps"]) == 2  # before the recording and after its end
    segment = body["segments"][0]
    # recordings are unredacted: an operator may see the timeline but not play them, by either route
    assert harness.client.get(segment["url"], headers=operator).status_code == 403
    raw_key = f"/api/media/{_segment_key(harness, segment['id'])}"
    assert harness.client.get(raw_key, headers=operator).status_code == 403
    video = harness.client.get(segment["url"], headers=harness.bearer("admin"))
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert video.content[4:8] == b"ftyp"
    assert harness.client.get("/api/recordings/gate-1/timeline", params=_window(),
                              headers=harness.bearer("viewer")).status_code == 403  # fmt: skip
    elsewhere = harness.bearer("operator", cameras=["other"])
    assert harness.client.get("/api/recordings/gate-1/timeline", params=_window(),
                              headers=elsewhere).status_code == 404  # fmt: skip
    bad = {"since": _window()["until"], "until": _window()["since"]}
    assert (
        harness.client.get("/api/recordings/gate-1/timeline", params=bad, headers=operator).status_code == 422
    )


def test_exports_are_audited_and_unredacted_only_with_the_permission(harness: ApiHarness) -> None:
    start, end = T0 + timedelta(seconds=30), T0 + timedelta(seconds=34)
    body = {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "reason": "request 12/2025",
        "unredacted": True,
    }
    refused = harness.client.post(
        "/api/recordings/gate-1/export", json=body, headers=harness.bearer("operator")
    )
    assert refused.status_code == 403 and "media:unredacted" in refused.text
    granted = harness.client.post("/api/recordings/gate-1/export", json=body,
                                  headers=harness.bearer("investigator"))  # fmt: skip
    assert granted.status_code == 201, granted.text
    clip = granted.json()
    assert clip["redacted"] is False and clip["reason"] == "export"
    assert harness.client.get(clip["url"], headers=harness.bearer("investigator")).status_code == 200
    blurred = harness.client.post("/api/recordings/gate-1/export", json={**body, "unredacted": False},
                                  headers=harness.bearer("operator"))  # fmt: skip
    assert blurred.status_code == 201, blurred.text
    assert blurred.json()["redacted"] is True
    again = harness.client.post(f"/api/recordings/clips/{clip['id']}/export",
                                json={"reason": "court order", "unredacted": True},
                                headers=harness.bearer("investigator"))  # fmt: skip
    assert again.status_code == 200 and again.json()["id"] == clip["id"]
    with harness.node.engine.connect() as conn:
        actions = [e.action for e in reversed(audit.entries(conn, limit=50))]
        assert audit.verify(conn).ok
    assert [a for a in actions if a.startswith("clip.")] == [
        "clip.export.refused", "clip.export", "clip.export", "clip.export",
    ]  # fmt: skip
