"""TF graph op semantics -> ONNX (opset 17) nodes, for :mod:`safecity.vision.tfjs_onnx`.

Layouts are handled lazily: every converted tensor is a :class:`Value` whose *logical* (TF) array is its
*physical* (ONNX) array transposed by ``perm``. A TF ``Transpose`` only changes ``perm``; an NHWC
``Conv2D`` reads its input physically as NCHW and leaves a value with ``perm=(0, 2, 3, 1)``; elementwise
ops keep the layout they are given. A real ONNX ``Transpose`` is emitted only where an op needs a layout
the tensor does not have, so the NCHW->NHWC->NCHW ping-pong of TF graphs exported from ONNX disappears.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

Array = npt.NDArray[Any]
OPSET = 17
NHWC_TO_NCHW = (0, 3, 1, 2)
NCHW_TO_NHWC = (0, 2, 3, 1)


class TfjsConversionError(ValueError):
    """The TF.js graph cannot be converted (bad input, unsupported construct)."""


class UnsupportedOpError(TfjsConversionError):
    """A node uses an op the converter does not implement."""

    def __init__(self, op: str, node: str) -> None:
        super().__init__(f"unsupported TF.js op {op!r} at node {node!r}")
        self.op = op
        self.node = node


@dataclass(frozen=True, slots=True)
class TfjsNode:
    """One node of a TF.js graph; ``inputs`` are data inputs only, normalized to ``node:index``."""

    name: str
    op: str
    inputs: tuple[str, ...]
    attr: Mapping[str, Any]

    def ref(self, index: int = 0) -> str:
        return f"{self.name}:{index}"


@dataclass(frozen=True, slots=True)
class Value:
    """A converted tensor: logical (TF) array == physical (ONNX ``name``) array transposed by ``perm``."""

    name: str
    shape: tuple[int, ...]
    perm: tuple[int, ...]
    elem_type: int


def identity(rank: int) -> tuple[int, ...]:
    return tuple(range(rank))


def compose(perm: Sequence[int], then: Sequence[int]) -> tuple[int, ...]:
    """Permutation equivalent to transposing by ``perm`` and then by ``then``."""
    return tuple(int(perm[i]) for i in then)


def inverse(perm: Sequence[int]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argsort(perm))


def attr_value(node: TfjsNode, key: str, kind: str, default: Any = None) -> Any:
    entry = node.attr.get(key)
    if entry is None or kind not in entry:
        return default
    return entry[kind]


def attr_str(node: TfjsNode, key: str, default: str) -> str:
    raw = attr_value(node, key, "s")
    return default if raw is None else base64.b64decode(raw).decode()


def attr_ints(node: TfjsNode, key: str, default: Sequence[int]) -> list[int]:
    raw = attr_value(node, key, "list", {})
    return [int(i) for i in raw.get("i", [])] or list(default)


class GraphBuilder:
    """Converted values and constants (by TF tensor ref ``node:index``), emitted ONNX nodes/initializers."""

    def __init__(self, consumers: Mapping[str, int], graph_outputs: Sequence[str]) -> None:
        self.consumers = consumers
        self.graph_outputs = frozenset(graph_outputs)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: dict[str, TensorProto] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.values: dict[str, Value] = {}
        self.consts: dict[str, Array] = {}
        self.producers: dict[str, onnx.NodeProto] = {}
        self._layouts: dict[tuple[str, tuple[int, ...]], str] = {}

    def out(self, node: TfjsNode, index: int = 0) -> str:
        """ONNX name for output ``index`` of ``node``; graph outputs get theirs from a final node."""
        return self.out_ref(node.ref(index))

    def out_ref(self, ref: str) -> str:
        return f"{ref}/raw" if ref in self.graph_outputs else ref

    def const(self, ref: str, node: TfjsNode) -> Array:
        if ref not in self.consts:
            raise TfjsConversionError(f"node {node.name!r} ({node.op}) needs a constant input, got {ref!r}")
        return self.consts[ref]

    def value(self, ref: str) -> Value:
        if ref in self.values:
            return self.values[ref]
        if ref not in self.consts:
            raise TfjsConversionError(f"tensor {ref!r} is used before it is defined")
        array = self.consts[ref]
        name = self.initializer(self.out_ref(ref), array)
        self.values[ref] = Value(name, array.shape, identity(array.ndim), tensor_type(array))
        return self.values[ref]

    def initializer(self, name: str, array: Array) -> str:
        if name in self.initializers:
            raise TfjsConversionError(f"duplicate initializer name {name!r}")
        self.initializers[name] = numpy_helper.from_array(np.ascontiguousarray(array), name)
        return name

    def emit(
        self, op_type: str, inputs: Sequence[str], outputs: Sequence[str], name: str, **attrs: Any
    ) -> onnx.NodeProto:
        node = helper.make_node(op_type, list(inputs), list(outputs), name=name, **attrs)
        self.nodes.append(node)
        for output in outputs:
            self.producers[output] = node
        return node

    def physical(self, value: Value, target: Sequence[int]) -> str:
        """Name of an ONNX tensor holding the logical array of ``value`` transposed by ``target``."""
        perm = compose(value.perm, target)
        if perm == identity(len(perm)):
            return value.name
        key = (value.name, perm)
        if key not in self._layouts:
            out = f"{value.name}__perm_{'_'.join(map(str, perm))}"
            self.emit("Transpose", [value.name], [out], out, perm=list(perm))
            self._layouts[key] = out
        return self._layouts[key]

    def laid_out(self, value: Value, perm: Sequence[int]) -> Value:
        """``value`` re-laid out so that its logical array == its physical array transposed by ``perm``."""
        return Value(self.physical(value, inverse(perm)), value.shape, tuple(perm), value.elem_type)

    def plain(self, ref: str) -> Value:
        """The value of ``ref`` with an identity layout (physical == logical)."""
        value = self.value(ref)
        return self.laid_out(value, identity(len(value.shape)))

    def set(self, ref: str, name: str, shape: Sequence[int], perm: Sequence[int], elem_type: int) -> None:
        self.values[ref] = Value(name, tuple(int(d) for d in shape), tuple(perm), elem_type)


def tensor_type(array: Array) -> int:
    return int(helper.np_dtype_to_tensor_dtype(array.dtype))


def to_physical(array: Array, rank: int, perm: Sequence[int]) -> Array:
    """A constant that broadcasts against a logical tensor, laid out to broadcast against its physical one."""
    full = array.reshape((1,) * (rank - array.ndim) + array.shape)
    return np.ascontiguousarray(full.transpose(inverse(perm)))


def broadcast_shape(a: Sequence[int], b: Sequence[int]) -> tuple[int, ...]:
    rank = max(len(a), len(b))
    pa = (1,) * (rank - len(a)) + tuple(a)
    pb = (1,) * (rank - len(b)) + tuple(b)
    return tuple(y if x == 1 else x if y in (1, -1) else y for x, y in zip(pa, pb, strict=True))


# ---------------------------------------------------------------- attributes and windows

_TF_DTYPES: dict[str, type[np.generic]] = {
    "DT_FLOAT": np.float32,
    "DT_HALF": np.float16,
    "DT_DOUBLE": np.float64,
    "DT_INT32": np.int32,
    "DT_INT64": np.int64,
    "DT_INT16": np.int16,
    "DT_INT8": np.int8,
    "DT_UINT8": np.uint8,
    "DT_BOOL": np.bool_,
}


def tf_dtype(node: TfjsNode, key: str = "dtype") -> np.dtype[Any]:
    name = attr_value(node, key, "type", "DT_FLOAT")
    if name not in _TF_DTYPES:
        raise TfjsConversionError(f"node {node.name!r}: dtype {name} is not supported")
    return np.dtype(_TF_DTYPES[name])


def _data_format(node: TfjsNode) -> str:
    fmt = attr_str(node, "data_format", "NHWC")
    if fmt not in ("NHWC", "NCHW"):
        raise TfjsConversionError(f"node {node.name!r}: data_format {fmt!r} is not supported")
    return fmt


def _spatial(values: Sequence[int], fmt: str) -> list[int]:
    return list(values[1:3]) if fmt == "NHWC" else list(values[2:4])


def _to_nchw(fmt: str) -> tuple[int, ...]:
    return NHWC_TO_NCHW if fmt == "NHWC" else identity(4)


def _window(
    node: TfjsNode, fmt: str, in_hw: Sequence[int], kernel: Sequence[int], dilations: Sequence[int]
) -> tuple[dict[str, Any], tuple[int, ...]]:
    """ONNX Conv/MaxPool window attributes and output (H, W) for TF strides/padding attributes."""
    strides = _spatial(attr_ints(node, "strides", [1, 1, 1, 1]), fmt)
    padding = attr_str(node, "padding", "VALID")
    attrs: dict[str, Any] = {"kernel_shape": [int(k) for k in kernel], "strides": strides}
    if padding == "SAME":
        attrs["auto_pad"] = "SAME_UPPER"
        return attrs, tuple(-1 if n < 0 else -(-n // s) for n, s in zip(in_hw, strides, strict=True))
    if padding == "VALID":
        pairs = [[0, 0], [0, 0]]
    elif padding == "EXPLICIT":
        explicit = np.array(attr_ints(node, "explicit_paddings", [0] * 8)).reshape(4, 2)
        pairs = explicit[[1, 2] if fmt == "NHWC" else [2, 3]].tolist()
    else:
        raise TfjsConversionError(f"node {node.name!r}: padding {padding!r} is not supported")
    attrs["pads"] = [pairs[0][0], pairs[1][0], pairs[0][1], pairs[1][1]]
    out = tuple(
        -1 if n < 0 else (n + sum(p) - d * (k - 1) - 1) // s + 1
        for n, p, k, s, d in zip(in_hw, pairs, kernel, strides, dilations, strict=True)
    )
    return attrs, out


def _set_nchw(b: GraphBuilder, ref: str, name: str, fmt: str, nchw: Sequence[int], elem_type: int) -> None:
    """Record a physically NCHW result whose TF (logical) layout is ``fmt``."""
    if fmt == "NHWC":
        b.set(ref, name, [nchw[i] for i in NCHW_TO_NHWC], NCHW_TO_NHWC, elem_type)
    else:
        b.set(ref, name, nchw, identity(4), elem_type)


# ---------------------------------------------------------------- op handlers

Handler = Callable[[GraphBuilder, TfjsNode], None]


def _identity(b: GraphBuilder, node: TfjsNode) -> None:
    b.values[node.ref()] = b.value(node.inputs[0])


def _groups(node: TfjsNode, in_channels: int, filter_in: int) -> int:
    if in_channels < 0:
        return 1
    if filter_in <= 0 or in_channels % filter_in:
        raise TfjsConversionError(
            f"node {node.name!r}: input depth {in_channels} is not a multiple of filter depth {filter_in}"
        )
    return in_channels // filter_in


def _fused_ops(node: TfjsNode) -> list[str]:
    """The ``fused_ops`` of a grappler-fused op (``_FusedConv2D``, ``FusedDepthwiseConv2dNative``)."""
    raw = attr_value(node, "fused_ops", "list", {})
    return [base64.b64decode(s).decode() for s in raw.get("s", [])]


def _emit_activation(b: GraphBuilder, node: TfjsNode, act: str, x: str, out: str) -> None:
    if act == "Relu6":  # TF Relu6 = min(max(x, 0), 6)
        lo = b.initializer(f"{node.name}/relu6_min", np.array(0, np.float32))
        hi = b.initializer(f"{node.name}/relu6_max", np.array(6, np.float32))
        b.emit("Clip", [x, lo, hi], [out], f"{node.name}/relu6")
    elif act in ("Relu", "Sigmoid", "Elu"):
        b.emit(act, [x], [out], f"{node.name}/{act.lower()}")
    else:
        raise TfjsConversionError(f"node {node.name!r}: fused activation {act!r} is not supported")


def _conv2d(b: GraphBuilder, node: TfjsNode) -> None:
    """Conv2D and DepthwiseConv2dNative, plain or fused (grappler's BiasAdd [+ activation])."""
    fmt = _data_format(node)
    x = b.value(node.inputs[0])
    w = b.const(node.inputs[1], node)  # TF filter: [kh, kw, in / groups, out]; depthwise: [kh, kw, in, mult]
    n, c, h, wd = (x.shape[i] for i in _to_nchw(fmt))
    dilations = _spatial(attr_ints(node, "dilations", [1, 1, 1, 1]), fmt)
    attrs, out_hw = _window(node, fmt, (h, wd), w.shape[:2], dilations)
    if "Depthwise" in node.op:  # one group per input channel, `mult` filters each, channel-major outputs
        kh, kw, cin, mult = w.shape
        attrs.update(dilations=dilations, group=int(cin))
        filters = w.reshape(kh, kw, 1, cin * mult).transpose(3, 2, 0, 1)
    else:
        attrs.update(dilations=dilations, group=_groups(node, c, w.shape[2]))
        filters = w.transpose(3, 2, 0, 1)
    inputs = [b.physical(x, _to_nchw(fmt)), b.initializer(f"{node.name}/weights", filters.astype(w.dtype))]
    fused = _fused_ops(node) if node.op.startswith(("_Fused", "Fused")) else []
    if fused and (fused[0] != "BiasAdd" or len(fused) > 2):
        raise TfjsConversionError(f"node {node.name!r}: fused ops {fused} are not supported")
    if fused:
        bias = b.const(node.inputs[2], node).reshape(-1).astype(filters.dtype)
        inputs.append(b.initializer(f"{node.name}/bias", bias))
    out = b.out(node)
    conv_out = f"{node.name}/conv" if len(fused) == 2 else out
    b.emit("Conv", inputs, [conv_out], node.name, **attrs)
    if len(fused) == 2:
        _emit_activation(b, node, fused[1], conv_out, out)
    _set_nchw(b, node.ref(), out, fmt, (n, filters.shape[0], *out_hw), x.elem_type)


def _max_pool(b: GraphBuilder, node: TfjsNode) -> None:
    fmt = _data_format(node)
    x = b.value(node.inputs[0])
    n, c, h, w = (x.shape[i] for i in _to_nchw(fmt))
    ksize = attr_ints(node, "ksize", [1, 1, 1, 1])
    if [ksize[i] for i in _to_nchw(fmt)[:2]] != [1, 1]:
        raise TfjsConversionError(f"node {node.name!r}: pooling over batch or channels is not supported")
    attrs, out_hw = _window(node, fmt, (h, w), _spatial(ksize, fmt), (1, 1))
    out = b.out(node)
    b.emit("MaxPool", [b.physical(x, _to_nchw(fmt))], [out], node.name, **attrs)
    _set_nchw(b, node.ref(), out, fmt, (n, c, *out_hw), x.elem_type)


def _pad(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])
    pads = b.const(node.inputs[1], node).astype(np.int64).reshape(-1, 2)
    if pads.shape[0] != len(x.shape):
        raise TfjsConversionError(f"node {node.name!r}: paddings {pads.tolist()} for rank {len(x.shape)}")
    physical = pads[list(inverse(x.perm))]
    inputs = [x.name, b.initializer(f"{node.name}/pads", np.concatenate([physical[:, 0], physical[:, 1]]))]
    if node.op == "PadV2":
        fill = b.const(node.inputs[2], node).astype(helper.tensor_dtype_to_np_dtype(x.elem_type))
        inputs.append(b.initializer(f"{node.name}/constant_value", fill.reshape(())))
    out = b.out(node)
    b.emit("Pad", inputs, [out], node.name, mode="constant")
    shape = [-1 if d < 0 else d + int(p.sum()) for d, p in zip(x.shape, pads, strict=True)]
    b.set(node.ref(), out, shape, x.perm, x.elem_type)


