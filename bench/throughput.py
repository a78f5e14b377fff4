"""Throughput benchmark: one stream through the whole pipeline versus the detector alone.

1. Pipeline: the production worker (PyAV decode thread, motion gate, NanoDet, ByteTrack, rules, JPEG
   snapshots, SQLite store) on every frame of a real video, read losslessly; frames / wall seconds.
   Run with the motion gate off (every frame is inferred, so the ratio below measures our overhead) and on.
2. Detector alone: ONNX Runtime `run()` on the same frames, already preprocessed; frames / seconds.
3. Ratio pipeline / detector (target >= 0.85), per-stage milliseconds, and peak RSS of the pipeline phase.

    .venv/bin/python bench/throughput.py [--video PATH] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

from safecity.app import build_app, build_detector
from safecity.config.models import Settings
from safecity.ingest import SourceSpec, open_source
from safecity.vision.detector import OnnxDetector, prepare

ROOT = Path(__file__).resolve().parents[1]
VIDEO = (ROOT / ".." / "shared" / "data" / "video" / "pets09-s2l1-vtest.avi").resolve()


def settings_for(video: Path, data_dir: Path, threads: int, motion: dict[str, bool]) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"data_dir": str(data_dir)},
            "detector": {"threads": threads},
            "motion": motion,
            "cameras": [
                {
                    "id": "bench",
                    "source": str(video),
                    "fps": None,
                    "lines": [{"id": "l", "start": [400, 150], "end": [400, 470]}],
                    "zones": [
                        {
                            "id": "z",
                            "polygon": [[120, 190], [420, 180], [420, 420], [120, 330]],
                            "crowding": {"threshold": 4},
                            "loitering": {"after_s": 20},
                        }
                    ],
                }
            ],
        }
    )


def run_pipeline(video: Path, threads: int, motion: dict[str, bool]) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        node = build_app(settings_for(video, Path(tmp), threads, motion))
        warm = next(open_source(SourceSpec(camera_id="w", url=str(video))).frames())
        node.detector.detect(warm.image)  # ONNX Runtime's first run allocates; not part of the stream
        t0 = time.perf_counter()
        node.start()
        node.wait()
        wall = time.perf_counter() - t0
        worker = node.workers["bench"]
        node.close()
    times = worker.analyzer.times
    n = max(1, times.frames)
    return {
        "frames": times.frames,
        "fps": times.frames / wall,
        "events": worker.metrics.events,
        "detector_runs": times.detector_runs,
        "region_runs": times.region_runs,
        "gate_ms": 1000 * times.gate_s / n,
        "detect_ms": 1000 * times.detect_s / max(1, times.detector_runs),
        "track_ms": 1000 * times.track_s / n,
        "rules_ms": 1000 * times.rules_s / n,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def run_detector_alone(video: Path, threads: int) -> dict[str, float]:
    settings = {"detector": {"threads": threads, "batch": {"enabled": False}}}  # the bare session
    detector = build_detector(Settings.model_validate(settings))
    assert isinstance(detector, OnnxDetector)
    frames = 0
    infer_s = 0.0
    for frame in open_source(SourceSpec(camera_id="d", url=str(video))).frames():
        tensor = prepare(frame.image, detector.layout, detector.input_size).tensor
        if frames == 0:
            detector.infer(tensor)  # warm-up, as above
        t = time.perf_counter()
        detector.infer(tensor)
        infer_s += time.perf_counter() - t
        frames += 1
    return {"frames": frames, "fps": frames / infer_s, "infer_ms": 1000 * infer_s / frames}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    args = p.parse_args()
    off = run_pipeline(args.video, args.threads, {"enabled": False})
    peak = off["peak_rss_mb"]
    on = run_pipeline(args.video, args.threads, {"enabled": True, "regions": False})
    regions = run_pipeline(args.video, args.threads, {"enabled": True, "regions": True})
    alone = run_detector_alone(args.video, args.threads)
    print(f"video: {args.video.name}, ONNX Runtime threads: {args.threads}, load average {os.getloadavg()}")
    runs = (
        ("pipeline, motion gate off", off),
        ("pipeline, motion gate on, whole frames", on),
        ("pipeline, motion gate on, motion regions", regions),
    )
    for name, r in runs:
        print(
            f"{name}: {r['fps']:.1f} fps over {r['frames']} frames ({r['detector_runs']} inferred, "
            f"{r['region_runs']} region runs, {r['events']} events); per frame: gate {r['gate_ms']:.2f} ms, "
            f"detect {r['detect_ms']:.1f} ms, track {r['track_ms']:.2f} ms, rules {r['rules_ms']:.2f} ms"
        )
    print(
        f"detector alone (ONNX Runtime run only): {alone['fps']:.1f} fps ({alone['infer_ms']:.1f} ms/frame)"
    )
    print(f"ratio pipeline/detector (gate off): {off['fps'] / alone['fps']:.3f}  (target >= 0.85)")
    print(f"ratio pipeline/detector (gate on, whole frames): {on['fps'] / alone['fps']:.3f}")
    print(
        f"ratio pipeline/detector (gate on, regions): {regions['fps'] / alone['fps']:.3f}  (target >= 0.95)"
    )
    print(f"peak RSS of the pipeline run: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
