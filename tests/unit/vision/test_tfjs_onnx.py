"""The TF.js -> ONNX converter on small synthetic graphs, each checked against a numpy reference of TF."""

from __future__ import annotations

import base64
import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
import onnxruntime as ort
import pytest

from safecity.vision.tfjs_onnx import (
    TfjsConversionError,
    UnsupportedOpError,
    convert_tfjs_to_onnx,
    read_weights,
    save_onnx,
)

Array = npt.NDArray[Any]
RNG = np.random.default_rng(1234)


# ---------------------------------------------------------------- building TF.js graph models


def _s(text: str) -> dict[str, str]:
    return {"s": base64.b64encode(text.encode()).decode()}


def _ints(values: list[int]) -> dict[str, dict[str, list[str]]]:
    return {"list": {"i": [str(v) for v in values]}}


_TF_TYPES = {np.dtype(np.float32): "DT_FLOAT", np.dtype(np.int32): "DT_INT32", np.dtype(np.int64): "DT_INT64"}


class TfjsModel:
    """Writes a TF.js graph model (model.json + one .bin shard) the way tfjs-converter lays it out."""

    def __init__(self) -> None:
        self.nodes: list[dict[str, Any]] = []
        self.weights: list[dict[str, Any]] = []
        self.data = bytearray()

    def placeholder(self, name: str, shape: list[int]) -> str:
        dims = [{"size": str(d)} for d in shape]
        self.nodes.append(
            {
                "name": name,
                "op": "Placeholder",
                "attr": {"shape": {"shape": {"dim": dims}}, "dtype": {"type": "DT_FLOAT"}},
            }
        )
        return name

    def const(self, name: str, value: Any, dtype: Any = np.float32, *, quantize: str | None = None) -> str:
        array = np.asarray(value, dtype=dtype)
        tf_type = _TF_TYPES[array.dtype]
        stored = array.astype(np.int32) if array.dtype == np.int64 else array  # TF.js keeps int64 as int32
        spec: dict[str, Any] = {"name": name, "shape": list(array.shape), "dtype": str(stored.dtype)}
        if quantize == "float16":
            spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
            stored = array.astype("<f2")
        self.weights.append(spec)
        self.data += stored.astype(stored.dtype.newbyteorder("<")).tobytes()
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": tf_type}, "value": {}}})
        return name

    def op(self, name: str, op: str, inputs: list[str], **attr: Any) -> str:
        self.nodes.append({"name": name, "op": op, "input": inputs, "attr": attr})
        return name

    def write(self, directory: Path, inputs: list[str], outputs: list[str]) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "group1-shard1of1.bin").write_bytes(bytes(self.data))
        model = {
            "format": "graph-model",
            "signature": {
                "inputs": {f"{n}:0": {"name": f"{n}:0"} for n in inputs},
                "outputs": {
                    o if ":" in o else f"{o}:0": {"name": o if ":" in o else f"{o}:0"} for o in outputs
                },
            },
            "modelTopology": {"node": self.nodes, "library": {}, "versions": {}},
            "weightsManifest": [{"paths": ["group1-shard1of1.bin"], "weights": self.weights}],
        }
        path = directory / "model.json"
        path.write_text(json.dumps(model))
        return path


def run(model: onnx.ModelProto, feeds: dict[str, Array]) -> list[Array]:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return [np.asarray(o) for o in session.run(None, feeds)]


def op_counts(model: onnx.ModelProto) -> Counter[str]:
    return Counter(n.op_type for n in model.graph.node)


# ---------------------------------------------------------------- numpy references of the TF ops


def same_pads(size: int, k: int, s: int, d: int) -> tuple[int, int]:
    total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
    return total // 2, total - total // 2


def ref_conv_nhwc(
    x: Array,
    w: Array,
    stride: int,
    pads: tuple[tuple[int, int], tuple[int, int]],
    dilation: int = 1,
    groups: int = 1,
) -> Array:
    xp = np.pad(x.astype(np.float64), ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, cin_g, cout = w.shape
    oh = (xp.shape[1] - (kh - 1) * dilation - 1) // stride + 1
    ow = (xp.shape[2] - (kw - 1) * dilation - 1) // stride + 1
    out = np.zeros((x.shape[0], oh, ow, cout))
    cout_g = cout // groups
    for g in range(groups):
        for i in range(kh):
            for j in range(kw):
                rows = slice(i * dilation, i * dilation + stride * (oh - 1) + 1, stride)
                cols = slice(j * dilation, j * dilation + stride * (ow - 1) + 1, stride)
                patch = xp[:, rows, cols, g * cin_g : (g + 1) * cin_g]
                out[..., g * cout_g : (g + 1) * cout_g] += patch @ w[i, j, :, g * cout_g : (g + 1) * cout_g]
    return out


def ref_max_pool_nhwc(x: Array, k: int, s: int, pads: tuple[tuple[int, int], tuple[int, int]]) -> Array:
    xp = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=-np.inf)
    oh, ow = (xp.shape[1] - k) // s + 1, (xp.shape[2] - k) // s + 1
    windows = [
        xp[:, i : i + s * (oh - 1) + 1 : s, j : j + s * (ow - 1) + 1 : s] for i in range(k) for j in range(k)
    ]
    return np.max(windows, axis=0)