def _fuse_bias(b: GraphBuilder, ref: str, x: Value, bias: Array) -> bool:
    """Fold ``Conv(...) + const`` into the Conv's bias input when the const is per output channel."""
    conv = b.producers.get(x.name)
    if conv is None or conv.op_type != "Conv" or len(conv.input) != 2:
        return False
    if b.consumers.get(conv.output[0]) != 1 or b.consumers.get(ref) != 1:
        return False
    channels = int(b.initializers[conv.input[1]].dims[0])
    if bias.ndim != 4 or bias.shape[0] != 1 or bias.shape[2:] != (1, 1) or bias.shape[1] not in (1, channels):
        return False
    conv.input.append(b.initializer(f"{conv.name}/bias", np.broadcast_to(bias.reshape(-1), (channels,))))
    return True


def _binary_with_const(b: GraphBuilder, node: TfjsNode, onnx_op: str) -> None:
    const_first = node.inputs[0] in b.consts
    ref, const_ref = (node.inputs[1], node.inputs[0]) if const_first else node.inputs[:2]
    x, c = b.value(ref), b.const(const_ref, node)
    if c.ndim > len(x.shape):
        x, const = b.plain(ref), c
    else:
        const = to_physical(c, len(x.shape), x.perm)
    const = const.astype(helper.tensor_dtype_to_np_dtype(x.elem_type))
    shape = broadcast_shape(x.shape, c.shape)
    if onnx_op == "Add" and _fuse_bias(b, ref, x, const):
        b.set(node.ref(), x.name, shape, x.perm, x.elem_type)
        return
    name = b.initializer(f"{node.name}/const", const)
    out = b.out(node)
    b.emit(onnx_op, [name, x.name] if const_first else [x.name, name], [out], node.name)
    b.set(node.ref(), out, shape, x.perm, x.elem_type)


