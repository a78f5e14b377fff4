"""Cameras in a cluster come from the database and follow the API: an API-only node (NATS, shared
database) and two in-process `ClusterWorker`s on the real NATS server. A camera changed, added or
disabled through the API reaches the workers within 5 s; the API-only node neither records nor purges."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from safecity.bus.nats_loop import LoopThread, connect
from safecity.cluster.worker import ClusterWorker
from safecity.config.models import Settings
from support.api_harness import ApiHarness, NullDetector

pytestmark = pytest.mark.nats
APPLY_WITHIN_S = 5.0


def cluster_sections(tmp_path: Path, nats_url: str, database_url: str, video: Path) -> dict[str, Any]:
    tag = uuid.uuid4().hex[:10]
    return {
        "storage": {"data_dir": str(tmp_path / "data"), "database_url": database_url},
        "bus": {"type": "nats", "url": nats_url, "stream": f"CC_{tag}", "subject_prefix": f"cc{tag}.events"},
        "cluster": {"lease_bucket": f"ccl_{tag}", "workers_bucket": f"ccw_{tag}", "lease_ttl_s": 3.0,
                    "stop_budget_s": 0.8, "kv_timeout_s": 0.8, "renew_every_s": 1.0, "claim_every_s": 0.3},
        "cameras": [{"id": "cam-a", "source": str(video), "loop": True, "fps": 1}],
    }  # fmt: skip


def delete_streams(url: str, sections: dict[str, Any]) -> None:
    loop = LoopThread("cleanup")
    try:
        nc = loop.call(connect(url, "cleanup", 5), 10)
        c = sections["cluster"]
        for name in (sections["bus"]["stream"], f"KV_{c['lease_bucket']}", f"KV_{c['workers_bucket']}"):
            with contextlib.suppress(Exception):
                loop.call(nc.jetstream().delete_stream(name), 5)
        loop.call(nc.close(), 5)
    finally:
        loop.stop()


def wait_until(predicate: Callable[[], Any], timeout: float, what: str) -> float:
    """Seconds until `predicate()` held."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout}s: {what}")


@pytest.fixture
def cluster(
    tmp_path: Path, nats_url: str, database_url: str, pets_video: Path
) -> Iterator[tuple[ApiHarness, list[ClusterWorker]]]:
    sections = cluster_sections(tmp_path, nats_url, database_url, pets_video)
    settings = Settings.model_validate(sections)
    workers: list[ClusterWorker] = []
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        # 2FA off (docs/security.md); the shared test video's folder allowed as a camera source
        sources = {"schemes": ["file"], "file_dirs": [str(pets_video.parent)]}
        api_only = {"start_workers": False, "two_factor_roles": [], "camera_sources": sources}
        with ApiHarness.start(tmp_path, detector=NullDetector(), api=api_only, **sections) as api:
            for wid in ("w1", "w2"):
                w = ClusterWorker(settings, wid, detector=NullDetector())
                workers.append(w)
                threads.append(threading.Thread(target=w.run, args=(stop,), daemon=True))
                threads[-1].start()
            yield api, workers
            stop.set()
            for t in threads:
                t.join(30)
    finally:
        stop.set()
        for w in workers:
            w.close()
        delete_streams(nats_url, sections)


def holder(workers: list[ClusterWorker], camera: str) -> ClusterWorker | None:
    found = [w for w in workers if camera in w.held]
    assert len(found) <= 1, "a camera runs on two workers"
    return found[0] if found else None


def test_cameras_follow_the_api_within_seconds(cluster: tuple[ApiHarness, list[ClusterWorker]]) -> None:
    api, workers = cluster
    node = api.node
    assert node.factory is not None and node.factory.recording is None  # API-only: records nothing
    assert node.data_center is not None and node.data_center.scheduler is None  # and never purges
    assert not node.runtimes
    admin = api.bearer("admin")
    wait_until(lambda: holder(workers, "cam-a") is not None, 15, "cam-a claimed (seeded by the API node)")

    # a change: the holder restarts the camera with the new settings, under the same lease
    r = api.client.patch("/api/cameras/cam-a", json={"fps": 2, "name": "Gate A"}, headers=admin)
    assert r.status_code == 200, r.text

    def applied() -> bool:
        w = holder(workers, "cam-a")
        return w is not None and w.held["cam-a"].runtime.camera.fps == 2

    took = wait_until(applied, APPLY_WITHIN_S, "the changed fps applied by the worker holding cam-a")
    print(f"change applied in {took:.2f}s")

    # a new camera is claimed by some worker
    body = {"id": "cam-b", "name": "B", "source": str(workers[0].cameras["cam-a"].source), "loop": True,
            "fps": 1}  # fmt: skip
    assert api.client.post("/api/cameras", json=body, headers=admin).status_code == 201
    wait_until(lambda: holder(workers, "cam-b") is not None, APPLY_WITHIN_S, "cam-b claimed")

    def b_analysed() -> bool:
        w = holder(workers, "cam-b")
        return w is not None and w.held["cam-b"].runtime.metrics.frames_analysed > 0

    wait_until(b_analysed, 15, "cam-b analysed by its worker")

    # disabled: the holder stops it and nobody claims it again
    assert api.client.delete("/api/cameras/cam-a", headers=admin).status_code == 200
    wait_until(lambda: holder(workers, "cam-a") is None, APPLY_WITHIN_S, "cam-a released")
    time.sleep(1.0)
    assert holder(workers, "cam-a") is None and holder(workers, "cam-b") is not None
    assert all("cam-a" not in w.cameras for w in workers)