def _tf_interpolation(out_size: int, in_size: int, align: bool, half: bool) -> tuple[Array, Array, Array]:
    """tensorflow/core/kernels/image/resize_bilinear_op.cc: compute_interpolation_weights."""
    scale = (in_size - 1) / (out_size - 1) if align and out_size > 1 else in_size / out_size
    pos = np.arange(out_size, dtype=np.float64)
    src = (pos + 0.5) * scale - 0.5 if half else pos * scale
    lower = np.maximum(np.floor(src), 0).astype(int)
    upper = np.minimum(np.ceil(src), in_size - 1).astype(int)
    return lower, upper, src - np.floor(src)


def ref_resize_bilinear(x: Array, size: tuple[int, int], align: bool, half: bool) -> Array:
    ylo, yhi, ylerp = _tf_interpolation(size[0], x.shape[1], align, half)
    xlo, xhi, xlerp = _tf_interpolation(size[1], x.shape[2], align, half)
    xl, xr = xlerp[None, None, :, None], 1 - xlerp[None, None, :, None]
    top = x[:, ylo][:, :, xlo] * xr + x[:, ylo][:, :, xhi] * xl
    bottom = x[:, yhi][:, :, xlo] * xr + x[:, yhi][:, :, xhi] * xl
    return top + (bottom - top) * ylerp[None, :, None, None]


def leaky_relu(x: Array, alpha: float) -> Array:
    return np.where(x > 0, x, alpha * x)


def sigmoid(x: Array) -> Array:
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------- tests


def test_conv2d_bias_leaky_relu_nhwc_same(tmp_path: Path) -> None:
    x = RNG.normal(size=(1, 9, 11, 3)).astype(np.float32)
    w = RNG.normal(size=(3, 3, 3, 5)).astype(np.float32)
    bias = RNG.normal(size=5).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 9, 11, 3])
    m.const("w", w, quantize="float16")
    m.const("bias", bias)
    m.op(
        "conv",
        "Conv2D",
        ["x", "w"],
        strides=_ints([1, 2, 2, 1]),
        padding=_s("SAME"),
        data_format=_s("NHWC"),
        dilations=_ints([1, 1, 1, 1]),
    )
    m.op("add", "AddV2", ["conv", "bias"])
    m.op("act", "LeakyRelu", ["add"], alpha={"f": 0.1})
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["act"]))
    (out,) = run(model, {"x:0": x})
    w16 = w.astype(np.float16).astype(np.float32)  # the converter must dequantize float16 weights
    pads = (same_pads(9, 3, 2, 1), same_pads(11, 3, 2, 1))
    expected = leaky_relu(ref_conv_nhwc(x, w16, 2, pads) + bias, 0.1)
    assert out.shape == expected.shape == (1, 5, 6, 5)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    conv = next(n for n in model.graph.node if n.op_type == "Conv")
    assert len(conv.input) == 3, "a per-channel Add after Conv2D is folded into the Conv bias"
    assert op_counts(model)["Add"] == 0


def test_conv2d_nchw_explicit_padding_dilation_groups(tmp_path: Path) -> None:
    x = RNG.normal(size=(2, 4, 10, 8)).astype(np.float32)
    w = RNG.normal(size=(3, 3, 2, 6)).astype(np.float32)  # 4 input channels / depth 2 -> 2 groups
    m = TfjsModel()
    m.placeholder("x", [2, 4, 10, 8])
    m.const("w", w)
    m.op(
        "conv",
        "Conv2D",
        ["x", "w"],
        strides=_ints([1, 1, 2, 1]),
        padding=_s("EXPLICIT"),
        explicit_paddings=_ints([0, 0, 0, 0, 2, 1, 0, 3]),
        data_format=_s("NCHW"),
        dilations=_ints([1, 1, 2, 2]),
    )
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["conv"]))
    (out,) = run(model, {"x:0": x})
    nhwc = _ref_conv_rect(x.transpose(0, 2, 3, 1), w, (2, 1), ((2, 1), (0, 3)), dilation=2, groups=2)
    expected = nhwc.transpose(0, 3, 1, 2)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)


Pads2 = tuple[tuple[int, int], tuple[int, int]]


def _ref_conv_rect(
    x: Array, w: Array, strides: tuple[int, int], pads: Pads2, dilation: int, groups: int
) -> Array:
    """Conv with different vertical/horizontal strides: stride 1 reference, then subsample."""
    full = ref_conv_nhwc(x, w, 1, pads, dilation=dilation, groups=groups)
    return full[:, :: strides[0], :: strides[1]]


