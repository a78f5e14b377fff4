"""Detector scheduler benchmark: K camera threads sharing one detector, with and without batching.

Each mode runs K threads that call `detect(frame)` on real PETS frames in a loop for `--seconds`, in a
fresh process (so ONNX Runtime's arena growth is that mode's own), and prints detections per second over
all threads and the RSS growth after the first run. Modes:
- direct: every thread calls the shared OnnxDetector (today's default; runs overlap on the cores);
- scheduler max_size=1: one run at a time, oldest request first;
- scheduler max_size=4 / 8: up to that many frames of different threads in one ONNX Runtime call.
Modes alternate in rounds so a shared machine's load falls on each alike.

    .venv/bin/python bench/scheduler.py [--threads-per-camera 2] [--cameras 8] [--seconds 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VIDEO = ROOT / "var" / "samples" / "vtest.avi"
MODES = ("direct", "batch1", "batch4", "batch8")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child(mode: str, args: argparse.Namespace) -> dict[str, float]:
    from safecity.app import build_detector
    from safecity.config.models import Settings
    from safecity.ingest import SourceSpec, open_source

    batch = {"enabled": mode != "direct", "max_size": int(mode[5:]) if mode != "direct" else 1}
    det = build_detector(Settings.model_validate({"detector": {"threads": args.ort_threads, "batch": batch}}))
    frames = []
    for i, f in enumerate(open_source(SourceSpec(camera_id="b", url=str(args.video))).frames()):
        if i % 25 == 0:
            frames.append(f.image)
        if len(frames) == args.cameras:
            break
    det.detect(frames[0])
    base = rss_mb()
    counts = [0] * args.cameras
    stop = threading.Event()

    def camera(i: int) -> None:
        while not stop.is_set():
            det.detect(frames[i])
            counts[i] += 1

    threads = [threading.Thread(target=camera, args=(i,), daemon=True) for i in range(args.cameras)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    return {"fps": sum(counts) / seconds, "rss_growth_mb": rss_mb() - base, "load": os.getloadavg()[0]}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", type=int, default=8, help="threads calling detect at once")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--ort-threads", type=int, default=2)
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args)))
        return 0
    results: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    for _ in range(args.rounds):
        for mode in MODES:
            cmd = [sys.executable, __file__, "--child", mode, "--cameras", str(args.cameras)]
            cmd += ["--seconds", str(args.seconds), "--ort-threads", str(args.ort_threads)]
            cmd += ["--video", str(args.video)]
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            results[mode].append(json.loads(out.strip().splitlines()[-1]))
    print(f"{args.cameras} camera threads, {args.seconds:g} s x {args.rounds} rounds, cores {os.cpu_count()}")
    for mode, rs in results.items():
        fps = sum(r["fps"] for r in rs) / len(rs)
        rss = sum(r["rss_growth_mb"] for r in rs) / len(rs)
        load = sum(r["load"] for r in rs) / len(rs)
        print(f"{mode:7s}: {fps:6.1f} detections/s, RSS growth {rss:5.1f} MiB, load average {load:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
