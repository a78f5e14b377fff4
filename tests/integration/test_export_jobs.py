"""Clip export as a background job (issue 16): the request queues it (202), the job is polled to its clip,
only its owner sees it, and a refused unredacted export is audited and fails the job. Real API on SQLite,
a real recorded H.264 camera, the real redactor."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

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


def _poll(h: ApiHarness, job_id: str, headers: dict[str, str]) -> Any:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        r = h.client.get(f"/api/recordings/export/jobs/{job_id}", headers=headers)
        assert r.status_code == 200, r.text
        if r.json()["status"] not in ("queued", "running"):
            return r.json()
        time.sleep(0.1)
    raise AssertionError("the export job did not end")


def test_an_export_runs_as_a_job_and_is_polled_to_its_clip(harness: ApiHarness) -> None:
    operator = harness.bearer("operator")
    body = {"start": (T0 + timedelta(seconds=2)).isoformat(), "end": (T0 + timedelta(seconds=4)).isoformat(),
            "reason": "case RG 5/2026"}  # fmt: skip
    r = harness.client.post("/api/recordings/gate-1/export/jobs", json=body, headers=operator)
    assert r.status_code == 202 and r.json()["status"] in ("queued", "running"), r.text
    job_id = r.json()["id"]
    other = harness.bearer("operator")
    assert harness.client.get(f"/api/recordings/export/jobs/{job_id}", headers=other).status_code == 404
    done = _poll(harness, job_id, operator)
    assert done["status"] == "done" and done["result"]["redacted"] is True, done
    clip = harness.client.get(done["result"]["url"], headers=operator)
    assert clip.status_code == 200 and clip.content[4:8] == b"ftyp"

    refused = harness.client.post(
        "/api/recordings/gate-1/export/jobs", json={**body, "unredacted": True}, headers=operator
    )
    failed = _poll(harness, refused.json()["id"], operator)
    assert failed["status"] == "failed" and "media:unredacted" in failed["error"]
    with harness.node.engine.connect() as conn:
        actions = [e.action for e in audit.entries(conn, limit=50)]
    assert any("refused" in a for a in actions), actions
    bad = harness.client.post(
        "/api/recordings/gate-1/export/jobs", json={**body, "end": body["start"]}, headers=operator
    )
    assert bad.status_code == 422