def test_nchw_graph_with_nhwc_convs_needs_no_transposes(tmp_path: Path) -> None:
    """The TF.js-from-ONNX pattern: NCHW Pad -> Transpose -> NHWC Conv2D -> Add -> Transpose -> LeakyRelu."""
    x = RNG.normal(size=(1, 3, 8, 8)).astype(np.float32)
    w = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    bias = RNG.normal(size=4).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 3, 8, 8])
    m.const("pads", [[0, 0], [0, 0], [1, 1], [1, 1]], np.int32)
    m.const("to_nhwc", [0, 2, 3, 1], np.int32)
    m.const("to_nchw", [0, 3, 1, 2], np.int32)
    m.const("w", w)
    m.const("bias", bias)
    m.op("pad", "Pad", ["x", "pads"])
    m.op("t1", "Transpose", ["pad", "to_nhwc"])
    m.op(
        "conv",
        "Conv2D",
        ["t1", "w"],
        strides=_ints([1, 1, 1, 1]),
        padding=_s("VALID"),
        data_format=_s("NHWC"),
    )
    m.op("add", "Add", ["conv", "bias"])
    m.op("t2", "Transpose", ["add", "to_nchw"])
    m.op("act", "LeakyRelu", ["t2"], alpha={"f": 0.2})
    m.op("out", "Identity", ["act"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["out"]))
    (out,) = run(model, {"x:0": x})
    expected = leaky_relu(ref_conv_nhwc(x.transpose(0, 2, 3, 1), w, 1, ((1, 1), (1, 1))) + bias, 0.2)
    np.testing.assert_allclose(out, expected.transpose(0, 3, 1, 2), rtol=1e-4, atol=1e-4)
    assert op_counts(model) == Counter({"Pad": 1, "Conv": 1, "LeakyRelu": 1, "Identity": 1})


