"""Detector candidates compared through the full chain (motion gate, detector, ByteTrack), MOT15 truth.

    .venv/bin/python bench/detectors.py [--config config/pets2009.yaml] [--only centernet-512]
    .venv/bin/python bench/detectors.py --vehicles [--out artifacts/detectors]   # Intel vehicle sample

For each candidate (settings overrides of `detector.*`) and each sequence of `bench/accuracy.py`:
- HOTA / MOTA / IDF1 with the tracker's config defaults, and with tracker thresholds chosen by
  cross-validation for that detector (best HOTA on one sequence, reported on the other): detectors score
  differently (CenterNet's peaks are lower than NanoDet's), so one detector's thresholds would handicap
  another. The detector runs once per sequence; its detections are recorded at the candidate's confidence
  floor and replayed, so each tracker setting re-runs only the tracker (as `bench/tracker_cv.py`);
- recall of people by occlusion level and the person count by true density (`bench/accuracy.py`);
- milliseconds per frame: the whole chain as it ran, and the detector alone on the same frames for every
  candidate in turn, interleaved round by round (the machine is shared: an interleaved median is a fair
  ratio even when the absolute numbers drift with the load).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import supervision as sv

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy
from accuracy import (
    DATA,
    ROOT,
    SEQUENCES,
    count_by_density,
    load_gt,
    recall_by_occlusion,
    run_pipeline,
    score,
    visibility,
    with_overrides,
)
from safecity.app import build_detector
from safecity.config import load_settings
from safecity.config.models import DetectorConfig, Settings
from safecity.vision.detector import Detector

CANDIDATES: dict[str, list[str]] = {
    "nanodet-m-416": [],
    "centernet-512": [
        "detector.type=onnx",
        "detector.model=centernet-512",
        "detector.layout=centernet",
        "detector.input_size=[512, 512]",
        "detector.confidence=0.2",
    ],
}
ACTIVATION = (0.3, 0.4, 0.5, 0.6, 0.7)
HIGH_CONF = (0.3, 0.4, 0.5, 0.6)
TIMING_ROUNDS = 3


class Recording:
    """The chain's detector, keeping what each call returned (in call order) for replays."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.calls = inner, []  # type: ignore[var-annotated]

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.calls.append(self.inner.detect(image))
        return self.calls[-1]

    def detect_regions(self, image: np.ndarray, regions: np.ndarray) -> sv.Detections:
        self.calls.append(self.inner.detect_regions(image, regions))
        return self.calls[-1]


class Replay:
    def __init__(self, calls: list[sv.Detections]) -> None:
        self.calls, self.i = calls, 0

    def detect(self, image: np.ndarray) -> sv.Detections:
        self.i += 1
        return self.calls[min(self.i, len(self.calls)) - 1]

    def detect_regions(self, image: np.ndarray, regions: np.ndarray) -> sv.Detections:
        return self.detect(image)


def with_detector(detector: Any, fn: Any) -> Any:
    original = accuracy.build_detector

    def chosen(settings: Settings, config: DetectorConfig | None = None) -> Detector:
        return detector

    accuracy.build_detector = chosen
    try:
        return fn()
    finally:
        accuracy.build_detector = original


def tracker_settings(base: Settings, act: float, high: float) -> Settings:
    update = {"track_activation_threshold": act, "high_conf_det_threshold": high}
    return base.model_copy(update={"tracker": base.tracker.model_copy(update=update)})


def unbatched(s: Settings) -> Settings:
    batch = s.detector.batch.model_copy(update={"enabled": False})
    return s.model_copy(update={"detector": s.detector.model_copy(update={"batch": batch})})


def timing(settings: dict[str, Settings], frames: list[np.ndarray]) -> dict[str, float]:
    """Median ms per frame of each candidate's detector alone (whole frame), interleaved round by round."""
    detectors = {name: build_detector(unbatched(s)) for name, s in settings.items()}
    for det in detectors.values():
        det.detect(frames[0])  # warm-up: first-run allocations
    samples: dict[str, list[float]] = {name: [] for name in detectors}
    for _ in range(TIMING_ROUNDS):
        for name, det in detectors.items():
            for frame in frames:
                t0 = time.perf_counter()
                det.detect(frame)
                samples[name].append(1000 * (time.perf_counter() - t0))
    return {name: statistics.median(v) for name, v in samples.items()}


def sample_frames(step: int = 25) -> list[np.ndarray]:
    frames = []
    for seq in SEQUENCES:
        cap = cv2.VideoCapture(str(seq.video))
        n = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            if n % (step if seq.name == "PETS09-S2L1" else 5) == 0:
                frames.append(frame)
            n += 1
        cap.release()
    return frames


VEHICLES = ("bicycle", "car", "motorcycle", "bus", "truck")


