"""Where a camera's memory goes: RSS per *added* camera, in one process, and what holds the frames.

Builds the production node (`build_app`), loads what it loads once for all cameras (`capacity.warm_node`:
detector arena, crop session, face and plate redactors), then starts cameras in steps (`--steps 1,2,4,8`:
copies of the PETS sample, looped, paced, `--fps`), waits `--duration` seconds after each step and prints
the RSS growth per added camera, frames analysed and dropped, and each worker's queue depths and frame
pool figures. With `--trace`, `tracemalloc` runs too (numpy reports its buffers to it) and the largest live
allocation sites are printed at the end: what is not listed there is native (FFmpeg, ONNX Runtime, glibc).

Adding cameras to one warm process measures what a camera costs better than dividing a whole process by N
(`bench/capacity.py`), and is the method of docs/performance.md. Run two source trees back to back with
`PYTHONPATH=<tree>/src`.

    .venv/bin/python bench/camera_memory.py [--steps 1,2,4,8] [--duration 15] [--trace] [--set key=value]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capacity import VIDEO, rss_mb, settings_tree, warm_node


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default="1,2,4,8", help="cameras running after each step")
    p.add_argument("--duration", type=float, default=15.0, help="seconds after each step")
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--trace", action="store_true", help="tracemalloc: the largest live allocation sites")
    p.add_argument("--top", type=int, default=12)
    args = p.parse_args()
    steps = [int(v) for v in args.steps.split(",")]

    from safecity.app import build_app
    from safecity.config.models import Settings
    from safecity.ingest import SourceSpec, open_source

    tmp = tempfile.mkdtemp()
    settings = Settings.model_validate(settings_tree(max(steps), args.video, args.fps, Path(tmp), args.set))
    node = build_app(settings)
    frames = open_source(SourceSpec(camera_id="warm", url=str(args.video))).frames()
    warm_node(node, next(frames).image)
    frames.close()
    print(f"node warm: RSS {rss_mb():.0f} MiB, load {os.getloadavg()[0]:.1f}", flush=True)
    if args.trace:
        tracemalloc.start(4)
    running, prev = 0, rss_mb()
    for n in steps:
        for camera in settings.cameras[running:n]:
            node.add_camera(camera)
            node.runtimes[camera.id].start()
        added, running = n - running, n
        time.sleep(args.duration)
        rss = rss_mb()
        workers = node.workers.values()
        analysed = sum(w.metrics.frames_analysed for w in workers)
        dropped = sum(w.metrics.frames_dropped for w in workers)
        print(
            f"N={n}: RSS {rss:.0f} MiB (+{rss - prev:.0f}, {(rss - prev) / max(1, added):.1f} MiB per added "
            f"camera), analysed {analysed}, dropped {dropped}, load {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        prev = rss
    for cid, w in node.workers.items():
        pool = getattr(w, "pool", None)
        print(
            f"  {cid}: worker queue {w._queue.qsize()}, snapshot outbox {w._outbox.qsize()}, "
            f"events {w.metrics.events}" + (f", pool {pool.stats}" if pool is not None else "")
        )
    if args.trace:
        snap = tracemalloc.take_snapshot()
        tracemalloc.stop()
        for stat in snap.statistics("traceback")[: args.top]:
            where = " -> ".join(f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback)
            print(f"  {stat.size / 2**20:7.1f} MiB {stat.count:7d} blocks  {where}")
    node.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