def test_ops_on_a_tensor_with_a_pending_layout(tmp_path: Path) -> None:
    """Pad, Add, Transpose, SplitV and ConcatV2 applied to an NHWC Conv2D result (physically NCHW)."""
    x = RNG.normal(size=(1, 6, 5, 2)).astype(np.float32)
    w = RNG.normal(size=(1, 1, 2, 3)).astype(np.float32)
    offset = RNG.normal(size=(9, 1, 3)).astype(np.float32)
    filler = RNG.normal(size=(1, 1, 8, 9)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 6, 5, 2])
    m.const("w", w)
    m.const("pads", [[0, 0], [1, 2], [3, 0], [0, 0]], np.int32)
    m.const("offset", offset)
    m.const("perm", [0, 3, 2, 1], np.int32)
    m.const("sizes", [1, -1], np.int32)
    m.const("one", 1, np.int32)
    m.const("filler", filler)
    m.op("conv", "Conv2D", ["x", "w"], strides=_ints([1, 1, 1, 1]), padding=_s("VALID"))
    m.op("pad", "Pad", ["conv", "pads"])
    m.op("add", "AddV2", ["pad", "offset"])
    m.op("t", "Transpose", ["add", "perm"])
    m.op("split", "SplitV", ["t", "sizes", "one"], num_split={"i": "2"})
    m.op("cat", "ConcatV2", ["split:1", "filler", "split", "one"], N={"i": "3"})
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["cat"]))
    (out,) = run(model, {"x:0": x})
    padded = np.pad(ref_conv_nhwc(x, w, 1, ((0, 0), (0, 0))), ((0, 0), (1, 2), (3, 0), (0, 0)))
    t = (padded + offset).transpose(0, 3, 2, 1)
    expected = np.concatenate([t[:, 1:], filler, t[:, :1]], axis=1)
    assert out.shape == expected.shape == (1, 4, 8, 9)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_concat_of_nhwc_results_same_and_mixed_layouts(tmp_path: Path) -> None:
    x = RNG.normal(size=(1, 4, 5, 2)).astype(np.float32)
    y = RNG.normal(size=(1, 4, 5, 1)).astype(np.float32)
    w1 = RNG.normal(size=(1, 1, 2, 3)).astype(np.float32)
    w2 = RNG.normal(size=(1, 1, 2, 2)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 4, 5, 2])
    m.placeholder("y", [1, 4, 5, 1])
    m.const("w1", w1)
    m.const("w2", w2)
    m.const("channels", -1, np.int32)
    for name, weights in (("c1", "w1"), ("c2", "w2")):
        m.op(name, "Conv2D", ["x", weights], strides=_ints([1, 1, 1, 1]), padding=_s("VALID"))
    m.op("same", "ConcatV2", ["c1", "c2", "channels"], N={"i": "2"})
    m.op("mixed", "ConcatV2", ["c1", "y", "channels"], N={"i": "2"})
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x", "y"], ["same", "mixed"]))
    same, mixed = run(model, {"x:0": x, "y:0": y})
    c1, c2 = ref_conv_nhwc(x, w1, 1, ((0, 0), (0, 0))), ref_conv_nhwc(x, w2, 1, ((0, 0), (0, 0)))
    np.testing.assert_allclose(same, np.concatenate([c1, c2], axis=-1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(mixed, np.concatenate([c1, y], axis=-1), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("padding", "k", "s"), [("VALID", 3, 2), ("SAME", 3, 2), ("SAME", 2, 1)])
def test_pad_v2_then_max_pool(tmp_path: Path, padding: str, k: int, s: int) -> None:
    x = RNG.normal(size=(1, 7, 9, 2)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 7, 9, 2])
    m.const("pads", [[0, 0], [1, 0], [0, 2], [0, 0]], np.int32)
    m.const("fill", -0.5)
    m.op("pad", "PadV2", ["x", "pads", "fill"])
    m.op(
        "pool",
        "MaxPool",
        ["pad"],
        ksize=_ints([1, k, k, 1]),
        strides=_ints([1, s, s, 1]),
        padding=_s(padding),
        data_format=_s("NHWC"),
    )
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["pool"]))
    (out,) = run(model, {"x:0": x})
    padded = np.pad(x, ((0, 0), (1, 0), (0, 2), (0, 0)), constant_values=-0.5)
    pool_pads = (same_pads(8, k, s, 1), same_pads(11, k, s, 1)) if padding == "SAME" else ((0, 0), (0, 0))
    expected = ref_max_pool_nhwc(padded, k, s, pool_pads)
    assert out.shape == expected.shape
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize(
    ("align", "half", "size"),
    [(False, True, (10, 14)), (True, False, (10, 14)), (False, False, (10, 14)), (False, True, (3, 2))],
)
def test_resize_bilinear_modes(tmp_path: Path, align: bool, half: bool, size: tuple[int, int]) -> None:
    x = RNG.normal(size=(2, 5, 7, 3)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [2, 5, 7, 3])
    m.const("size", list(size), np.int32)
    m.op(
        "resize", "ResizeBilinear", ["x", "size"], align_corners={"b": align}, half_pixel_centers={"b": half}
    )
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["resize"]))
    (out,) = run(model, {"x:0": x})
    expected = ref_resize_bilinear(x.astype(np.float64), size, align, half)
    assert out.shape == expected.shape == (2, *size, 3)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_resize_bilinear_dynamic_batch(tmp_path: Path) -> None:
    x = RNG.normal(size=(3, 4, 4, 2)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [-1, 4, 4, 2])
    m.const("size", [8, 8], np.int32)
    m.op("resize", "ResizeBilinear", ["x", "size"], half_pixel_centers={"b": True})
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["resize"]))
    (out,) = run(model, {"x:0": x})
    np.testing.assert_allclose(out, ref_resize_bilinear(x, (8, 8), False, True), rtol=1e-5, atol=1e-5)


def _head_graph(m: TfjsModel) -> None:
    """Transpose -> SplitV -> Sigmoid -> ConcatV2 -> Reshape (shape from a folded SparseToDense)."""
    m.placeholder("x", [1, 4, 6])
    m.const("perm", [0, 2, 1], np.int32)
    m.const("sizes", [2, -1], np.int32)
    m.const("split_dim", 1, np.int32)
    m.const("axis", -2, np.int32)
    m.const("base_shape", [1, -1, 2], np.int64)
    m.const("where", np.zeros((0, 1)), np.int64)
    m.const("dense_shape", [3], np.int64)
    m.const("gather", np.zeros(0), np.int64)
    m.const("zero", 0, np.int64)
    m.op("t", "Transpose", ["x", "perm"])
    m.op("split", "SplitV", ["t", "sizes", "split_dim"], num_split={"i": "2"})
    m.op("sig", "Sigmoid", ["split"])
    m.op("cat", "ConcatV2", ["sig", "split:1", "axis"], N={"i": "2"})
    m.op("std", "SparseToDense", ["where", "dense_shape", "gather", "zero"])
    m.op("shape", "AddV2", ["base_shape", "std"])
    m.op("reshape", "Reshape", ["cat", "shape"])
    m.op("Identity", "Identity", ["reshape"])
    m.op("Identity_1", "Identity", ["split:1"])


def test_split_sigmoid_concat_reshape_sparse_to_dense(tmp_path: Path) -> None:
    x = RNG.normal(size=(1, 4, 6)).astype(np.float32)
    m = TfjsModel()
    _head_graph(m)
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["Identity_1", "Identity"]))
    assert [o.name for o in model.graph.output] == ["Identity_1:0", "Identity:0"]
    second, reshaped = run(model, {"x:0": x})
    t = x.transpose(0, 2, 1)
    np.testing.assert_allclose(second, t[:, 2:], rtol=1e-6)
    expected = np.concatenate([sigmoid(t[:, :2]), t[:, 2:]], axis=1).reshape(1, -1, 2)
    np.testing.assert_allclose(reshaped, expected, rtol=1e-5, atol=1e-6)
    assert "SparseToDense" not in {n.op_type for n in model.graph.node}


