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


def centernet_model(path: Path, heat: np.ndarray, sides: np.ndarray, size: int = 64) -> Path:
    """An NHWC model (as converted from TF.js) whose two outputs are the given heatmap and box sides."""
    inp = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, size, size, 3])
    outs = [
        helper.make_tensor_value_info(n, TensorProto.FLOAT, list(a.shape))
        for n, a in (("keypoints", heat), ("wh", sides))
    ]
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["m"], keepdims=0),
        helper.make_node("Mul", ["m", "zero"], ["z"]),
        helper.make_node("Add", ["heat", "z"], ["keypoints"]),
        helper.make_node("Add", ["sides", "z"], ["wh"]),
    ]
    inits = [
        numpy_helper.from_array(heat.astype(np.float32), "heat"),
        numpy_helper.from_array(sides.astype(np.float32), "sides"),
        numpy_helper.from_array(np.array(0, np.float32), "zero"),
    ]
    model = helper.make_model(
        helper.make_graph(nodes, "centernet", [inp], outs, inits), opset_imports=[helper.make_opsetid("", 17)]
    )
    onnx.checker.check_model(model)
    onnx.save(model, path)
    return path


def test_centernet_layout_keeps_peaks_and_maps_boxes_back(tmp_path: Path) -> None:
    heat = np.zeros((1, 16, 16, 80), np.float32)
    sides = np.zeros((1, 16, 16, 4), np.float32)
    heat[0, 5, 6, 0] = 0.8  # a person peak at cell (x 6, y 5): centre (24, 20) in the 64x64 input
    heat[0, 5, 7, 0] = 0.7  # its neighbour: not a 3x3 maximum, so no second box
    heat[0, 12, 3, 2] = 0.6  # a car, far away: a peak of its own
    heat[0, 12, 4, 0] = 0.9  # a person next to the car: other classes do not suppress each other
    heat[0, 1, 1, 16] = 0.95  # a dog: not a class of interest
    sides[0, 5, 6] = (4, 8, 6, 10)  # left, top, right, bottom in input pixels
    sides[0, 12, 3] = (2, 2, 2, 2)
    sides[0, 12, 4] = (1, 1, 1, 1)
    model = centernet_model(tmp_path / "c.onnx", heat, sides)
    det = OnnxDetector(
        model, layout="centernet", input_size=(64, 64), class_ids=[0, 2], confidence=0.5, threads=1
    )
    out = det.detect(np.zeros((32, 128, 3), np.uint8))  # stretched: x / 2 back to 128, y * 2 to 32
    order = np.argsort(-out.confidence)
    np.testing.assert_allclose(out.confidence[order], [0.9, 0.8, 0.6], atol=1e-6)
    assert out.class_id[order].tolist() == [0, 0, 2]
    np.testing.assert_allclose(out.xyxy[order[1]], [40, 6, 60, 15], atol=1e-4)  # (20, 12, 30, 30) scaled
    np.testing.assert_allclose(out.xyxy[order[2]], [20, 23, 28, 25], atol=1e-4)  # (10, 46, 14, 50) scaled
