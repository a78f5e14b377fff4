"""`/metrics` applies camera access lists (issue 16): an operator limited to one camera sees that camera's
series and the node-wide ones, never another camera's. Real cameras (PETS video) running in the harness."""

from __future__ import annotations

import time
from pathlib import Path

from support.api_harness import ApiHarness


def test_metrics_show_only_the_callers_cameras(tmp_path: Path, pets_video: Path) -> None:
    cams = [{"id": c, "source": str(pets_video), "fps": 2, "loop": True} for c in ("pets", "secret-cam")]
    with ApiHarness.start(tmp_path, cameras=cams) as h:
        deadline = time.monotonic() + 30
        while not all(w.metrics.frames_analysed for w in h.node.workers.values()):
            assert time.monotonic() < deadline, "cameras did not start"
            time.sleep(0.1)
        full = h.client.get("/metrics", headers=h.bearer("admin")).text
        assert 'camera="secret-cam"' in full and 'camera="pets"' in full
        limited = h.client.get("/metrics", headers=h.bearer("operator", cameras=["pets"]))
        assert limited.status_code == 200
        assert 'camera="secret-cam"' not in limited.text  # the attack: another camera's series
        assert 'safecity_camera_frames_analysed_total{camera="pets"}' in limited.text
        assert "safecity_store_events_written_total" in limited.text  # node-wide series stay
        none = h.client.get("/metrics", headers=h.bearer("operator", cameras=[])).text
        assert 'camera="' not in none and "safecity_live_clients" in none