def test_sparse_to_dense_with_values_is_folded(tmp_path: Path) -> None:
    m = TfjsModel()
    m.placeholder("x", [2, 3])
    m.const("indices", [[0, 2], [1, 0]], np.int32)
    m.const("dense_shape", [2, 3], np.int32)
    m.const("values", [5.0, 7.0])
    m.const("default", 1.0)
    m.op("dense", "SparseToDense", ["indices", "dense_shape", "values", "default"])
    m.op("sum", "Add", ["x", "dense"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["sum"]))
    x = np.zeros((2, 3), np.float32)
    (out,) = run(model, {"x:0": x})
    np.testing.assert_array_equal(out, [[1, 1, 5], [7, 1, 1]])


def test_sparse_to_dense_with_a_tensor_input_is_refused(tmp_path: Path) -> None:
    m = TfjsModel()
    m.placeholder("x", [3])
    m.const("indices", [0], np.int32)
    m.const("dense_shape", [3], np.int32)
    m.const("default", 0.0)
    m.op("dense", "SparseToDense", ["indices", "dense_shape", "x", "default"])
    with pytest.raises(TfjsConversionError, match=r"'dense'.*constant"):
        convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["dense"]))


def test_graph_output_in_a_transposed_layout(tmp_path: Path) -> None:
    """An NHWC op feeding both a graph output and another op: the output keeps its name and TF layout."""
    x = RNG.normal(size=(1, 5, 5, 2)).astype(np.float32)
    w = RNG.normal(size=(1, 1, 2, 3)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 5, 5, 2])
    m.const("w", w)
    m.op("conv", "Conv2D", ["x", "w"], strides=_ints([1, 1, 1, 1]), padding=_s("VALID"))
    m.op("act", "Sigmoid", ["conv"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["conv", "act"]))
    conv, act = run(model, {"x:0": x})
    expected = ref_conv_nhwc(x, w, 1, ((0, 0), (0, 0)))
    np.testing.assert_allclose(conv, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(act, sigmoid(expected), rtol=1e-5, atol=1e-6)


def test_unsupported_op_names_op_and_node(tmp_path: Path) -> None:
    m = TfjsModel()
    m.placeholder("x", [1, 4])
    m.op("head/probabilities", "Erf", ["x"])
    with pytest.raises(UnsupportedOpError, match=r"'Erf'.*'head/probabilities'") as info:
        convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["head/probabilities"]))
    assert (info.value.op, info.value.node) == ("Erf", "head/probabilities")


def test_unused_unsupported_nodes_are_pruned(tmp_path: Path) -> None:
    m = TfjsModel()
    m.placeholder("x", [1, 4])
    m.op("unused", "Erf", ["x"])
    m.op("y", "Sigmoid", ["x"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["y"]))
    assert op_counts(model) == Counter({"Sigmoid": 1, "Identity": 1})


def test_weights_decoding_and_dequantization(tmp_path: Path) -> None:
    values = np.array([0.0, 0.5, 1.0, 2.0], np.float32)
    q = np.array([0, 51, 255], np.uint8)
    shard = values.astype("<f2").tobytes() + q.tobytes() + np.array([7, -3], "<i4").tobytes()
    (tmp_path / "w.bin").write_bytes(shard)
    specs: list[dict[str, Any]] = [
        {
            "name": "half",
            "shape": [2, 2],
            "dtype": "float32",
            "quantization": {"dtype": "float16", "original_dtype": "float32"},
        },
        {
            "name": "u8",
            "shape": [3],
            "dtype": "float32",
            "quantization": {"dtype": "uint8", "scale": 0.1, "min": -1},
        },
        {"name": "ints", "shape": [2], "dtype": "int32"},
    ]
    manifest = [{"paths": ["w.bin"], "weights": specs}]
    weights = read_weights(manifest, tmp_path)
    np.testing.assert_array_equal(weights["half"], values.reshape(2, 2))
    assert weights["half"].dtype == np.float32
    np.testing.assert_allclose(weights["u8"], [-1.0, 4.1, 24.5], rtol=1e-6)
    np.testing.assert_array_equal(weights["ints"], [7, -3])
    specs.append({"name": "past_the_end", "shape": [4], "dtype": "float32"})
    with pytest.raises(TfjsConversionError, match="past_the_end"):
        read_weights(manifest, tmp_path)


