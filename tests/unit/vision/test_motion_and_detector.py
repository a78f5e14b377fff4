"""The motion gate on real video frames, and the installed NanoDet on real photographs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from safecity.ingest import SourceSpec, open_source
from safecity.types import COCO_CLASSES
from safecity.vision.detector import OnnxDetector
from safecity.vision.motion import MotionGate


def first_frames(video: Path, n: int) -> list[np.ndarray]:
    out = []
    for frame in open_source(SourceSpec(camera_id="t", url=str(video))).frames():
        out.append(frame.image)
        if len(out) == n:
            break
    return out


def test_gate_skips_a_still_scene_and_wakes_on_movement(pets_video: Path) -> None:
    frames = first_frames(pets_video, 30)
    gate = MotionGate(max_skip_s=100)
    assert gate.should_detect(frames[0], 0.0)  # no reference yet
    assert not gate.should_detect(frames[0].copy(), 0.1)  # the same picture again: nothing moved
    # people walk in PETS: a second later the scene differs from the reference
    assert gate.should_detect(frames[10], 1.0)
    assert gate.last_changed_fraction > gate.min_changed_fraction


def test_gate_runs_the_detector_at_least_every_max_skip(pets_video: Path) -> None:
    frame = first_frames(pets_video, 1)[0]
    gate = MotionGate(max_skip_s=2.0)
    decisions = [gate.should_detect(frame, t * 0.5) for t in range(9)]
    assert decisions == [True, False, False, False, True, False, False, False, True]


def test_disabled_gate_always_detects(pets_video: Path) -> None:
    frame = first_frames(pets_video, 1)[0]
    gate = MotionGate(enabled=False)
    assert all(gate.should_detect(frame, float(t)) for t in range(5))


@pytest.mark.models
def test_nanodet_finds_the_bus_and_its_passengers(shared_data: Path, nanodet_model: Path) -> None:
    det = OnnxDetector(nanodet_model, class_ids=list(COCO_CLASSES), threads=1)
    image = cv2.imread(str(shared_data / "images" / "bus.jpg"))
    out = det.detect(image)
    labels = sorted(COCO_CLASSES[int(c)] for c in out.class_id)
    assert labels.count("bus") == 1 and labels.count("person") >= 3
    bus = out.xyxy[list(out.class_id).index(5)]
    assert bus[2] - bus[0] > 0.8 * image.shape[1]  # the bus spans the picture
    assert (out.xyxy[:, 2] <= image.shape[1]).all() and (out.xyxy[:, 3] <= image.shape[0]).all()


@pytest.mark.models
def test_nanodet_class_filter(shared_data: Path, nanodet_model: Path) -> None:
    det = OnnxDetector(nanodet_model, class_ids=[2, 7], threads=1)  # cars and trucks only
    out = det.detect(cv2.imread(str(shared_data / "images" / "bus.jpg")))
    assert set(out.class_id.tolist()) <= {2, 7}
    kite = OnnxDetector(nanodet_model, class_ids=[0], threads=1).detect(
        cv2.imread(str(shared_data / "images" / "kite.jpg"))
    )
    assert len(kite) >= 5 and set(kite.class_id.tolist()) == {0}  # many small people on the beach