def vehicles(settings: dict[str, Settings], out: Path, count: int = 16) -> None:
    """Vehicles found in `count` evenly spaced frames of the Intel `car-detection.mp4` (no ground truth:
    the boxes are drawn into one contact sheet per candidate under `out` for inspection)."""
    cap = cv2.VideoCapture(str(DATA / "video" / "car-detection.mp4"))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    picks = set(np.linspace(0, total - 1, count).astype(int).tolist())
    images, n = [], 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        if n in picks:
            images.append(frame)
        n += 1
    cap.release()
    out.mkdir(parents=True, exist_ok=True)
    for name, s in settings.items():
        det = build_detector(unbatched(s.model_copy(update={"classes": VEHICLES})))
        found, tiles = [], []
        for image in images:
            d = det.detect(image)
            found.append(len(d))
            tile = image.copy()
            for x1, y1, x2, y2 in d.xyxy.astype(int).tolist():
                cv2.rectangle(tile, (x1, y1), (x2, y2), (0, 0, 255), 3)
            tiles.append(cv2.resize(tile, (320, 180)))
        rows = [np.hstack(tiles[i : i + 4]) for i in range(0, len(tiles) - len(tiles) % 4, 4)]
        cv2.imwrite(str(out / f"vehicles-{name}.jpg"), np.vstack(rows))
        print(f"{name}: vehicles in {len(images)} frames of car-detection.mp4: {found} (total {sum(found)})")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--config", type=Path, default=ROOT / "config/pets2009.yaml")
    p.add_argument("--only", action="append", default=[], help="candidate name (repeatable); default: all")
    p.add_argument("--skip-timing", action="store_true")
    p.add_argument("--vehicles", action="store_true", help="only the Intel vehicle sample (contact sheets)")
    p.add_argument("--out", type=Path, default=ROOT / "artifacts/detectors")
    args = p.parse_args()
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}", file=sys.stderr)
        return 2
    base = load_settings(args.config)
    names = args.only or list(CANDIDATES)
    settings = {name: with_overrides(base, CANDIDATES[name]) for name in names}
    if args.vehicles:
        vehicles(settings, args.out)
        return 0
    if not args.skip_timing:
        frames = sample_frames()
        ms = timing(settings, frames)
        print(f"detector alone, whole frame, {base.detector.threads} threads, median of {TIMING_ROUNDS} "
              f"interleaved rounds over {len(frames)} frames: "
              + ", ".join(f"{n} {v:.1f} ms" for n, v in ms.items()), flush=True)  # fmt: skip
    grid = list(itertools.product(ACTIVATION, HIGH_CONF))
    default = (base.tracker.track_activation_threshold, base.tracker.high_conf_det_threshold)
    for name, s in settings.items():
        results: dict[str, dict[tuple[float, float], dict[str, float]]] = {}
        for seq in SEQUENCES:
            recording = Recording(build_detector(s))
            tr, analyzer, seconds = with_detector(recording, lambda: run_pipeline(seq, s, s.cameras[0]))  # noqa: B023
            gt = load_gt(seq.gt)
            frames_n = int(max(gt[:, 0].max(), analyzer.times.frames))
            m = score(gt, tr, frames_n)
            print(
                f"{name} {seq.name} (tracker defaults {default}): HOTA {m['HOTA']:.3f} (DetA {m['DetA']:.3f} "
                f"AssA {m['AssA']:.3f}) MOTA {m['MOTA']:.3f} "
                f"IDF1 {m['IDF1']:.3f} FP {m['FP']} FN {m['FN']} IDSW {m['IDSW']}; chain "
                f"{1000 * seconds / max(1, analyzer.times.frames):.1f} ms/frame",
                flush=True,
            )
            print(f"  recall by occlusion: {recall_by_occlusion(gt, tr, visibility(seq.gt))}")
            print(f"  person count by true density: {count_by_density(gt, tr, frames_n)}", flush=True)
            results[seq.name] = {}
            for act, high in grid:
                tuned = tracker_settings(s, act, high)
                replay = Replay(recording.calls)
                rtr, ran, _ = with_detector(replay, lambda t=tuned: run_pipeline(seq, t, t.cameras[0]))  # noqa: B023
                results[seq.name][(act, high)] = {
                    **score(gt, rtr, int(max(gt[:, 0].max(), ran.times.frames))),
                    "occ": recall_by_occlusion(gt, rtr, visibility(seq.gt)),  # type: ignore[dict-item]
                }
        seqs = [q.name for q in SEQUENCES]
        for tune, held in (seqs, seqs[::-1]):
            best = max(grid, key=lambda g: results[tune][g]["HOTA"])
            h = results[held][best]
            print(
                f"{name}: tuned on {tune} -> activation {best[0]}, high_conf {best[1]}; held-out {held}: "
                f"HOTA {h['HOTA']:.3f} MOTA {h['MOTA']:.3f} IDF1 {h['IDF1']:.3f} FP {h['FP']} FN {h['FN']}; "
                f"recall by occlusion {h['occ']}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