def _binary(onnx_op: str) -> Handler:
    def handler(b: GraphBuilder, node: TfjsNode) -> None:
        if any(ref in b.consts for ref in node.inputs[:2]):
            _binary_with_const(b, node, onnx_op)
            return
        x, y = b.value(node.inputs[0]), b.value(node.inputs[1])
        if x.perm != y.perm:
            x, y = b.plain(node.inputs[0]), b.plain(node.inputs[1])
        out = b.out(node)
        b.emit(onnx_op, [x.name, y.name], [out], node.name)
        b.set(node.ref(), out, broadcast_shape(x.shape, y.shape), x.perm, x.elem_type)

    return handler


def _unary(onnx_op: str) -> Handler:
    def handler(b: GraphBuilder, node: TfjsNode) -> None:
        x = b.value(node.inputs[0])
        attrs = {"alpha": float(attr_value(node, "alpha", "f", 0.2))} if onnx_op == "LeakyRelu" else {}
        out = b.out(node)
        b.emit(onnx_op, [x.name], [out], node.name, **attrs)
        b.set(node.ref(), out, x.shape, x.perm, x.elem_type)

    return handler


def _relu6(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])
    out = b.out(node)
    _emit_activation(b, node, "Relu6", x.name, out)
    b.set(node.ref(), out, x.shape, x.perm, x.elem_type)


