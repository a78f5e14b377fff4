"""G8: the template and crop of a face that matches nothing are discarded in memory.

A real video (MOT15 TUD-Campus: a street with pedestrians facing the camera) runs through the whole node
with an active, authorized watchlist whose only entry is someone else (biden.jpg), so every face of the
video is processed and matches nothing. A spy records (in the test's memory only) every template the
embedder computes. Then the database file, every file under the data directory (media, sealed store) and
the captured logs are scanned for any of those templates (float32 / float64 bytes, text), for 128-float
vectors in any database value, and for any stored picture that is not a (face-blurred) event snapshot.

The scanner is itself tested: a template injected into the database, into a media file or into the logs,
and a face crop dropped into the media directory, are each detected.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.app import App, build_app
from safecity.biometrics import watchlists as wl
from safecity.biometrics.search import single_face_template
from safecity.biometrics.stage import FaceModels
from safecity.config import parse_settings
from safecity.vision.faces import CenterFaceDetector, FaceEmbedder
from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
from support.biometrics_fixtures import ALICE, BOB, CONFIG, authorization, entry

pytestmark = [pytest.mark.slow, pytest.mark.models]
FLOATS = re.compile(r"(-?\d\.\d{3,}[,\s]+){16,}")  # 16+ floats in a row: a vector written as text
SETTINGS = """
storage: {{data_dir: {data}}}
models: {{cache_dir: {models}}}
biometrics: {{refresh_s: 0.2, counts_flush_s: 0.5, redaction: {{keep_originals: false}}}}
cameras:
  - id: campus
    source: {video}
    fps: null
    zones:
      - id: street
        polygon: [[0, 0], [640, 0], [640, 480], [0, 480]]
        enter_exit_events: true
