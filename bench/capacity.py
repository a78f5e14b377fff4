"""Capacity benchmark: how many cameras one node analyses in real time.

Each trial runs, in a fresh process, the production node (`build_app`: decode thread, motion gate, shared
detector, tracker, rules, snapshots, SQLite store) on N copies of the PETS sample (768x576, looped,
paced to its own clock, sampled at `--fps`, one counting line each) for `--duration` seconds after a short
warm-up, and reports per trial:

- analysed: frames analysed / frames due (fps x seconds), worst and mean camera; a trial passes when every
  camera analyses >= 95% of its frames;
- p95 latency from a frame's timestamp to its event reaching the bus's subscriber (line crossings etc.);
- RSS: of the process before the cameras start (detector loaded and warm) and after the run, and the
  difference per camera (what each additional camera costs);
- CPU per camera: process CPU seconds over the window / seconds / N (1.0 = one core);
- frames analysed per CPU-second of the process, and the cameras that would make on idle cores: on a
  shared machine the process gets what its neighbours leave, and this is the figure that survives it.

Without `--cameras` it searches: doubles N until a trial fails, then bisects. `--set key=value` overrides
settings (dotted path, YAML value) so a baseline and a candidate configuration run back to back, e.g.
`--set motion.enabled=false --set detector.input_size=[416,416]`.

    .venv/bin/python bench/capacity.py [--cameras 4,8,10] [--duration 60] [--set detector.batch.enabled=true]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "var" / "samples" / "vtest.avi"
PASS_FRACTION = 0.95
WARMUP_S = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def warm_node(node: Any, image: Any) -> None:
    """Load what the node loads once, on first use, for all its cameras (detector arena, the crop session of
    motion regions, the face and plate redactors of snapshots), so that the RSS measured before the cameras
    start is the node's, and the difference is what the cameras cost."""
    import numpy as np

    from safecity.vision.detector import RegionDetector

    node.detector.detect(image)  # ONNX Runtime allocates its arena on the first run
    if isinstance(node.detector, RegionDetector):
        node.detector.detect_regions(image, np.array([[0, 0, 256, 256]], np.int64))
    if node.biometrics is not None:
        node.biometrics.redactor.with_people(image, None)
    plates = node.factory.plates if node.factory is not None else None
    if plates is not None:
        plates.redactor.redact(image, np.array([[0, 0, 320, 320]], np.float32))


def set_path(tree: dict[str, Any], dotted: str, value: Any) -> None:
    keys = dotted.split(".")
    for k in keys[:-1]:
        tree = tree.setdefault(k, {})
    tree[keys[-1]] = value


def settings_tree(n: int, video: Path, fps: float, data_dir: Path, overrides: list[str]) -> dict[str, Any]:
    camera = {
        "source": str(video),
        "fps": fps,
        "loop": True,
        "lines": [{"id": "road", "start": [550, 150], "end": [550, 470], "classes": ["person"]}],
    }
    tree: dict[str, Any] = {
        "storage": {"data_dir": str(data_dir)},
        "cameras": [{"id": f"cam{i:02d}", **camera} for i in range(n)],
    }
    for item in overrides:
        key, _, raw = item.partition("=")
        set_path(tree, key, yaml.safe_load(raw))
    return tree