def _mean(b: GraphBuilder, node: TfjsNode) -> None:
    """TF Mean over constant axes; kept axes stay in the input's layout (``keep_dims``) or are dropped."""
    x = b.value(node.inputs[0])
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in b.const(node.inputs[1], node).reshape(-1)})
    keep = bool(attr_value(node, "keep_dims", "b", False))
    out = b.out(node)
    # logical axis a is physical axis perm[a]; opset 17 ReduceMean takes its axes as an attribute
    b.emit("ReduceMean", [x.name], [out], node.name, axes=sorted(x.perm[a] for a in axes), keepdims=int(keep))
    if keep:
        b.set(node.ref(), out, [1 if i in axes else d for i, d in enumerate(x.shape)], x.perm, x.elem_type)
        return
    kept = [a for a in range(rank) if a not in axes]
    physical = sorted(x.perm[a] for a in kept)
    perm = tuple(physical.index(x.perm[a]) for a in kept)
    b.set(node.ref(), out, [x.shape[a] for a in kept], perm, x.elem_type)


def _axis(b: GraphBuilder, node: TfjsNode, ref: str, rank: int) -> int:
    axis = int(b.const(ref, node).reshape(()))
    if not -rank <= axis < rank:
        raise TfjsConversionError(f"node {node.name!r}: axis {axis} out of range for rank {rank}")
    return axis % rank


