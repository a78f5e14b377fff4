"""User-supplied ONNX detectors: each documented output layout, through real ONNX Runtime sessions.

The models here are tiny graphs that emit a known output tensor, so the test checks the whole path a user
model takes (letterbox, session, decoding, mapping back to image pixels, class filter, NMS).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from safecity.vision.detector import OnnxDetector


def constant_model(path: Path, output: np.ndarray, size: int = 64) -> Path:
    """A model whose output is `output` + 0 * mean(input) (so the input is really consumed)."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, size, size])
    out = helper.make_tensor_value_info("output0", TensorProto.FLOAT, list(output.shape))
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["const", "z"], ["output0"]),
    ]
    inits = [
        numpy_helper.from_array(output.astype(np.float32), "const"),
        numpy_helper.from_array(np.array(0, np.float32), "zero"),
    ]
    graph = helper.make_graph(nodes, "const", [inp], [out], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def yolo_rows(boxes: list[tuple[float, float, float, float, int, float]], classes: int = 80) -> np.ndarray:
    rows = np.zeros((len(boxes), 4 + classes), np.float32)
    for i, (cx, cy, w, h, cls, score) in enumerate(boxes):
        rows[i, :4] = (cx, cy, w, h)
        rows[i, 4 + cls] = score
    return rows


def test_yolov8_layout_maps_letterboxed_boxes_back(tmp_path: Path) -> None:
    # 128x64 image into a 64x64 input: scale 0.5, centred, 16 px of padding above and below
    rows = yolo_rows([(32, 32, 20, 10, 0, 0.9), (33, 32, 20, 10, 0, 0.8), (10, 40, 4, 4, 16, 0.95)])
    model = constant_model(tmp_path / "v8.onnx", rows.T[None])  # [1, 84, N]
    det = OnnxDetector(
        model, layout="yolov8", input_size=(64, 64), class_ids=[0, 2], confidence=0.5, threads=1
    )
    out = det.detect(np.zeros((64, 128, 3), np.uint8))
    assert len(out) == 1  # NMS keeps the better of the two overlapping persons; the dog (16) is filtered
    np.testing.assert_allclose(out.xyxy[0], [44, 22, 84, 42], atol=1e-4)
    assert out.class_id[0] == 0 and out.confidence[0] == pytest.approx(0.9)


def test_yolox_layout_multiplies_objectness(tmp_path: Path) -> None:
    rows = yolo_rows([(20, 20, 10, 10, 2, 0.9), (40, 40, 10, 10, 2, 0.9)])
    rows = np.insert(rows, 4, [0.9, 0.3], axis=1)  # objectness column: 0.81 and 0.27 after multiplying
    model = constant_model(tmp_path / "x.onnx", rows[None])  # [1, N, 85]
    det = OnnxDetector(model, layout="yolox", input_size=(64, 64), class_ids=[2], confidence=0.5, threads=1)
    out = det.detect(np.zeros((32, 32, 3), np.uint8))  # scale 2, top-left placement, no padding offset
    assert len(out) == 1
    np.testing.assert_allclose(out.xyxy[0], [7.5, 7.5, 12.5, 12.5], atol=1e-4)
    assert out.confidence[0] == pytest.approx(0.81)


def test_unknown_layout_and_empty_classes_are_refused(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "m.onnx", np.zeros((1, 84, 1), np.float32))
    with pytest.raises(ValueError, match="unknown detector layout 'ssd'"):
        OnnxDetector(model, layout="ssd", class_ids=[0])
    with pytest.raises(ValueError, match="at least one class"):
        OnnxDetector(model, layout="yolov8", class_ids=[])