def test_shard_paths_cannot_leave_the_model_directory(tmp_path: Path) -> None:
    (tmp_path / "outside.bin").write_bytes(b"\0" * 4)
    (tmp_path / "model").mkdir()
    manifest = [{"paths": ["../outside.bin"], "weights": [{"name": "w", "shape": [1], "dtype": "float32"}]}]
    with pytest.raises(TfjsConversionError, match="outside"):
        read_weights(manifest, tmp_path / "model")


def test_conversion_is_deterministic(tmp_path: Path) -> None:
    m = TfjsModel()
    _head_graph(m)
    path = m.write(tmp_path / "src", ["x"], ["Identity", "Identity_1"])
    save_onnx(convert_tfjs_to_onnx(path), tmp_path / "a.onnx")
    save_onnx(convert_tfjs_to_onnx(path), tmp_path / "b.onnx")
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()
    onnx.checker.check_model(onnx.load(str(tmp_path / "a.onnx")))


def test_constant_and_input_graph_outputs(tmp_path: Path) -> None:
    m = TfjsModel()
    m.placeholder("x", [2])
    m.const("c", [1.0, 2.0])
    m.op("y", "Add", ["x", "c"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["c", "x", "y"]))
    c, x, y = run(model, {"x:0": np.array([3.0, 4.0], np.float32)})
    np.testing.assert_array_equal(c, [1, 2])
    np.testing.assert_array_equal(x, [3, 4])
    np.testing.assert_array_equal(y, [4, 6])


def _fused(*ops: str) -> dict[str, Any]:
    return {"list": {"s": [base64.b64encode(op.encode()).decode() for op in ops]}}


def test_fused_conv_and_depthwise_convs(tmp_path: Path) -> None:
    """Grappler's _FusedConv2D (BiasAdd + Relu), FusedDepthwiseConv2dNative (channel multiplier 2, BiasAdd)
    and a plain DepthwiseConv2dNative, as MobileNet graphs exported to TF.js have them."""
    x = RNG.normal(size=(1, 9, 10, 4)).astype(np.float32)
    w = RNG.normal(size=(3, 3, 4, 6)).astype(np.float32)
    bias = RNG.normal(size=6).astype(np.float32)
    dw = RNG.normal(size=(3, 3, 6, 2)).astype(np.float32)
    dw_bias = RNG.normal(size=12).astype(np.float32)
    dw2 = RNG.normal(size=(3, 3, 12, 1)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 9, 10, 4])
    for name, value in (("w", w), ("bias", bias), ("dw", dw), ("dw_bias", dw_bias), ("dw2", dw2)):
        m.const(name, value, quantize="float16" if name == "w" else None)
    same, valid = _s("SAME"), _s("VALID")
    m.op("conv", "_FusedConv2D", ["x", "w", "bias"], strides=_ints([1, 2, 2, 1]), padding=same,
         fused_ops=_fused("BiasAdd", "Relu"), num_args={"i": "1"})  # fmt: skip
    m.op("dwc", "FusedDepthwiseConv2dNative", ["conv", "dw", "dw_bias"], strides=_ints([1, 1, 1, 1]),
         padding=same, fused_ops=_fused("BiasAdd"), num_args={"i": "1"})  # fmt: skip
    m.op("dwc2", "DepthwiseConv2dNative", ["dwc", "dw2"], strides=_ints([1, 1, 1, 1]), padding=valid)
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["conv", "dwc", "dwc2"]))
    conv, dwc, dwc2 = run(model, {"x:0": x})
    w16 = w.astype(np.float16).astype(np.float32)
    ref = np.maximum(ref_conv_nhwc(x, w16, 2, (same_pads(9, 3, 2, 1), same_pads(10, 3, 2, 1))) + bias, 0)
    ref_dw = ref_conv_nhwc(ref, dw.reshape(3, 3, 1, 12), 1, ((1, 1), (1, 1)), groups=6) + dw_bias
    ref_dw2 = ref_conv_nhwc(ref_dw, dw2.reshape(3, 3, 1, 12), 1, ((0, 0), (0, 0)), groups=12)
    for got, expected in ((conv, ref), (dwc, ref_dw), (dwc2, ref_dw2)):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert op_counts(model)["Conv"] == 3 and op_counts(model)["Add"] == 0, "biases live in the Convs"


def test_fused_conv_with_an_unsupported_fusion_is_refused(tmp_path: Path) -> None:
    m = TfjsModel()
    m.placeholder("x", [1, 4, 4, 2])
    m.const("w", np.ones((1, 1, 2, 2)))
    m.const("b", np.ones(2))
    m.op("conv", "_FusedConv2D", ["x", "w", "b"], padding=_s("VALID"), fused_ops=_fused("BiasAdd", "Tanh"))
    with pytest.raises(TfjsConversionError, match="Tanh"):
        convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["conv"]))