def _concat(b: GraphBuilder, node: TfjsNode) -> None:
    refs = node.inputs[:-1]
    live = [b.value(r) for r in refs if r not in b.consts]
    if not live:
        raise TfjsConversionError(f"node {node.name!r}: concatenation of constants only was not folded")
    rank, perm = len(live[0].shape), live[0].perm  # the other inputs are laid out like the first
    axis = _axis(b, node, node.inputs[-1], rank)
    names, shapes = [], []
    for i, ref in enumerate(refs):
        if ref in b.consts:
            array = b.consts[ref]
            names.append(b.initializer(f"{node.name}/input_{i}", to_physical(array, rank, perm)))
            shapes.append(array.shape)
        else:
            names.append(b.laid_out(b.value(ref), perm).name)
            shapes.append(b.value(ref).shape)
    out = b.out(node)
    b.emit("Concat", names, [out], node.name, axis=perm[axis])
    total = -1 if any(s[axis] < 0 for s in shapes) else sum(s[axis] for s in shapes)
    b.set(node.ref(), out, [*shapes[0][:axis], total, *shapes[0][axis + 1 :]], perm, live[0].elem_type)


def _split_sizes(node: TfjsNode, sizes: list[int], dim: int) -> list[int]:
    if sizes.count(-1) > 1 or (-1 in sizes and dim < 0):
        raise TfjsConversionError(f"node {node.name!r}: split sizes {sizes} do not fit dimension {dim}")
    if -1 in sizes:
        sizes[sizes.index(-1)] = dim - (sum(sizes) + 1)
    if dim >= 0 and sum(sizes) != dim:
        raise TfjsConversionError(f"node {node.name!r}: split sizes {sizes} do not add up to {dim}")
    return sizes


