"""Cameras: the settings file seeds the database, then the database is the source of truth; access lists;
validation; passwords in source URLs never leave the server. Real SQLite, real video file decoding."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support.api_harness import ApiHarness


def _cam(pets_video: Path, cam_id: str, **kw: Any) -> dict[str, Any]:
    return {"id": cam_id, "source": str(pets_video), "fps": 5, "loop": True, **kw}


def test_settings_seed_the_database_which_then_wins(tmp_path: Path, pets_video: Path) -> None:
    first = [_cam(pets_video, "pets", name="from the file"), _cam(pets_video, "spare", enabled=False)]
    with ApiHarness.start(tmp_path, cameras=first) as h:
        admin = h.bearer("admin")
        cams = {c["id"]: c for c in h.client.get("/api/cameras", headers=admin).json()}
        assert cams["pets"]["name"] == "from the file" and cams["spare"]["enabled"] is False
        assert set(h.node.workers) == {"pets"}  # only enabled cameras run
        r = h.client.patch(
            "/api/cameras/pets", json={"name": "edited by an operator", "fps": 2}, headers=admin
        )
        assert r.status_code == 200
    changed = [_cam(pets_video, "pets", name="file changed too", fps=9), _cam(pets_video, "new-in-file")]
    with ApiHarness.start(tmp_path, cameras=changed) as h:
        admin = h.bearer("admin")
        cams = {c["id"]: c for c in h.client.get("/api/cameras", headers=admin).json()}
        assert (
            cams["pets"]["name"] == "edited by an operator" and cams["pets"]["fps"] == 2
        )  # the database wins
        assert cams["new-in-file"]["enabled"] is True  # a camera new to the file is added
        assert "spare" in cams  # a camera removed from the file stays (disable it through the API)
        assert h.node.workers["pets"].camera.fps == 2
        assert set(h.node.workers) == {"pets", "new-in-file"}


def test_camera_access_lists_validation_and_redacted_sources(tmp_path: Path, pets_video: Path) -> None:
    cams = [_cam(pets_video, "pets"), _cam(pets_video, "other", enabled=False)]
    with ApiHarness.start(tmp_path, cameras=cams) as h:
        admin, pets_only = h.bearer("admin"), h.bearer("operator", cameras=["pets"])
        assert [c["id"] for c in h.client.get("/api/cameras", headers=pets_only).json()] == ["pets"]
        assert h.client.get("/api/cameras/other", headers=pets_only).status_code == 404
        assert h.client.get("/api/cameras/other/snapshot.jpg", headers=pets_only).status_code == 404
        assert h.client.get("/api/cameras/other/live.mjpeg", headers=pets_only).status_code == 404
        secret = {"id": "street", "source": "rtsp://admin:hunter2@10.9.9.9:554/s1", "enabled": False}
        r = h.client.post("/api/cameras", json=secret, headers=admin)
        assert (
            r.status_code == 201
            and "hunter2" not in r.text
            and r.json()["source"].startswith("rtsp://admin:***@")
        )
        assert "hunter2" not in h.client.get("/api/cameras", headers=admin).text
        r = h.client.patch("/api/cameras/street", json={"name": "Via Roma"}, headers=admin)
        assert r.status_code == 200 and h.node.workers.get("street") is None
        with h.node.session() as db:
            from safecity.api.camera_store import get_camera

            row = get_camera(db, "street")
            assert row is not None and row.source == secret["source"]  # kept intact, only hidden
        for bad in (
            {"id": "../x", "source": "a"},
            {"id": "z", "source": ""},
            {"id": "z", "source": "a", "fps": 0},
            {"id": "z", "source": "a", "lines": [{"id": "l", "start": [1e300, 0], "end": [0, 0]}]},
            {"id": "z", "source": "a", "zones": [{"id": "q", "polygon": [[0, 0], [1, 1]]}]},
            {"id": "z", "source": "a", "surprise": True},
        ):
            r = h.client.post("/api/cameras", json=bad, headers=admin)
            assert r.status_code == 422 and isinstance(r.json()["detail"], str), (bad, r.text)
        assert h.client.patch("/api/cameras/nope", json={}, headers=admin).status_code == 404
        r = h.client.patch(
            "/api/cameras/pets",
            json={
                "zones": [
                    {"id": "a", "polygon": [[0, 0], [9, 0], [9, 9]]},
                    {"id": "a", "polygon": [[0, 0], [9, 0], [9, 9]]},
                ]
            },
            headers=admin,
        )
        assert r.status_code == 422 and "unique" in r.json()["detail"]
