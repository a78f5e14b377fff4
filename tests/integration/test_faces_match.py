"""A listed person walks past a camera: the whole node finds the face on the person track, records one
match pending review (G5) with its face crop in the sealed store, tells the reviewers, audits it; the
stored event snapshot has the face blurred (G13); with no active watchlist nothing is computed at all.

The video is made here from a real photo (obama.jpg, drifting across a grey frame); the watchlist entry is
enrolled from another photo of the same person (obama3.jpg).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from sqlalchemy import select

from safecity.app import build_app
from safecity.biometrics import watchlists as wl
from safecity.biometrics.models import MatchRow
from safecity.biometrics.search import single_face_template
from safecity.config import parse_settings
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder
from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
from safecity.vision.models import default_cache_dir
from support.biometrics_fixtures import ALICE, BOB, CONFIG, authorization, entry

pytestmark = [pytest.mark.slow, pytest.mark.models]
SETTINGS = """
storage: {{data_dir: {data}}}
models: {{cache_dir: {models}}}
biometrics: {{refresh_s: 0.2, counts_flush_s: 0.2, redaction: {{keep_originals: true}}}}
cameras:
  - id: gate
    source: {video}
    fps: null
    zones:
      - id: all
        polygon: [[0, 0], [640, 0], [640, 480], [0, 480]]
        enter_exit_events: true
"""


def make_video(photo: Path, target: Path, frames: int = 30) -> None:
    image = cv2.imread(str(photo))
    h, w = image.shape[:2]
    person = cv2.resize(image, (int(w * 440 / h), 440))
    with av.open(str(target), "w") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(10))
        stream.width, stream.height, stream.pix_fmt = 640, 480, "yuv420p"
        stream.options = {"qscale": "3"}
        for i in range(frames):
            canvas = np.full((480, 640, 3), 120, np.uint8)
            x0 = 100 + 2 * i
            canvas[20:460, x0 : x0 + person.shape[1]] = person[:, : 640 - x0]
            out.mux(stream.encode(av.VideoFrame.from_ndarray(canvas, format="bgr24")))
        out.mux(stream.encode(None))


@dataclass
class Run:
    data: Path
    notified: list[dict[str, object]]
    faces_loaded: bool


def _run(tmp: Path, faces: Path, *, active: bool) -> Run:
    video = tmp / "walk.mp4"
    make_video(faces / "obama.jpg", video)
    cache = default_cache_dir()
    node = build_app(parse_settings(SETTINGS.format(data=tmp, models=cache, video=video)))
    assert node.biometrics is not None
    notified: list[dict[str, object]] = []
    node.live.broadcast = lambda type, data, camera_id=None, **kw: notified.append({"type": type, **data})  # type: ignore[method-assign]
    if active:
        paths = [face_model_path(cache, s) for s in (CENTERFACE, SHAPE_PREDICTOR_5, DLIB_RESNET)]
        probe = single_face_template(
            np.asarray(cv2.imread(str(faces / "obama3.jpg"))),
            CenterFaceDetector(paths[0]),
            FaceEmbedder(paths[1], paths[2]),
        )
        with node.session() as db:
            row = wl.create_watchlist(db, "missing person", "", ["gate"], ALICE, CONFIG)
            wl.add_entries(db, row.id, [(entry("B.O."), probe)], ALICE, CONFIG)
            wl.review_watchlist(db, row.id, "checked", BOB)
            wl.activate(db, row.id, authorization(db, ["gate"]).id, ALICE)
            db.commit()
    node.start()
    assert node.wait(timeout=120)
    loaded = node.biometrics.models._models is not None
    node.close()
    return Run(tmp, notified, loaded)


@pytest.fixture(scope="module")
def matched(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Run]:
    yield _run(tmp_path_factory.mktemp("match"), shared_data / "faces", active=True)


def test_the_listed_person_is_matched_pending_review(matched: Run) -> None:
    from safecity.store import make_engine

    engine = make_engine(f"sqlite:///{matched.data / 'safecity.db'}")
    with engine.connect() as conn:
        matches = conn.execute(
            select(MatchRow.status, MatchRow.score, MatchRow.crop_key, MatchRow.camera_id)
        ).all()
        from safecity.governance import audit

        actions = [e.action for e in audit.entries(conn)]
    engine.dispose()
    assert len(matches) == 1  # once per track, not once per frame
    status, score, crop_key, camera = matches[0]
    assert status == "pending" and camera == "gate" and score >= CONFIG.default_threshold
    crop = cv2.imread(str(matched.data / "sealed" / crop_key))
    assert crop is not None and min(crop.shape[:2]) > 40  # the reviewers' evidence, in the sealed store
    assert not (matched.data / "media" / "biometrics").exists()  # never where the media API serves from
    assert "biometrics.match" in actions and "biometrics.faces_processed" in actions
    assert [n["type"] for n in matched.notified if n["type"] == "face_match"] == ["face_match"]


def test_snapshots_are_blurred_and_originals_sealed(matched: Run) -> None:
    snaps = list((matched.data / "media" / "snapshots").rglob("*.jpg"))
    originals = list((matched.data / "sealed" / "originals").rglob("*.jpg"))
    assert snaps and len(originals) == len(snaps)  # keep_originals: true in this run
    detector = CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE))
    assert all(len(detector.detect(np.asarray(cv2.imread(str(p))))) == 0 for p in snaps)
    assert any(len(detector.detect(np.asarray(cv2.imread(str(p))))) == 1 for p in originals)


def test_without_an_active_watchlist_no_face_is_computed(tmp_path: Path, shared_data: Path) -> None:
    run = _run(tmp_path, shared_data / "faces", active=False)
    assert not run.faces_loaded  # the embedding model was never even loaded
    assert not (tmp_path / "sealed" / "biometrics").exists()
    assert [n for n in run.notified if n["type"] == "face_match"] == []