def test_hard_swish_squeeze_excite_mean_sub(tmp_path: Path) -> None:
    """MobileNetV3's hard-swish (Mul, Add, Relu6) and squeeze-excite (Mean keep_dims, Mul), a Mean that
    drops axes, and Sub with a constant first, applied to an NHWC conv result (physically NCHW)."""
    x = (4 * RNG.normal(size=(1, 6, 7, 3))).astype(np.float32)
    w = RNG.normal(size=(1, 1, 3, 5)).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [1, 6, 7, 3])
    m.const("w", w)
    m.const("sixth", 1 / 6)
    m.const("three", 3.0)
    m.const("spatial", [1, 2], np.int32)
    m.const("offset", np.arange(5, dtype=np.float32))
    m.op("conv", "Conv2D", ["x", "w"], strides=_ints([1, 1, 1, 1]), padding=_s("VALID"))
    m.op("scaled", "Mul", ["sixth", "conv"])
    m.op("plus3", "Add", ["conv", "three"])
    m.op("r6", "Relu6", ["plus3"])
    m.op("hswish", "Mul", ["scaled", "r6"])
    m.op("se_mean", "Mean", ["hswish", "spatial"], keep_dims={"b": True})
    m.op("se", "Mul", ["hswish", "se_mean"])
    m.op("relu", "Relu", ["se"])
    m.op("pooled", "Mean", ["relu", "spatial"], keep_dims={"b": False})
    m.op("sub", "Sub", ["offset", "pooled"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["se", "sub"]))
    se, sub = run(model, {"x:0": x})
    conv = ref_conv_nhwc(x, w, 1, ((0, 0), (0, 0)))
    hswish = conv / 6 * np.clip(conv + 3, 0, 6)
    ref_se = hswish * hswish.mean(axis=(1, 2), keepdims=True)
    ref_sub = np.arange(5) - np.maximum(ref_se, 0).mean(axis=(1, 2))
    np.testing.assert_allclose(se, ref_se, rtol=1e-4, atol=1e-4)
    assert sub.shape == (1, 5)
    np.testing.assert_allclose(sub, ref_sub, rtol=1e-4, atol=1e-4)
    assert op_counts(model)["Clip"] == 1 and op_counts(model)["ReduceMean"] == 2


def test_outputs_override_prunes_an_unsupported_tail_and_frees_the_batch(tmp_path: Path) -> None:
    """CenterNet's case: the signature's output needs TopKV2 (unsupported); converting up to the heatmap
    leaves it out, and `free_batch` lets one run take several frames."""
    m = TfjsModel()
    m.placeholder("x", [1, 4, 4, 2])
    m.const("w", np.ones((1, 1, 2, 3)))
    m.const("k", 2, np.int32)
    m.const("flat", [1, -1], np.int32)
    m.op("conv", "Conv2D", ["x", "w"], padding=_s("VALID"))
    m.op("heat", "Sigmoid", ["conv"])
    m.op("reshaped", "Reshape", ["heat", "flat"])
    m.op("top", "TopKV2", ["reshaped", "k"])
    path = m.write(tmp_path, ["x"], ["top"])
    with pytest.raises(UnsupportedOpError, match="TopKV2"):
        convert_tfjs_to_onnx(path)
    model = convert_tfjs_to_onnx(path, outputs=["heat"], free_batch=True)
    assert [o.name for o in model.graph.output] == ["heat:0"]
    x = RNG.normal(size=(3, 4, 4, 2)).astype(np.float32)
    (heat,) = run(model, {"x:0": x})
    np.testing.assert_allclose(heat, sigmoid(x.sum(axis=3, keepdims=True).repeat(3, axis=3)), rtol=1e-5)


# ---------------------------------------------------------------- face embedder ops (mobilefacenet, faceres)


def ref_depthwise_nhwc_faces(
    x: Array, w: Array, stride: int, pads: tuple[tuple[int, int], tuple[int, int]]
) -> Array:
    kh, kw, cin, mult = w.shape  # each input channel c gives outputs c * mult .. c * mult + mult - 1
    return ref_conv_nhwc(
        np.repeat(x, mult, axis=3), w.reshape(kh, kw, 1, cin * mult), stride, pads, 1, cin * mult
    )


