"""ONNX Runtime object detector: preprocessing per layout, decoding, class filter, NMS.

The CPU provider and thread counts are always explicit: ONNX Runtime otherwise picks whatever provider
it finds and as many threads as cores, which fights the decode and tracking threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import cv2
import numpy as np
import onnxruntime as ort
import supervision as sv

from safecity.vision.decoders import RawBoxes, decode_centernet, decode_nanodet, decode_yolov8, decode_yolox
from safecity.vision.model_shapes import flexible_nanodet
from safecity.vision.providers import session_providers
from safecity.vision.regions import model_side

NANODET_MEAN = np.array([103.53, 116.28, 123.675], np.float32)
NANODET_INV_STD = 1.0 / np.array([57.375, 57.12, 58.395], np.float32)
LETTERBOX_FILL = 114
LAYOUTS = ("nanodet", "yolov8", "yolox", "centernet")


class Detector(Protocol):
    def detect(self, image: np.ndarray) -> sv.Detections: ...


@runtime_checkable
class RegionDetector(Protocol):
    """A detector that can run on motion regions only (vision.regions)."""

    def detect_regions(self, image: np.ndarray, regions: np.ndarray) -> sv.Detections: ...


@dataclass(frozen=True, slots=True)
class Prepared:
    """A model input and how to map its pixels back to the source image."""

    tensor: np.ndarray
    scale_x: float
    scale_y: float
    pad_x: float
    pad_y: float


def _letterbox(image: np.ndarray, size: tuple[int, int], centre: bool) -> tuple[np.ndarray, float, int, int]:
    w, h = size
    r = min(w / image.shape[1], h / image.shape[0])
    nw, nh = round(image.shape[1] * r), round(image.shape[0] * r)
    canvas = np.full((h, w, 3), LETTERBOX_FILL, np.uint8)
    px, py = ((w - nw) // 2, (h - nh) // 2) if centre else (0, 0)
    canvas[py : py + nh, px : px + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_LINEAR)
    return canvas, r, px, py


def _nanodet_params(size: tuple[int, int]) -> cv2.dnn.Image2BlobParams:
    # resize, mean, per-channel scale and NCHW in one native pass: ~0.6 ms against ~5 ms in numpy
    return cv2.dnn.Image2BlobParams(
        scalefactor=tuple(NANODET_INV_STD.tolist()),
        size=size,
        mean=tuple(NANODET_MEAN.tolist()),
        swapRB=False,
        ddepth=cv2.CV_32F,
    )


def prepare(image: np.ndarray, layout: str, size: tuple[int, int]) -> Prepared:
    h, w = image.shape[:2]
    if layout == "nanodet":
        blob = cv2.dnn.blobFromImageWithParams(image, _nanodet_params(size))
        return Prepared(blob, size[0] / w, size[1] / h, 0.0, 0.0)
    if layout == "centernet":  # stretched to the input like Human does, RGB 0..255, NHWC
        rgb = cv2.cvtColor(cv2.resize(image, size, interpolation=cv2.INTER_LINEAR), cv2.COLOR_BGR2RGB)
        return Prepared(rgb.astype(np.float32)[None], size[0] / w, size[1] / h, 0.0, 0.0)
    boxed, r, px, py = _letterbox(image, size, centre=layout == "yolov8")
    if layout == "yolov8":
        t = cv2.cvtColor(boxed, cv2.COLOR_BGR2RGB).astype(np.float32) * (1.0 / 255.0)
    else:
        t = boxed.astype(np.float32)
    return Prepared(t.transpose(2, 0, 1)[None].copy(), r, r, float(px), float(py))


def make_session(model: Path | bytes, threads: int, provider: str = "cpu") -> ort.InferenceSession:
    """A session with explicit threads and provider; `model` is a file or a serialized graph."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    source = model if isinstance(model, bytes) else str(model)
    return ort.InferenceSession(source, sess_options=opts, providers=session_providers(provider))


