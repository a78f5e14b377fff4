"""The optional MB3-CenterNet 512 model: installed from the npm package, converted, and finding people.

Its conversion was checked once against TF.js itself (tfjs-core 4.22 with the pure-JS CPU backend
running the original `centernet.json`, `bench/tfjs_oracle.py`): max abs difference 6e-7 on the heatmap,
3e-3 px on box sides up to 317 px. No such oracle is in the shared data, so this test guards against
gross conversion or preprocessing errors with real images instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.vision.detector import OnnxDetector
from safecity.vision.models import InstalledModel, install_models

pytestmark = [pytest.mark.models, pytest.mark.slow]


@pytest.fixture(scope="module")
def centernet(tmp_path_factory: pytest.TempPathFactory) -> InstalledModel:
    env = os.environ.get("SAFECITY_MODELS_DIR")
    cache = Path(env) if env else tmp_path_factory.mktemp("models")
    # offline: the npm package is in npm's cache since `scripts/install.sh` fetched it for NanoDet; a test
    # never reaches a registry
    with pytest.MonkeyPatch.context() as env:
        env.setenv("npm_config_offline", "true")
        models = {m.name: m for m in install_models(cache, extra=["centernet-512"])}
    return models["centernet-512"]


def test_centernet_finds_the_bus_and_its_passengers(centernet: InstalledModel, shared_data: Path) -> None:
    image = cv2.imread(str(shared_data / "images" / "bus.jpg"))
    det = OnnxDetector(
        centernet.path, layout="centernet", input_size=(512, 512), class_ids=[0, 5], confidence=0.3, threads=2
    )
    out = det.detect(image)
    people = out.xyxy[out.class_id == 0]
    assert (out.class_id == 5).sum() == 1, "the bus"
    assert len(people) >= 3, out
    assert np.all(people[:, 3] - people[:, 1] > 300), "whole standing people, not fragments"


def test_centernet_runs_a_batch(centernet: InstalledModel, shared_data: Path) -> None:
    image = cv2.imread(str(shared_data / "images" / "bus.jpg"))
    det = OnnxDetector(
        centernet.path, layout="centernet", input_size=(512, 512), class_ids=[0], confidence=0.3, threads=2
    )
    single = det.detect(image)
    batch = det.detect_batch([image, cv2.flip(image, 1)])
    np.testing.assert_allclose(batch[0].xyxy, single.xyxy, atol=1e-3)
    assert len(batch[1]) == len(single)
