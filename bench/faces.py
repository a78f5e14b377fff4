"""Face step cost: faces/s and CPU per camera, with and without an active watchlist; redaction cost.

    .venv/bin/python bench/faces.py [--video ../shared/data/video/tud-campus.mp4] [--fps 0] [--repeat 3]

1. Micro: CenterFace on a person head crop, dlib alignment + embedding of one face -> faces/s on one core.
2. Per camera: the real analysis chain (motion gate, NanoDet, tracker, rules) over a real video, once with
   no active watchlist (the face step returns at once: no crop, no face) and once with one (BestFrames,
   CenterFace, dlib, comparison, discard). CPU seconds per second of video = cores used by one camera.
3. Redaction: CenterFace + blur of one full snapshot frame (what every stored snapshot costs).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from safecity.app import build_detector
from safecity.config import Settings
from safecity.config.models import CameraConfig
from safecity.ingest import SourceSpec, open_source
from safecity.media.face_redaction import FaceRedactor
from safecity.pipeline.analyzer import FrameAnalyzer
from safecity.types import Frame
from safecity.vision.faces import BestFrames, CenterFaceDetector, FaceEmbedder, discard
from safecity.vision.faces_models import CENTERFACE, DLIB_RESNET, SHAPE_PREDICTOR_5, face_model_path
from safecity.vision.models import default_cache_dir

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def models() -> tuple[CenterFaceDetector, FaceEmbedder]:
    cache = default_cache_dir()
    detector = CenterFaceDetector(face_model_path(cache, CENTERFACE), threads=1)
    return detector, FaceEmbedder(
        face_model_path(cache, SHAPE_PREDICTOR_5), face_model_path(cache, DLIB_RESNET)
    )


def micro(detector: CenterFaceDetector, embedder: FaceEmbedder, repeat: int) -> None:
    photo = cv2.imread(str(SHARED / "faces" / "obama.jpg"))
    crop = np.asarray(cv2.resize(photo, (160, 200)))  # a head-and-shoulders crop of a person track
    box = detector.detect(crop, min_side=192).xyxy[0]
    n = 20 * repeat
    t0 = time.perf_counter()
    for _ in range(n):
        detector.detect(crop, min_side=192)
    t1 = time.perf_counter()
    for _ in range(n):
        discard(embedder.embed(crop, box))
    t2 = time.perf_counter()
    det_ms, emb_ms = (t1 - t0) / n * 1000, (t2 - t1) / n * 1000
    print(
        f"per face (1 thread): CenterFace on a 160x200 crop {det_ms:.1f} ms, "
        f"dlib align+embed {emb_ms:.1f} ms -> {1000 / (det_ms + emb_ms):.1f} faces/s"
    )


def camera(
    video: Path, fps: float | None, with_faces: bool, faces: tuple[CenterFaceDetector, FaceEmbedder]
) -> None:
    settings = Settings()
    cam = CameraConfig(id="bench", source=str(video), fps=fps)
    analyzer = FrameAnalyzer(cam, settings, build_detector(settings))
    buffer = BestFrames()
    detector, embedder = faces
    frames = computed = 0
    face_cpu = 0.0
    last_pts = 0.0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for frame in open_source(SourceSpec(camera_id="bench", url=str(video), fps=fps, loop=False)).frames():
        result = analyzer.analyse(frame)
        frames, last_pts = frames + 1, frame.pts
        if not with_faces:
            continue
        c0 = time.process_time()
        computed += _faces(buffer, frame, result.tracks, detector, embedder)
        face_cpu += time.process_time() - c0
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    label = "active watchlist" if with_faces else "no watchlist    "
    video_s = max(last_pts, 1e-6)
    print(
        f"{label}: {frames} frames, {video_s:.1f} s of video, CPU {cpu:.2f} s = {cpu / video_s:.2f} cores "
        f"per camera in real time (wall {wall:.1f} s); face step CPU {face_cpu:.2f} s for {computed} faces"
        + (f" = {computed / face_cpu:.1f} faces/s" if face_cpu > 0 and computed else "")
    )


def _faces(
    buffer: BestFrames, frame: Frame, tracks: object, det: CenterFaceDetector, emb: FaceEmbedder
) -> int:
    n = 0
    for _, cands in buffer.observe(frame, tracks):  # type: ignore[arg-type]
        for cand in cands[:2]:
            found = det.detect(cand.crop, min_side=192)
            if len(found):
                discard(emb.embed(cand.crop, found.xyxy[0]))
                n += 1
                break
        for cand in cands:
            discard(cand.crop)
    return n


def redaction(detector: CenterFaceDetector, repeat: int) -> None:
    redactor = FaceRedactor(lambda: detector)
    for name in ("pets09-s2l1-vtest.avi", "tud-campus.mp4"):
        frame = next(iter(open_source(SourceSpec(camera_id="r", url=str(SHARED / "video" / name))).frames()))
        n = 5 * repeat
        t0 = time.perf_counter()
        for _ in range(n):
            redactor.redact(frame.image)
        ms = (time.perf_counter() - t0) / n * 1000
        print(f"redaction of one {frame.width}x{frame.height} snapshot: {ms:.0f} ms")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--video", type=Path, default=SHARED / "video" / "tud-campus.mp4")
    p.add_argument("--fps", type=float, default=0, help="analysis fps (0: every frame)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    faces = models()
    micro(*faces, args.repeat)
    for with_faces in (False, True):
        camera(args.video, args.fps or None, with_faces, faces)
    redaction(faces[0], args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