def _split_v(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])
    axis = _axis(b, node, node.inputs[2], len(x.shape))
    sizes = [int(s) for s in b.const(node.inputs[1], node).reshape(-1)]
    sizes = _split_sizes(node, sizes, x.shape[axis])
    outs = [b.out(node, i) for i in range(len(sizes))]
    split = b.initializer(f"{node.name}/split", np.array(sizes, np.int64))
    b.emit("Split", [x.name, split], outs, node.name, axis=x.perm[axis])
    for i, (out, size) in enumerate(zip(outs, sizes, strict=True)):
        b.set(node.ref(i), out, [*x.shape[:axis], size, *x.shape[axis + 1 :]], x.perm, x.elem_type)


def _reshaped(shape: Sequence[int], target: Sequence[int]) -> list[int]:
    out = [int(t) for t in target]
    if -1 in out and all(d >= 0 for d in shape):
        known = int(np.prod([t for t in out if t != -1]))
        out[out.index(-1)] = int(np.prod(shape)) // max(known, 1)
    return out


def _reshape(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.plain(node.inputs[0])
    target = b.const(node.inputs[1], node).astype(np.int64).reshape(-1)
    shape = b.initializer(f"{node.name}/shape", target)
    out = b.out(node)
    attrs = {"allowzero": 1} if 0 in target else {}
    b.emit("Reshape", [x.name, shape], [out], node.name, **attrs)
    new_shape = _reshaped(x.shape, target.tolist())
    b.set(node.ref(), out, new_shape, identity(len(new_shape)), x.elem_type)


def _transpose(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])
    perm = [int(i) for i in b.const(node.inputs[1], node).reshape(-1)]
    if sorted(perm) != list(identity(len(x.shape))):
        raise TfjsConversionError(f"node {node.name!r}: {perm} is not a permutation of rank {len(x.shape)}")
    b.set(node.ref(), x.name, [x.shape[i] for i in perm], compose(x.perm, perm), x.elem_type)