"""


class SpyEmbedder(FaceEmbedder):
    """The real embedder, remembering a copy of each template for the scan (test memory only)."""

    def __init__(self, *args: Path) -> None:
        super().__init__(*args)
        self.seen: list[np.ndarray] = []

    def embed(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        t = super().embed(image, box)
        self.seen.append(t.copy())
        return t


@dataclass
class Run:
    data: Path
    templates: list[np.ndarray]
    log_text: str
    listed: bytes  # the one stored template: biden, the listed person (allowed)
    faces_counted: int = 0
    leaks: list[str] = field(default_factory=list)


def _watchlist(node: App, detector: CenterFaceDetector, embedder: FaceEmbedder, photo: Path) -> bytes:
    image = cv2.imread(str(photo))
    listed = single_face_template(np.asarray(image), detector, embedder)
    with node.session() as db:
        row = wl.create_watchlist(db, "abduction case", "", ["campus"], ALICE, CONFIG)
        wl.add_entries(db, row.id, [(entry("suspect J.B."), listed)], ALICE, CONFIG)
        wl.review_watchlist(db, row.id, "checked", BOB)
        wl.activate(db, row.id, authorization(db, ["campus"]).id, ALICE)
        db.commit()
    return listed.astype("<f4").tobytes()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Run]:
    data = tmp_path_factory.mktemp("g8")
    from safecity.vision.models import default_cache_dir

    cache = default_cache_dir()
    paths = [face_model_path(cache, s) for s in (CENTERFACE, SHAPE_PREDICTOR_5, DLIB_RESNET)]
    video = shared_data / "video" / "tud-campus.mp4"
    settings = parse_settings(SETTINGS.format(data=data, models=cache, video=video))
    handler = logging.FileHandler(data / "run.log")
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger()
    old_level, root.level = root.level, logging.DEBUG
    root.addHandler(handler)
    try:
        node = build_app(settings)
        detector, spy = CenterFaceDetector(paths[0]), SpyEmbedder(paths[1], paths[2])
        assert node.biometrics is not None
        node.biometrics.models = FaceModels(lambda: (detector, spy))
        listed = _watchlist(node, detector, spy, shared_data / "faces" / "biden.jpg")
        spy.seen.clear()  # the enrolment of the listed person is not a probe
        node.start()
        assert node.wait(timeout=300)
        assert node.workers["campus"].metrics.error is None
        node.close()
    finally:
        root.removeHandler(handler)
        root.level = old_level
        handler.close()
    yield Run(data, list(spy.seen), (data / "run.log").read_text(errors="replace"), listed)


def _needles(templates: list[np.ndarray]) -> list[bytes]:
    out = []
    for t in templates:
        for dtype in ("<f4", ">f4", "<f8"):
            raw = t.astype(dtype).tobytes()
            out += [raw[:24], raw[len(raw) // 2 : len(raw) // 2 + 24]]  # any part of it
    return out


def scan(data: Path, templates: list[np.ndarray], log_text: str, listed: bytes) -> list[str]:
    """Every place a template or a face crop of a non-match was found (empty: none)."""
    leaks = []
    needles = _needles(templates)
    for path in sorted(p for p in data.rglob("*") if p.is_file()):
        blob = path.read_bytes().replace(listed, b"")  # the listed person's own template may be stored
        leaks += [f"template bytes in {path.relative_to(data)}" for n in needles if n in blob][:1]
        rel = path.relative_to(data).as_posix()
        if path.suffix.lower() in (".jpg", ".jpeg", ".png") and not rel.startswith("media/snapshots/"):
            leaks.append(f"a picture outside the event snapshots: {rel}")
    leaks += _scan_database(data / "safecity.db", listed)
    for t in templates:
        if any(f"{v:.4f}" in log_text for v in t[:3]) and FLOATS.search(log_text):
            leaks.append("template values in the logs")
    if FLOATS.search(log_text):
        leaks.append("a float vector in the logs")
    return leaks


def _scan_database(db: Path, listed: bytes) -> list[str]:
    leaks = []
    with sqlite3.connect(db) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes) and len(value) in (512, 1024) and value != listed:
                        leaks.append(f"a 128-float blob in table {table}")
                    elif isinstance(value, str) and FLOATS.search(value):
                        leaks.append(f"a float vector as text in table {table}")
    return leaks


def test_faces_were_processed_and_counted(run: Run) -> None:
    assert len(run.templates) >= 2, (
        "the video's faces must really have been processed for this test to mean anything"
    )
    with sqlite3.connect(run.data / "safecity.db") as conn:
        counts = conn.execute(
            "SELECT details FROM audit_log WHERE action = 'biometrics.faces_processed'"
        ).fetchall()
        matches = conn.execute("SELECT count(*) FROM bio_matches").fetchone()[0]
    assert counts and matches == 0
    assert sum(json.loads(d)["faces"] for (d,) in counts) == len(run.templates)  # counts only


def test_no_template_or_face_crop_of_a_non_match_is_kept(run: Run) -> None:
    assert scan(run.data, run.templates, run.log_text, run.listed) == []


def test_stored_snapshots_show_no_face(run: Run, shared_data: Path) -> None:
    from safecity.vision.models import default_cache_dir

    detector = CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE))
    snapshots = list((run.data / "media" / "snapshots").rglob("*.jpg"))
    assert snapshots
    for path in snapshots:
        assert len(detector.detect(np.asarray(cv2.imread(str(path))), threshold=0.5)) == 0, path
    assert not (run.data / "sealed" / "originals").exists()  # the policy keeps no unblurred original


def test_the_scan_detects_injected_leaks(run: Run, tmp_path: Path, shared_data: Path) -> None:
    """The scan can fail: each kind of leak, injected into a copy of the run, is reported."""
    import shutil

    t = run.templates[0]
    cases = {
        "db": lambda d: _inject_db(d, t),
        "media": lambda d: (d / "media" / "leak.bin").write_bytes(b"x" + t.astype("<f4").tobytes()),
        "crop": lambda d: shutil.copy(shared_data / "faces" / "obama.jpg", d / "media" / "crop.jpg"),
    }
    for name, inject in cases.items():
        copy = tmp_path / name
        shutil.copytree(run.data, copy)
        inject(copy)
        assert scan(copy, run.templates, run.log_text, run.listed) != [], name
    leaked_log = run.log_text + "\nembedding: " + ", ".join(f"{v:.6f}" for v in t)
    assert scan(run.data, run.templates, leaked_log, run.listed) != []


def _inject_db(data: Path, t: np.ndarray) -> None:
    with sqlite3.connect(data / "safecity.db") as conn:
        conn.execute("CREATE TABLE leak (v BLOB)")
        conn.execute("INSERT INTO leak VALUES (?)", (t.astype("<f4").tobytes(),))


def test_the_listed_template_is_where_it_belongs(run: Run) -> None:
    with sqlite3.connect(run.data / "safecity.db") as conn:
        (stored,) = conn.execute("SELECT template FROM bio_watchlist_entries").fetchone()
    assert stored == run.listed
