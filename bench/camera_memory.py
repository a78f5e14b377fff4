"""Where a camera's memory goes: RSS per camera, and the live allocations by the line that made them.

Runs the production node (`build_app`) on N copies of the PETS sample (looped, paced, `--fps`) for
`--duration` seconds, each N in a fresh process, with `tracemalloc` on (numpy reports its array buffers to
it), then prints RSS before the cameras start and after, per camera, and the largest live allocation sites
(grouped by source line) with how many blocks each holds. Complements `bench/capacity.py`, which measures
without the tracing overhead.

    .venv/bin/python bench/camera_memory.py --cameras 1,2,4 --duration 20 [--top 12] [--set key=value]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from capacity import VIDEO, rss_mb, settings_tree, warm_node


def child(n: int, args: argparse.Namespace) -> dict[str, Any]:
    from safecity.app import build_app
    from safecity.config.models import Settings
    from safecity.ingest import SourceSpec, open_source

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings.model_validate(settings_tree(n, args.video, args.fps, Path(tmp), args.set))
        node = build_app(settings)
        frames = open_source(SourceSpec(camera_id="warm", url=str(args.video))).frames()
        warm_node(node, next(frames).image)
        frames.close()
        rss_before = rss_mb()
        if args.trace:
            tracemalloc.start(args.depth)
        node.start()
        time.sleep(args.duration)
        rss_after = rss_mb()
        top: list[dict[str, Any]] = []
        if args.trace:
            snap = tracemalloc.take_snapshot()
            tracemalloc.stop()
            for stat in snap.statistics("traceback")[: args.top]:
                frames_ = [f"{Path(f.filename).name}:{f.lineno}" for f in stat.traceback][-args.depth :]
                top.append({"mb": stat.size / 2**20, "blocks": stat.count, "where": " -> ".join(frames_)})
        analysed = sum(w.metrics.frames_analysed for w in node.workers.values())
        node.close()
    return {
        "cameras": n,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "per_camera_mb": (rss_after - rss_before) / n,
        "analysed": analysed,
        "top": top,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cameras", default="1,2,4")
    p.add_argument("--duration", type=float, default=20.0)
    p.add_argument("--fps", type=float, default=5.0)
    p.add_argument("--video", type=Path, default=VIDEO)
    p.add_argument("--set", action="append", default=[])
    p.add_argument("--top", type=int, default=12)
    p.add_argument("--depth", type=int, default=3, help="traceback frames per allocation site")
    p.add_argument("--no-trace", dest="trace", action="store_false")
    p.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args)))
        return 0
    for n in (int(v) for v in args.cameras.split(",")):
        cmd = [sys.executable, __file__, "--child", str(n), "--duration", str(args.duration)]
        cmd += ["--video", str(args.video), "--fps", str(args.fps), "--top", str(args.top)]
        cmd += ["--depth", str(args.depth)] + ([] if args.trace else ["--no-trace"])
        for item in args.set:
            cmd += ["--set", item]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        r = json.loads(out.splitlines()[-1])
        print(
            f"N={n}: RSS {r['rss_before_mb']:.0f} -> {r['rss_after_mb']:.0f} MiB, "
            f"{r['per_camera_mb']:.1f} MiB/camera, {r['analysed']} frames analysed",
            flush=True,
        )
        for t in r["top"]:
            print(f"    {t['mb']:7.1f} MiB {t['blocks']:7d} blocks  {t['where']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