def test_fused_conv_depthwise_and_decomposed_prelu(tmp_path: Path) -> None:
    """mobilefacenet's blocks: _FusedConv2D (BiasAdd), PReLU written as relu(x) + alpha * (x - |x|) * 0.5,
    and FusedDepthwiseConv2dNative (BiasAdd, Relu) with a channel multiplier."""
    x = RNG.normal(size=(2, 8, 10, 3)).astype(np.float32)
    w = RNG.normal(size=(3, 3, 3, 4)).astype(np.float32)
    b = RNG.normal(size=4).astype(np.float32)
    alpha = RNG.uniform(0.1, 0.3, size=4).astype(np.float32)
    dw = RNG.normal(size=(3, 3, 4, 2)).astype(np.float32)
    db = RNG.normal(size=8).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [-1, 8, 10, 3])
    conv_attrs = {"padding": _s("SAME"), "data_format": _s("NHWC"), "dilations": _ints([1, 1, 1, 1])}
    m.const("w", w)
    m.const("b", b)
    m.const("half_alpha", alpha * 0.5)
    m.const("dw", dw)
    m.const("db", db)
    m.op("conv", "_FusedConv2D", ["x", "w", "b"], strides=_ints([1, 2, 2, 1]), fused_ops=_fused("BiasAdd"),
         num_args={"i": "1"}, **conv_attrs)  # fmt: skip
    m.op("relu", "Relu", ["conv"])
    m.op("abs", "Abs", ["conv"])
    m.op("sub", "Sub", ["conv", "abs"])
    m.op("mul", "Mul", ["sub", "half_alpha"])
    m.op("prelu", "Add", ["relu", "mul"])
    m.op("dw_conv", "FusedDepthwiseConv2dNative", ["prelu", "dw", "db"], strides=_ints([1, 1, 1, 1]),
         fused_ops=_fused("BiasAdd", "Relu"), num_args={"i": "1"}, **conv_attrs)  # fmt: skip
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["dw_conv"]))
    (out,) = run(model, {"x:0": x})
    c = ref_conv_nhwc(x, w, 2, (same_pads(8, 3, 2, 1), same_pads(10, 3, 2, 1))) + b
    prelu = np.maximum(c, 0) + alpha * 0.5 * (c - np.abs(c))
    expected = np.maximum(ref_depthwise_nhwc_faces(prelu, dw, 1, ((1, 1), (1, 1))) + db, 0)
    assert out.shape == expected.shape == (2, 4, 5, 8)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    assert op_counts(model)["Conv"] == 2


def test_mean_dense_softmax_and_l2_normalize(tmp_path: Path) -> None:
    """faceres' head (global mean over H, W of an NHWC conv, _FusedMatMul with BiasAdd + Relu, Softmax,
    clipped activations) and mobilefacenet's tail (Squeeze, then x * rsqrt(max(sum(x^2), eps)))."""
    x = RNG.normal(size=(2, 6, 6, 3)).astype(np.float32)
    w = RNG.normal(size=(1, 1, 3, 5)).astype(np.float32)
    k = RNG.normal(size=(5, 4)).astype(np.float32)
    kb = RNG.normal(size=4).astype(np.float32)
    m = TfjsModel()
    m.placeholder("x", [-1, 6, 6, 3])
    m.const("w", w)
    m.const("six", np.float32(0.5))
    m.const("zero", np.float32(-0.5))
    m.const("axes", [1, 2], np.int32)
    m.const("k", k)
    m.const("kb", kb)
    m.const("last", [1], np.int32)
    m.const("eps", np.float32(1e-10))
    m.op("conv", "Conv2D", ["x", "w"], strides=_ints([1, 1, 1, 1]), padding=_s("VALID"),
         data_format=_s("NHWC"), dilations=_ints([1, 1, 1, 1]))  # fmt: skip
    m.op("min", "Minimum", ["conv", "six"])
    m.op("clip", "Maximum", ["min", "zero"])
    m.op("mean", "Mean", ["clip", "axes"], keep_dims={"b": False})
    m.op("dense", "_FusedMatMul", ["mean", "k", "kb"], fused_ops=_fused("BiasAdd", "Relu"),
         transpose_a={"b": False}, transpose_b={"b": False})  # fmt: skip
    m.op("soft", "Softmax", ["dense"])
    m.op("keep", "Mean", ["conv", "axes"], keep_dims={"b": True})  # [N, 1, 1, 5]
    m.op("squeeze", "Squeeze", ["keep"], squeeze_dims=_ints([1, 2]))
    m.op("sq", "Square", ["squeeze"])
    m.op("sum", "Sum", ["sq", "last"], keep_dims={"b": True})
    m.op("max", "Maximum", ["sum", "eps"])
    m.op("rsqrt", "Rsqrt", ["max"])
    m.op("norm", "Mul", ["squeeze", "rsqrt"])
    model = convert_tfjs_to_onnx(m.write(tmp_path, ["x"], ["soft", "mean", "norm"]))
    soft, mean, norm = run(model, {"x:0": x})
    conv = ref_conv_nhwc(x, w, 1, ((0, 0), (0, 0)))
    expected_mean = np.clip(conv, -0.5, 0.5).mean(axis=(1, 2))
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-4, atol=1e-5)
    logits = np.maximum(expected_mean @ k + kb, 0)
    expected_soft = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(soft, expected_soft, rtol=1e-4, atol=1e-5)
    pooled = conv.mean(axis=(1, 2))
    np.testing.assert_allclose(
        norm, pooled / np.linalg.norm(pooled, axis=1, keepdims=True), rtol=1e-4, atol=1e-5
    )
    assert norm.shape == (2, 5)