def _coordinate_mode(node: TfjsNode) -> str:
    align = bool(attr_value(node, "align_corners", "b", False))
    half = bool(attr_value(node, "half_pixel_centers", "b", False))
    if align and half:
        raise TfjsConversionError(f"node {node.name!r}: align_corners and half_pixel_centers are exclusive")
    return "align_corners" if align else "half_pixel" if half else "asymmetric"


def _resize_sizes(b: GraphBuilder, node: TfjsNode, x: Value, nchw: str, hw: Sequence[int]) -> str:
    n, c = x.shape[0], x.shape[3]
    if n >= 0 and c >= 0:
        return b.initializer(f"{node.name}/sizes", np.array([n, c, *hw], np.int64))
    batch_channels = f"{node.name}/batch_channels"
    b.emit("Shape", [nchw], [batch_channels], batch_channels, start=0, end=2)
    spatial = b.initializer(f"{node.name}/spatial_size", np.array(hw, np.int64))
    b.emit("Concat", [batch_channels, spatial], [f"{node.name}/sizes"], f"{node.name}/sizes", axis=0)
    return f"{node.name}/sizes"


def _resize_bilinear(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])  # TF resize ops are always NHWC
    if len(x.shape) != 4:
        raise TfjsConversionError(f"node {node.name!r}: ResizeBilinear needs a 4-D input")
    hw = [int(s) for s in b.const(node.inputs[1], node).reshape(-1)]
    mode = _coordinate_mode(node)
    nchw = b.physical(x, NHWC_TO_NCHW)
    sizes = _resize_sizes(b, node, x, nchw, hw)
    out = b.out(node)
    attrs = {"mode": "linear", "coordinate_transformation_mode": mode}
    b.emit("Resize", [nchw, "", "", sizes], [out], node.name, **attrs)
    _set_nchw(b, node.ref(), out, "NHWC", (x.shape[0], x.shape[3], *hw), x.elem_type)


def _matmul(b: GraphBuilder, node: TfjsNode) -> None:
    """MatMul / _FusedMatMul of a [batch, features] tensor by a constant matrix (dense layers)."""
    x = b.plain(node.inputs[0])
    w = b.const(node.inputs[1], node)
    if attr_value(node, "transpose_a", "b", False) or len(x.shape) != 2:
        raise TfjsConversionError(f"node {node.name!r}: only [batch, features] @ constant is supported")
    if attr_value(node, "transpose_b", "b", False):
        w = w.T
    fused = _fused_ops(node) if node.op == "_FusedMatMul" else []
    if fused and (fused[0] != "BiasAdd" or len(fused) > 2):
        raise TfjsConversionError(f"node {node.name!r}: fused ops {fused} are not supported")
    inputs = [x.name, b.initializer(f"{node.name}/weights", np.ascontiguousarray(w))]
    out = b.out(node)
    mm_out = f"{node.name}/matmul" if len(fused) == 2 else out
    if fused:
        inputs.append(b.initializer(f"{node.name}/bias", b.const(node.inputs[2], node).reshape(-1)))
        b.emit("Gemm", inputs, [mm_out], node.name)
    else:
        b.emit("MatMul", inputs, [mm_out], node.name)
    if len(fused) == 2:
        _emit_activation(b, node, fused[1], mm_out, out)
    b.set(node.ref(), out, (x.shape[0], int(w.shape[1])), identity(2), x.elem_type)