class OnnxDetector:
    """`detect(image) -> Detections` for any model whose outputs follow a supported layout."""

    def __init__(
        self,
        model: Path,
        *,
        layout: str = "nanodet",
        input_size: tuple[int, int] = (416, 416),
        class_ids: list[int],
        confidence: float = 0.3,
        nms_iou: float = 0.6,
        threads: int = 2,
        provider: str = "cpu",
    ) -> None:
        if layout not in LAYOUTS:
            raise ValueError(f"unknown detector layout {layout!r}: use {', '.join(LAYOUTS)}")
        if not class_ids:
            raise ValueError("the detector needs at least one class of interest")
        self.layout = layout
        self.input_size = input_size
        self.class_ids = np.array(sorted(class_ids), np.int64)
        self.confidence = confidence
        self.nms_iou = nms_iou
        # NanoDet's graph is freed for batches (model_shapes); its height and width stay fixed here, ~10%
        # faster than a graph free in every dimension, which only motion regions need (made on first use)
        graph = flexible_nanodet(model, input_size) if layout == "nanodet" else model
        self.session = make_session(graph, threads, provider)
        self._model, self._threads, self._provider = model, threads, provider
        self._crop_session: ort.InferenceSession | None = None
        self._crop_lock = threading.Lock()
        self.input_name = self.session.get_inputs()[0].name

    def infer(self, tensor: np.ndarray) -> list[np.ndarray]:
        """Raw model outputs; the benchmark's 'detector alone' is exactly this call."""
        return list(self.session.run(None, {self.input_name: tensor}))

    def detect(self, image: np.ndarray) -> sv.Detections:
        prep = prepare(image, self.layout, self.input_size)
        raw = self._decode(self.infer(prep.tensor))
        return self._to_detections(raw, prep, image.shape[1], image.shape[0])

    def detect_batch(self, images: list[np.ndarray]) -> list[sv.Detections]:
        """Detections for each image, from one ONNX Runtime call on the stacked inputs."""
        if not images:
            return []
        preps = [prepare(image, self.layout, self.input_size) for image in images]
        tensor = preps[0].tensor if len(preps) == 1 else np.concatenate([p.tensor for p in preps])
        outputs = self.infer(tensor)
        return [
            self._to_detections(self._decode([o[i : i + 1] for o in outputs]), prep, im.shape[1], im.shape[0])
            for i, (prep, im) in enumerate(zip(preps, images, strict=True))
        ]

    def _crops(self) -> ort.InferenceSession:
        with self._crop_lock:
            if self._crop_session is None:
                graph = flexible_nanodet(self._model)
                self._crop_session = make_session(graph, self._threads, self._provider)
            return self._crop_session

    def detect_regions(self, image: np.ndarray, regions: np.ndarray) -> sv.Detections:
        """Detections in the given regions (k, 4 frame pixels; see vision.regions) of `image`, each run at
        the whole frame's scale. NanoDet only (its freed graph takes any multiple-of-32 input); other
        layouts run the whole frame."""
        if self.layout != "nanodet":  # other exports may pin their input size: the whole frame
            return self.detect(image)
        h, w = image.shape[:2]
        sx, sy = self.input_size[0] / w, self.input_size[1] / h
        parts = []
        for x1, y1, x2, y2 in regions.tolist():
            size = (model_side(x2 - x1, sx), model_side(y2 - y1, sy))
            crop = image[y1:y2, x1:x2]
            prep = prepare(crop, self.layout, size)
            outputs = self._crops().run(None, {self.input_name: prep.tensor})
            raw = decode_nanodet(list(outputs), size, self.class_ids, self.confidence)
            if len(raw.score):
                shifted = Prepared(
                    prep.tensor, prep.scale_x, prep.scale_y, -x1 * prep.scale_x, -y1 * prep.scale_y
                )
                parts.append(self._to_detections(raw, shifted, w, h))
        if not parts:
            return sv.Detections.empty()
        merged = parts[0] if len(parts) == 1 else sv.Detections.merge(parts)
        return merged.with_nms(threshold=self.nms_iou, class_agnostic=False)

    def _decode(self, outputs: list[np.ndarray]) -> RawBoxes:
        if self.layout == "nanodet":
            return decode_nanodet(outputs, self.input_size, self.class_ids, self.confidence)
        if self.layout == "yolov8":
            return decode_yolov8(outputs, self.class_ids, self.confidence)
        if self.layout == "centernet":
            return decode_centernet(outputs, self.class_ids, self.confidence)
        return decode_yolox(outputs, self.class_ids, self.confidence)

    def _to_detections(self, raw: RawBoxes, prep: Prepared, width: int, height: int) -> sv.Detections:
        if len(raw.score) == 0:
            return sv.Detections.empty()
        xyxy = raw.xyxy.copy()
        xs, ys = xyxy[:, 0::2], xyxy[:, 1::2]  # views: x1,x2 and y1,y2
        np.clip((xs - prep.pad_x) / prep.scale_x, 0, width, out=xs)
        np.clip((ys - prep.pad_y) / prep.scale_y, 0, height, out=ys)
        dets = sv.Detections(xyxy=xyxy, confidence=raw.score, class_id=raw.class_id)
        return dets.with_nms(threshold=self.nms_iou, class_agnostic=False)
