"""Per-camera detector choice (`detectors:` in the settings): which cameras get which detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import supervision as sv
from onnx import TensorProto, helper, numpy_helper
from pydantic import ValidationError

from safecity.bus.memory import MemoryBus
from safecity.config.models import CameraConfig, Settings
from safecity.media.config import build_storage
from safecity.runtime.camera import CameraFactory
from safecity.runtime.services import build_detector
from safecity.types import Frame
from safecity.vision.detector import OnnxDetector


class Counting:
    """A detector that finds nothing and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.calls += 1
        return sv.Detections.empty()


def settings(tmp_path: Path, detectors: list[dict[str, object]]) -> Settings:
    return Settings.model_validate({"storage": {"data_dir": str(tmp_path)}, "detectors": detectors})


def test_detector_for_a_camera_and_validation(tmp_path: Path) -> None:
    s = settings(
        tmp_path, [{"id": "strong", "cameras": ["plaza"], "model": "centernet-512", "layout": "centernet"}]
    )
    assert s.detector_for("plaza").model == "centernet-512"
    assert s.detector_for("lobby") is s.detector
    with pytest.raises(ValidationError, match="one detector only: plaza"):
        settings(
            tmp_path,
            [{"id": "a", "cameras": ["plaza"]}, {"id": "b", "cameras": ["gate", "plaza"]}],
        )
    with pytest.raises(ValidationError, match="unique: a"):
        settings(tmp_path, [{"id": "a", "cameras": ["x"]}, {"id": "a", "cameras": ["y"]}])
    with pytest.raises(ValidationError, match=r"too_short|at least 1"):
        settings(tmp_path, [{"id": "a", "cameras": []}])


def test_factory_gives_each_camera_its_detector(tmp_path: Path) -> None:
    s = settings(tmp_path, [{"id": "strong", "cameras": ["plaza"], "input_size": [512, 512]}])
    node, strong = Counting(), Counting()
    media = build_storage(s.media, tmp_path / "media")
    factory = CameraFactory(s, node, MemoryBus(), media, detectors={"strong": strong})
    image = np.zeros((48, 64, 3), np.uint8)
    for camera_id, expected in (("plaza", strong), ("lobby", node)):
        runtime = factory.build(CameraConfig(id=camera_id, source="file.mp4"))
        analyzer = runtime.worker.analyzer
        assert analyzer.detector is expected
        before = (node.calls, strong.calls)
        analyzer.analyse(Frame(camera_id, 1, 0.0, 1000.0, image))
        other = strong if expected is node else node
        assert expected.calls == before[expected is strong] + 1
        assert other.calls == before[other is strong], "the other camera's detector must not run"


def _yolov8_model(path: Path, size: int) -> Path:
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 84, 1])
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["const", "z"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(np.zeros((1, 84, 1), np.float32), "const"),
        numpy_helper.from_array(np.array(0, np.float32), "zero"),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "m", [inp], [out], inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    onnx.save(model, path)
    return path


def test_build_detector_uses_the_named_entry(tmp_path: Path) -> None:
    model = _yolov8_model(tmp_path / "other.onnx", 96)
    entry = {
        "id": "other",
        "cameras": ["plaza"],
        "type": "onnx",
        "model": str(model),
        "layout": "yolov8",
        "input_size": [96, 96],
        "confidence": 0.4,
        "threads": 1,
        "batch": {"enabled": False},
    }
    s = settings(tmp_path, [entry])
    det = build_detector(s, s.detectors[0])
    assert isinstance(det, OnnxDetector)
    assert (det.layout, det.input_size, det.confidence) == ("yolov8", (96, 96), 0.4)
    assert len(det.detect(np.zeros((50, 70, 3), np.uint8))) == 0
