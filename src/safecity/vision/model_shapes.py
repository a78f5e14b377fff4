"""Free a NanoDet ONNX graph from the fixed `[1, 3, 416, 416]` input it was converted with.

The converted graph pins its shape in three places: the input, four bilinear Resize nodes given output
`sizes`, and six Reshape nodes to `[1, C, -1]`. Rewriting those (Resize by scale factors, Reshape keeping
dimension 0) gives one graph that runs
- a batch of N frames in one ONNX Runtime call (the detector scheduler), and
- any input height and width that are multiples of 32 (320 x 320, or a crop around motion).
Every other op (Conv, Pad, MaxPool, Concat, Split, Transpose) is shape-agnostic, and the rewrite is checked
numerically against the original graph by the tests. The weights are untouched: the file on disk stays
the one that was installed and hashed; the rewritten graph only lives in memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

STRIDE = 32  # NanoDet's coarsest stride: input sides must be multiples of it


def _initializers(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    return {t.name: t for t in graph.initializer}


def _static_shapes(model: onnx.ModelProto) -> dict[str, list[int]]:
    inferred = shape_inference.infer_shapes(model)
    out: dict[str, list[int]] = {}
    for vi in (*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output):
        out[vi.name] = [d.dim_value for d in vi.type.tensor_type.shape.dim]
    return out


def _resize_by_scale(model: onnx.ModelProto, shapes: dict[str, list[int]]) -> None:
    graph = model.graph
    inits = _initializers(graph)
    for node in graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        sizes = numpy_helper.to_array(inits[node.input[3]]).astype(np.float32)
        src = np.array(shapes[node.input[0]], np.float32)
        if len(src) != len(sizes) or not np.all(src > 0):
            raise ValueError(f"{node.name}: cannot infer the input shape to turn its sizes into scales")
        name = f"{node.name}/scales"
        graph.initializer.append(numpy_helper.from_array(sizes / src, name))
        del node.input[3]
        node.input[2] = name


def _drop_unused(graph: onnx.GraphProto) -> None:
    used = {name for node in graph.node for name in node.input}
    for init in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(init)


def _reshape_keep_batch(model: onnx.ModelProto) -> None:
    inits = _initializers(model.graph)
    for node in model.graph.node:
        if node.op_type != "Reshape" or node.input[1] not in inits:
            continue
        shape = numpy_helper.to_array(inits[node.input[1]]).copy()
        if shape.size and shape[0] == 1:
            shape[0] = 0  # 0 = copy the input's dimension 0 (the batch), allowzero being 0
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(shape, node.input[1]))


def _free_io(model: onnx.ModelProto, input_size: tuple[int, int] | None) -> None:
    graph = model.graph
    dims = graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_param = "batch"
    for i, value in (
        (2, None if input_size is None else input_size[1]),
        (3, None if input_size is None else input_size[0]),
    ):
        if value is None:
            dims[i].dim_param = "height" if i == 2 else "width"
        else:
            dims[i].dim_value = value
    for out in graph.output:
        for j, d in enumerate(out.type.tensor_type.shape.dim):
            d.dim_param = "batch" if j == 0 else f"{out.name}_d{j}"
    del graph.value_info[:]


def flexible_nanodet(path: Path, input_size: tuple[int, int] | None = None) -> bytes:
    """The NanoDet graph at `path` with a free batch dimension and input `(width, height)`, or any
    multiple-of-32 size when `input_size` is None; serialized, ready for `InferenceSession(bytes)`."""
    if input_size is not None and any(v <= 0 or v % STRIDE for v in input_size):
        raise ValueError(f"detector.input_size: NanoDet needs multiples of {STRIDE}, got {list(input_size)}")
    model = onnx.load(str(path))
    if len(model.graph.input) != 1:
        raise ValueError(f"{path.name}: expected one input, found {len(model.graph.input)}")
    _resize_by_scale(model, _static_shapes(model))
    _reshape_keep_batch(model)
    _drop_unused(model.graph)  # the Resize sizes replaced by scales
    _free_io(model, input_size)
    onnx.checker.check_model(model)
    return model.SerializeToString()
