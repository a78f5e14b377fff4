"""`bench/face_verification.py` on real photos: a single fold is scored at dlib's fixed 0.6 threshold
(there is no other fold to learn one from) instead of crashing, and the flip-averaged embedder keeps the
same person close and different people apart."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import cv2
import numpy as np
import pytest

from safecity.vision.faces import CenterFaceDetector, FaceEmbedder, landmark_box
from safecity.vision.models import default_cache_dir
from support.biometrics_fixtures import installed_face_model_paths

pytestmark = [pytest.mark.models]
ROOT = Path(__file__).resolve().parents[2]


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("face_verification", ROOT / "bench/face_verification.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def model_paths() -> list[Path]:
    return installed_face_model_paths()


def test_single_fold_uses_fixed_threshold(
    shared_data: Path, model_paths: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench()
    bench.from_shared(shared_data / "faces", tmp_path)  # LFW-style folders of the shared photos
    # one fold: 3 matched pairs of obama's photos, 3 mismatched (obama against biden and group faces)
    pairs = tmp_path / "one-fold.txt"
    pairs.write_text(
        "1\t3\nobama\t1\t2\nobama\t1\t3\nobama\t2\t3\n"
        "obama\t1\tbiden\t1\nobama\t2\tgroup1\t1\nobama\t3\tgroup2\t1\n"
    )
    assert bench.main(["--root", str(tmp_path), "--pairs", str(pairs), "--variants",
                       "centerface-box,centerface-box+flip"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "in 1 folds" in out
    lines = [ln for ln in out.splitlines() if ln.startswith("centerface-box")]
    assert len(lines) == 2
    for line in lines:
        assert "1 fold: no other fold to learn a threshold from, dlib's fixed 0.6 used" in line
        assert "accuracy 100.00% +- 0.00%  false match rate 0.00%" in line


def test_fixed_threshold_scores_what_it_accepts() -> None:
    bench = _bench()
    d = np.array([0.3, 0.59, 0.61, 0.5, 0.7, 0.9])
    same = np.array([True, True, True, False, False, False])
    mean, std, thresholds, fmr = bench.ten_fold(d, same, np.zeros(6, int))
    assert thresholds == [0.6]
    assert mean == pytest.approx(4 / 6) and std == 0.0
    assert fmr == pytest.approx(1 / 3)  # the mismatched pair at 0.5 is a false match


def test_flip_averaging_keeps_identity(shared_data: Path, model_paths: list[Path]) -> None:
    detector = CenterFaceDetector(model_paths[0], threads=2)
    plain = FaceEmbedder(model_paths[1], model_paths[2])
    flip = FaceEmbedder(model_paths[1], model_paths[2], flip=True)
    faces = shared_data / "faces"
    templates: dict[str, dict[str, np.ndarray]] = {"plain": {}, "flip": {}}
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        image = cv2.imread(str(faces / name))
        found = detector.detect(image)
        box = found.xyxy[int(np.argmax(found.confidence))]
        templates["plain"][name] = plain.embed(image, box)
        templates["flip"][name] = flip.embed(image, box)
        # the benchmark's shared pass gives the same numbers as the two embedders
        both = flip.embed_with_flip(image, box)
        np.testing.assert_allclose(both[0], templates["plain"][name], atol=1e-6)
        np.testing.assert_allclose(both[1], templates["flip"][name], atol=1e-6)
        assert landmark_box(found.landmarks[int(np.argmax(found.confidence))]).shape == (4,)
    for kind, t in templates.items():
        same = np.linalg.norm(t["obama.jpg"] - t["obama2.jpg"])
        other = np.linalg.norm(t["obama.jpg"] - t["biden.jpg"])
        assert same < 0.6 < other, kind
    a, b = templates["plain"]["obama.jpg"], templates["flip"]["obama.jpg"]
    assert 0 < np.linalg.norm(a - b) < 0.2  # the mirror changes the template, a little
    assert np.linalg.norm(b) == pytest.approx(np.linalg.norm(a), rel=0.05)  # rescaled to dlib's length


@pytest.mark.parametrize("flip", [False, True])
def test_face_step_follows_flip_setting(model_paths: list[Path], tmp_path: Path, flip: bool) -> None:
    from safecity.biometrics.config import BiometricsConfig
    from safecity.biometrics.runtime import Biometrics

    # the models are loaded from the cache the face step uses; no database is touched
    runtime = Biometrics(
        lambda: None, None, BiometricsConfig(flip_average=flip), default_cache_dir(), tmp_path
    )
    assert runtime._load_models()[1].flip is flip


@pytest.mark.parametrize("hog_box", [False, True])
def test_face_step_follows_hog_box_setting(model_paths: list[Path], tmp_path: Path, hog_box: bool) -> None:
    from safecity.biometrics.config import BiometricsConfig
    from safecity.biometrics.runtime import Biometrics

    runtime = Biometrics(lambda: None, None, BiometricsConfig(hog_box=hog_box), default_cache_dir(), tmp_path)
    assert runtime._load_models()[1].hog_box is hog_box


def test_embedder_comparison_bench_on_shared_photos(
    shared_data: Path, model_paths: list[Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bench/face_embedders.py` end to end on the shared photos with the dlib embedders (the TF.js ones
    need the npm package): dlib's landmarks and CenterFace's, plain and flip-averaged, and their fusion."""
    spec = importlib.util.spec_from_file_location("face_embedders", ROOT / "bench/face_embedders.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    pairs = _bench().from_shared(shared_data / "faces", tmp_path / "set")
    args = ["--root", str(tmp_path / "set"), "--pairs", str(pairs), "--embedders", "dlib,dlib-cf5"]
    assert module.main([*args, "--fuse", "dlib+dlib-cf5", "--cache", str(tmp_path / "cache")]) == 0
    out = capsys.readouterr().out
    for label in ("dlib ", "dlib+flip ", "dlib-cf5 ", "dlib-cf5+flip ", "dlib + dlib-cf5 "):
        assert any(line.startswith(label) and "accuracy" in line for line in out.splitlines()), label
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == ["dlib-cf5.npz", "dlib.npz"]
    # a second run reads the cached embeddings
    assert module.main([*args, "--cache", str(tmp_path / "cache")]) == 0
    assert "cached run" in capsys.readouterr().out