def _squeeze(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.plain(node.inputs[0])
    rank = len(x.shape)
    dims = [d % rank for d in attr_ints(node, "squeeze_dims", [])] or [
        i for i, d in enumerate(x.shape) if d == 1
    ]
    out = b.out(node)
    b.emit(
        "Squeeze", [x.name, b.initializer(f"{node.name}/axes", np.array(dims, np.int64))], [out], node.name
    )
    shape = [d for i, d in enumerate(x.shape) if i not in dims]
    b.set(node.ref(), out, shape, identity(len(shape)), x.elem_type)


def _sum(b: GraphBuilder, node: TfjsNode) -> None:
    """TF Sum over constant axes (opset 13+ ReduceSum takes its axes as an input)."""
    x = b.value(node.inputs[0])
    rank = len(x.shape)
    axes = sorted({int(a) % rank for a in b.const(node.inputs[1], node).reshape(-1)})
    keep = bool(attr_value(node, "keep_dims", "b", False))
    out = b.out(node)
    physical = b.initializer(f"{node.name}/axes", np.array(sorted(x.perm[a] for a in axes), np.int64))
    b.emit("ReduceSum", [x.name, physical], [out], node.name, keepdims=int(keep))
    if keep:
        b.set(node.ref(), out, [1 if i in axes else d for i, d in enumerate(x.shape)], x.perm, x.elem_type)
        return
    kept = [a for a in range(rank) if a not in axes]
    phys = sorted(x.perm[a] for a in kept)
    b.set(
        node.ref(), out, [x.shape[a] for a in kept], tuple(phys.index(x.perm[a]) for a in kept), x.elem_type
    )


def _square(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])
    out = b.out(node)
    b.emit("Mul", [x.name, x.name], [out], node.name)
    b.set(node.ref(), out, x.shape, x.perm, x.elem_type)


def _rsqrt(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])
    out = b.out(node)
    b.emit("Sqrt", [x.name], [f"{node.name}/sqrt"], f"{node.name}/sqrt")
    b.emit("Reciprocal", [f"{node.name}/sqrt"], [out], node.name)
    b.set(node.ref(), out, x.shape, x.perm, x.elem_type)


def _softmax(b: GraphBuilder, node: TfjsNode) -> None:
    x = b.value(node.inputs[0])  # TF softmax is over the last logical axis
    out = b.out(node)
    b.emit("Softmax", [x.name], [out], node.name, axis=x.perm[len(x.shape) - 1])
    b.set(node.ref(), out, x.shape, x.perm, x.elem_type)


def _needs_constants(b: GraphBuilder, node: TfjsNode) -> None:
    raise TfjsConversionError(f"node {node.name!r}: {node.op} is only supported with constant inputs")


HANDLERS: dict[str, Handler] = {
    "Identity": _identity,
    "Conv2D": _conv2d,
    "_FusedConv2D": _conv2d,
    "DepthwiseConv2dNative": _conv2d,
    "FusedDepthwiseConv2dNative": _conv2d,
    "MaxPool": _max_pool,
    "Pad": _pad,
    "PadV2": _pad,
    "Add": _binary("Add"),
    "AddV2": _binary("Add"),
    "Mul": _binary("Mul"),
    "Sub": _binary("Sub"),
    "Relu": _unary("Relu"),
    "Relu6": _relu6,
    "Mean": _mean,
    "Sum": _sum,
    "MatMul": _matmul,
    "_FusedMatMul": _matmul,
    "Maximum": _binary("Max"),
    "Minimum": _binary("Min"),
    "Abs": _unary("Abs"),
    "Square": _square,
    "Rsqrt": _rsqrt,
    "Squeeze": _squeeze,
    "Softmax": _softmax,
    "LeakyRelu": _unary("LeakyRelu"),
    "Sigmoid": _unary("Sigmoid"),
    "ConcatV2": _concat,
    "SplitV": _split_v,
    "Reshape": _reshape,
    "Transpose": _transpose,
    "ResizeBilinear": _resize_bilinear,
    "SparseToDense": _needs_constants,
}
