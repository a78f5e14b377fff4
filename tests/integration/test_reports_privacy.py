"""Public reports against an insider (issue 16): photos stored and served face-blurred, the original only to
`media:unredacted` and audited; camera access lists apply to the queue, a report, its photo and triage.
Real API on SQLite, a real photo of six faces, the installed CenterFace model."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from sqlalchemy import select

from safecity.governance.audit import LOG
from safecity.vision.faces import CenterFaceDetector
from support.api_harness import ApiHarness

FACE_THRESHOLD = 0.5


@pytest.fixture(scope="module")
def faces() -> CenterFaceDetector:
    from safecity.vision.faces_models import CENTERFACE, face_model_path
    from safecity.vision.models import ModelNotInstalledError, default_cache_dir

    try:
        return CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE))
    except ModelNotInstalledError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))


@pytest.fixture
def h(tmp_path: Path) -> Iterator[ApiHarness]:
    cameras = [
        {"id": c, "source": "rtsp://127.0.0.1:9/none", "enabled": False, "lat": 41.9, "lon": 12.5}
        for c in ("north", "south")
    ]
    with ApiHarness.start(tmp_path, cameras=cameras) as harness:
        yield harness


def _count_faces(detector: CenterFaceDetector, data: bytes) -> int:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return len(detector.detect(image, threshold=FACE_THRESHOLD))


def _report(h: ApiHarness, camera: str | None, photo: bytes | None = None) -> int:
    data = {"category": "theft", "description": "bag snatched", "contact": "+39 333 111",
            "observed_at": (datetime.now(UTC) - timedelta(minutes=5)).isoformat()}  # fmt: skip
    data.update({"camera_id": camera} if camera else {"lat": "41.9", "lon": "12.5"})
    files = {"photo": ("IMG_1.jpg", photo, "image/jpeg")} if photo else None
    r = h.client.post("/api/public/reports", data=data, files=files)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _audited(h: ApiHarness, action: str) -> list[str]:
    with h.node.engine.connect() as conn:
        return [r.actor for r in conn.execute(select(LOG.c.actor).where(LOG.c.action == action))]


def test_report_photos_are_stored_and_served_blurred(
    h: ApiHarness, shared_data: Path, faces: CenterFaceDetector
) -> None:
    group = (shared_data / "faces" / "group-6-faces.jpg").read_bytes()
    assert _count_faces(faces, group) >= 4  # the photo really shows faces
    report = _report(h, "north", group)
    stored = list((h.node.settings.storage.resolved_media_dir / "reports").rglob("*.jpg"))
    assert len(stored) == 1 and _count_faces(faces, stored[0].read_bytes()) == 0

    operator = h.bearer("operator")
    photo = h.client.get(f"/api/reports/{report}/photo", headers=operator)
    assert photo.status_code == 200 and _count_faces(faces, photo.content) == 0
    refused = h.client.get(f"/api/reports/{report}/photo", params={"original": True}, headers=operator)
    assert refused.status_code == 403 and "media:unredacted" in refused.json()["detail"]
    key = "reports/" + stored[0].relative_to(stored[0].parents[1]).as_posix()
    for bypass in (key, key.replace("reports/", "reports-originals/", 1)):  # not through the media route
        r = h.client.get(f"/api/media/{bypass}", headers=h.bearer("admin"))
        assert r.status_code == 404, bypass

    assert _audited(h, "report.photo_original") == []
    investigator = h.user("operator", "investigator")
    headers = {"Authorization": f"Bearer {h.token(investigator.username)}"}
    original = h.client.get(f"/api/reports/{report}/photo", params={"original": True}, headers=headers)
    assert original.status_code == 200 and _count_faces(faces, original.content) >= 4
    assert _audited(h, "report.photo_original") == [investigator.username]


def test_camera_access_lists_apply_to_reports_photos_and_triage(h: ApiHarness, shared_data: Path) -> None:
    """Attack: an operator limited to 'south' reads a 'north' report (phone number, photo) and turns it
    into an incident on 'north'."""
    north = _report(h, "north", (shared_data / "images" / "bus.jpg").read_bytes())
    south, nowhere = _report(h, "south"), _report(h, None)
    limited = h.bearer("operator", cameras=["south"])
    listed = h.client.get("/api/reports", headers=limited)
    assert {r["id"] for r in listed.json()} == {south, nowhere} and listed.headers["X-Total-Count"] == "2"
    assert h.client.get(f"/api/reports/{north}", headers=limited).status_code == 404
    assert h.client.get(f"/api/reports/{north}/photo", headers=limited).status_code == 404
    decision = {"action": "incident", "note": "on my way"}
    r = h.client.post(f"/api/reports/{north}/triage", json=decision, headers=limited)
    assert r.status_code == 404
    everyone = h.bearer("operator")
    assert h.client.get(f"/api/reports/{north}", headers=everyone).json()["status"] == "new"
    assert h.client.get("/api/incidents", headers=everyone).json()["items"] == []
    assert h.client.post(f"/api/reports/{south}/triage", json=decision, headers=limited).status_code == 200
    assert h.client.get(f"/api/reports/{nowhere}", headers=limited).status_code == 200
