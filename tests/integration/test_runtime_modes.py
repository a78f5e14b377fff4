"""One camera, three modes, the same result: `safecity run` (build_app, settings cameras), `safecity serve`
(the API's lifespan, cameras from the database) and `safecity worker` (a ClusterWorker holding the
camera's lease on the real NATS server, events stored by a bus consumer) run the same short real video
(TUD-Campus, pedestrians with visible faces) under an active, authorized watchlist. Each stores the same
zone events, runs the face step (its audited face counts), every stored snapshot
has its faces blurred (scanned with the CenterFace detector: the unblurred originals, kept for this test,
do show faces), and each records the camera (transcoded segments indexed in the database)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from safecity.api.app import create_api
from safecity.app import attach_consumers, build_app, build_bus, build_detector
from safecity.biometrics import watchlists as wl
from safecity.biometrics.search import single_face_template
from safecity.bus.nats_loop import LoopThread, connect
from safecity.cluster.worker import ClusterWorker
from safecity.config.models import Settings
from safecity.governance.audit import AuditEntry
from safecity.recording.models import SegmentRow
from safecity.store import EventQuery, make_engine, open_store, upgrade
from safecity.vision.detector import Detector
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder
from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
from safecity.vision.models import default_cache_dir
from support.biometrics_fixtures import ALICE, BOB, CONFIG, authorization, entry

pytestmark = [pytest.mark.nats, pytest.mark.models, pytest.mark.slow]
FACE_SCORE = 0.5  # what counts as a visible face in the scan (redaction blurs from 0.3)


def sections(data: Path, database_url: str, video: Path, models: Path) -> dict[str, Any]:
    return {
        "storage": {"data_dir": str(data), "database_url": database_url},
        "models": {"cache_dir": str(models)},
        "detector": {"threads": 1},
        # keep_originals: only so the test can show that the frames had faces; a watchlist is active
        "biometrics": {"refresh_s": 0.2, "counts_flush_s": 0.5, "redaction": {"keep_originals": True}},
        "recording": {"enabled": True, "segment_seconds": 2, "other_codecs": "transcode"},
        "cameras": [{"id": "campus", "source": str(video), "fps": None,
                     "zones": [{"id": "street", "polygon": [[0, 0], [640, 0], [640, 480], [0, 480]],
                                "enter_exit_events": True}]}],
    }  # fmt: skip


@dataclass
class Stored:
    zone_events: Counter[tuple[Any, ...]]
    kinds: set[str]
    snapshots: list[Path]
    originals: list[Path]
    segments: list[SegmentRow]
    faces_processed: int  # faces the face step examined (its audited counts)


def stored(settings: Settings) -> Stored:
    url = settings.storage.resolved_database_url
    store = open_store(url)
    try:
        events = store.query(EventQuery(limit=10_000))
    finally:
        store.close()
    media, sealed = settings.storage.resolved_media_dir, settings.storage.data_dir / "sealed" / "originals"
    keys = [e.snapshot for e in events if e.snapshot]
    engine = make_engine(url)
    with Session(engine) as db:
        segments = list(db.scalars(select(SegmentRow).where(SegmentRow.camera_id == "campus")))
        counted = db.scalars(
            select(AuditEntry.details).where(AuditEntry.action == "biometrics.faces_processed")
        )
        faces = sum(json.loads(d)["faces"] for d in counted)
    engine.dispose()
    zone = Counter((e.kind.value, e.zone_id, e.label, e.track_id) for e in events if e.zone_id)
    return Stored(zone, {e.kind.value for e in events}, [media / k for k in keys], [sealed / k for k in keys],
                  segments, faces)  # fmt: skip


def activate_watchlist(url: str, photo: Path) -> None:
    """An active watchlist for the camera, under an authorization (the face step runs only then)."""
    upgrade(url)
    cache = default_cache_dir()
    detector = CenterFaceDetector(face_model_path(cache, CENTERFACE))
    embedder = FaceEmbedder(face_model_path(cache, SHAPE_PREDICTOR_5), face_model_path(cache, DLIB_RESNET))
    image = cv2.imread(str(photo))
    assert image is not None
    template = single_face_template(np.asarray(image), detector, embedder)
    engine = make_engine(url)
    with Session(engine) as db:
        row = wl.create_watchlist(db, "case 1", "", ["campus"], ALICE, CONFIG)
        wl.add_entries(db, row.id, [(entry("suspect J.B."), template)], ALICE, CONFIG)
        wl.review_watchlist(db, row.id, "checked", BOB)
        wl.activate(db, row.id, authorization(db, ["campus"]).id, ALICE)
        db.commit()
    engine.dispose()


def run_mode(settings: Settings, detector: Detector) -> None:
    node = build_app(settings, detector=detector)
    try:
        node.start()
        assert node.wait(timeout=300)
        assert node.workers["campus"].metrics.error is None
    finally:
        node.close()


def serve_mode(settings: Settings, detector: Detector) -> None:
    api = create_api(build_app(settings, detector=detector))
    with TestClient(api):  # the lifespan: cameras seeded into the database, then started from it
        node = api.state.node
        wait_for(lambda: "campus" in node.workers, 30)
        assert node.wait(timeout=300)
        assert node.workers["campus"].metrics.error is None


def worker_mode(settings: Settings, detector: Detector, nats_url: str) -> None:
    tag = uuid.uuid4().hex[:10]
    data = settings.model_dump(mode="json", exclude_unset=True)
    data["bus"] = {"type": "nats", "url": nats_url, "stream": f"RM_{tag}", "subject_prefix": f"rm{tag}.ev"}
    data["cluster"] = {"lease_bucket": f"rml_{tag}", "workers_bucket": f"rmw_{tag}", "lease_ttl_s": 6.0,
                       "stop_budget_s": 1.5, "kv_timeout_s": 1.0, "claim_every_s": 0.3}  # fmt: skip
    cluster = Settings.model_validate(data)
    store = open_store(cluster.storage.resolved_database_url)
    bus = build_bus(cluster, name="modes-consumer")
    writer, _ = attach_consumers(cluster, bus, store)  # what `safecity consume` runs
    stop = threading.Event()
    worker = ClusterWorker(cluster, "modes-w1", detector=detector)
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_for(lambda: "campus" in worker.held, 30)
        runtime = worker.held["campus"].runtime
        wait_for(lambda: runtime.done, 300)
        assert runtime.metrics.error is None
        wait_for(lambda: writer.written >= runtime.metrics.events, 30)
    finally:
        stop.set()
        thread.join(60)
        bus.close()
        store.close()
        _delete_streams(nats_url, [f"RM_{tag}", f"KV_rml_{tag}", f"KV_rmw_{tag}"])


def _delete_streams(url: str, names: list[str]) -> None:
    loop = LoopThread("cleanup")
    try:
        nc = loop.call(connect(url, "cleanup", 5), 10)
        for name in names:
            with contextlib.suppress(Exception):
                loop.call(nc.jetstream().delete_stream(name), 5)
        loop.call(nc.close(), 5)
    finally:
        loop.stop()


def wait_for(predicate: Callable[[], object], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def faces_in(paths: list[Path], detector: CenterFaceDetector) -> int:
    found = 0
    for path in paths:
        image = cv2.imread(str(path))
        assert image is not None, path
        found += len(detector.detect(image, threshold=FACE_SCORE))
    return found


@pytest.fixture(scope="module")
def modes(
    tmp_path_factory: pytest.TempPathFactory,
    database_urls: Callable[[], str],
    shared_data: Path,
    nanodet_model: Path,
    nats_url: str,
) -> Iterator[dict[str, Stored]]:
    video = shared_data / "video" / "tud-campus.mp4"
    base = Settings.model_validate(
        sections(tmp_path_factory.mktemp("x"), "sqlite://", video, nanodet_model.parent)
    )
    detector = build_detector(base)  # one detector for the three runs (as one node would share it)
    out: dict[str, Stored] = {}
    for mode in ("run", "serve", "worker"):
        data = tmp_path_factory.mktemp(mode)
        settings = Settings.model_validate(sections(data, database_urls(), video, nanodet_model.parent))
        activate_watchlist(settings.storage.resolved_database_url, shared_data / "faces" / "biden.jpg")
        if mode == "run":
            run_mode(settings, detector)
        elif mode == "serve":
            serve_mode(settings, detector)
        else:
            worker_mode(settings, detector, nats_url)
        out[mode] = stored(settings)
    yield out


def test_each_mode_stores_the_same_events(modes: dict[str, Stored]) -> None:
    run = modes["run"]
    assert sum(run.zone_events.values()) >= 4  # people enter and leave the street zone
    for mode in ("serve", "worker"):
        assert modes[mode].zone_events == run.zone_events, mode
        assert modes[mode].kinds == run.kinds, mode


def test_each_mode_redacts_every_snapshot(modes: dict[str, Stored]) -> None:
    face_detector = CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE))
    for mode, s in modes.items():
        assert s.snapshots and all(p.is_file() for p in s.snapshots), mode
        assert faces_in(s.originals, face_detector) > 0, mode  # the frames had faces ...
        assert faces_in(s.snapshots, face_detector) == 0, mode  # ... no stored snapshot shows one


def test_each_mode_runs_the_face_step_under_the_watchlist(modes: dict[str, Stored]) -> None:
    counts = {mode: s.faces_processed for mode, s in modes.items()}
    assert all(n > 0 for n in counts.values()), counts


def test_each_mode_records_the_camera(modes: dict[str, Stored]) -> None:
    counts = {mode: len(s.segments) for mode, s in modes.items()}
    assert counts["run"] >= 1, counts
    assert all(abs(n - counts["run"]) <= 1 for n in counts.values()), counts
    for mode, s in modes.items():
        recorded = sum((seg.end - seg.start).total_seconds() for seg in s.segments)
        assert 2.0 <= recorded <= 4.0, (mode, recorded)  # the video is 2.84 s long
        assert all(seg.codec == "h264" for seg in s.segments), mode