def child(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One trial in this process; returns its figures."""
    from safecity.app import build_app
    from safecity.config.models import Settings
    from safecity.ingest import SourceSpec, open_source
    from safecity.types import Event

    latencies: list[float] = []
    lock = threading.Lock()

    def on_event(event: Event) -> None:
        with lock:
            latencies.append(time.time() - event.end.timestamp())

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(settings_tree(n, args.video, args.fps, Path(tmp), args.set))
        node = build_app(settings)
        node.bus.subscribe(on_event)
        frames = open_source(SourceSpec(camera_id="warm", url=str(args.video))).frames()
        warm_node(node, next(frames).image)
        frames.close()
        rss_before = rss_mb()
        node.start()
        time.sleep(WARMUP_S)
        start_counts = {c: w.metrics.frames_analysed for c, w in node.workers.items()}
        cpu0, t0 = sum(os.times()[:2]), time.monotonic()
        with lock:
            latencies.clear()
        time.sleep(args.duration)
        seconds = time.monotonic() - t0
        cpu = sum(os.times()[:2]) - cpu0
        counts = {c: w.metrics.frames_analysed - start_counts[c] for c, w in node.workers.items()}
        dropped = sum(w.metrics.frames_dropped for w in node.workers.values())
        rss_after = rss_mb()
        with lock:
            lat = sorted(latencies)
        due = args.fps * seconds
        fractions = [counts[c] / due for c in sorted(counts)]
        result = {
            "cameras": n,
            "seconds": round(seconds, 1),
            "worst": min(fractions),
            "mean": sum(fractions) / n,
            "dropped": dropped,
            "events": len(lat),
            "p95_latency_s": lat[int(0.95 * (len(lat) - 1))] if lat else None,
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_after,
            "rss_per_camera_mb": (rss_after - rss_before) / n,
            "cpu_per_camera": cpu / seconds / n,
            # what a CPU-second buys, whatever share of the cores the neighbours leave this process
            "frames_per_cpu_s": sum(counts.values()) / cpu if cpu > 0 else 0.0,
            "load_avg": os.getloadavg()[0],
        }
        # printed before the node closes: a native library that aborts at shutdown must not lose the trial
        print(json.dumps(result), flush=True)
        node.close()
    return result


def trial(n: int, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", str(n), "--duration", str(args.duration)]
    cmd += ["--video", str(args.video), "--fps", str(args.fps)]
    for item in args.set:
        cmd += ["--set", item]
    done = subprocess.run(cmd, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"trial N={n} failed (exit {done.returncode}): {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(lines[-1])
    result["passed"] = result["worst"] >= PASS_FRACTION
    lat = result["p95_latency_s"]
    print(
        f"N={n:2d}: analysed worst {result['worst']:.1%} mean {result['mean']:.1%} "
        f"({'pass' if result['passed'] else 'FAIL'}), dropped {result['dropped']}, "
        f"p95 latency {'-' if lat is None else f'{lat * 1000:.0f} ms'} ({result['events']} events), "
        f"RSS {result['rss_before_mb']:.0f} -> {result['rss_after_mb']:.0f} MiB "
        f"({result['rss_per_camera_mb']:.1f} MiB/camera), "
        f"CPU/camera {result['cpu_per_camera']:.1%} of a core, "
        f"{result['frames_per_cpu_s']:.1f} frames per CPU-second "
        f"(idle {os.cpu_count()} cores: ~{result['frames_per_cpu_s'] * (os.cpu_count() or 1) / args.fps:.0f} "
        f"cameras), load {result['load_avg']:.1f}",
        flush=True,
    )
    return result


def search(args: argparse.Namespace) -> int:
    """Largest passing N: double from `--start` until a failure, then bisect."""
    good, bad, n = 0, None, args.start
    while bad is None and n <= args.max:
        if trial(n, args)["passed"]:
            good, n = n, n * 2
        else:
            bad = n
    if bad is None:
        return good
    while bad - good > 1:
        mid = (good + bad) // 2
        if trial(mid, args)["passed"]:
            good = mid
        else:
            bad = mid
    return good


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", help="comma-separated N to try (default: search)")
    p.add_argument("--duration", type=float, default=60.0, help="measured seconds per trial")
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--set", action="append", default=[], help="settings override key=value (repeatable)")
    p.add_argument("--start", type=int, default=2, help="search: first N")
    p.add_argument("--max", type=int, default=32, help="search: largest N tried")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if not args.video.is_file():
        print(f"sample video not found: {args.video} (scripts/get-sample-video.sh)", file=sys.stderr)
        return 2
    if args.child is not None:
        child(args.child, args)  # prints its figures
        return 0
    print(f"video {args.video.name} at {args.fps:g} fps, {args.duration:g} s per trial, overrides {args.set}")
    print(f"load average before: {' '.join(f'{v:.2f}' for v in os.getloadavg())}; cores: {os.cpu_count()}")
    if args.cameras:
        results = [trial(int(n), args) for n in args.cameras.split(",")]
        best = max((r["cameras"] for r in results if r["passed"]), default=0)
        for a, b in itertools.pairwise(sorted(results, key=lambda r: r["cameras"])):
            grown = (b["rss_after_mb"] - b["rss_before_mb"]) - (a["rss_after_mb"] - a["rss_before_mb"])
            if b["cameras"] > a["cameras"]:
                print(
                    f"RSS per additional camera, N={a['cameras']} -> {b['cameras']}: "
                    f"{grown / (b['cameras'] - a['cameras']):.1f} MiB"
                )
    else:
        best = search(args)
    print(f"largest N where every camera analysed >= {PASS_FRACTION:.0%} of its frames: {best}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
