"""Failover time of camera workers: SIGKILL a `safecity worker` -> its cameras analysed again elsewhere.

Starts `--workers` real worker processes sharing `--cameras` cameras (the PETS video looped, the real
detector at `--fps`), waits until every camera is held and analysed, SIGKILLs the worker holding the
most cameras, and measures, per lost camera, from the kill to (a) the new claim and (b) the first frame
analysed by its new worker (from the workers' activity logs), and (c) the recording gap: every camera is
recorded (`--segment` seconds per segment, the video remuxed from an H.264 copy made with ffmpeg), and
the gap is the time between the end of the last segment stored before the kill and the start of the
first one after it (from the segment index in the shared database). The killed worker is replaced by a
new one and the cluster rebalances before the next trial. Expected: claim <= TTL + claim period; gap
<= TTL + one segment (+ the claim period and the source opening).

    .venv/bin/python bench/failover.py [--workers 3] [--cameras 6] [--trials 3] [--ttl 10] [--fps 1]
        [--segment 2] [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VIDEO = (ROOT / ".." / "shared" / "data" / "video" / "pets09-s2l1-vtest.avi").resolve()


def records(logs: Path) -> list[dict[str, Any]]:
    out = []
    for path in logs.glob("*.jsonl"):
        out += [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]
    return sorted(out, key=lambda r: r["t"])


def holders(recs: list[dict[str, Any]]) -> dict[str, tuple[str, int, float, float | None]]:
    """camera -> (worker, claim, claim time, first frame time) of its current tenure."""
    cur: dict[str, tuple[str, int, float, float | None]] = {}
    for r in recs:
        cam = r["camera"]
        if r["op"] == "claim":
            cur[cam] = (r["worker"], r["claim"], r["t"], None)
        elif r["op"] in ("release", "lost", "expired") and cam in cur and cur[cam][1] == r["claim"]:
            del cur[cam]
        elif r["op"] == "frame" and cam in cur and cur[cam][1] == r["claim"] and cur[cam][3] is None:
            cur[cam] = (*cur[cam][:3], r["t"])
    return cur


def segment_spans(database_url: str, camera: str) -> list[tuple[float, float]]:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from safecity.recording.models import SegmentRow
    from safecity.store import make_engine

    engine = make_engine(database_url)
    try:
        with Session(engine) as db:
            rows = db.scalars(select(SegmentRow).where(SegmentRow.camera_id == camera))
            return sorted((r.start.timestamp(), r.end.timestamp()) for r in rows)
    finally:
        engine.dispose()


def recording_gap(database_url: str, camera: str, killed: float, timeout: float = 90) -> float:
    """End of the last segment that started before the kill -> start of the first one after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        spans = segment_spans(database_url, camera)
        before = [end for start, end in spans if start < killed]
        after = [start for start, _ in spans if start >= killed]
        if before and after:
            return min(after) - max(before)
        time.sleep(0.5)
    raise TimeoutError(f"{camera}: no segment recorded around the kill at {killed:.1f}: {spans[-6:]}")


class Cluster:
    def __init__(self, config: Path, logs: Path) -> None:
        self.config, self.logs = config, logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.n = 0

    def start(self) -> str:
        self.n += 1
        wid = f"w{self.n}"
        config = self.logs / f"{wid}.yaml"  # its own data dir (spool); database and media are shared
        config.write_text(self.config.read_text().replace("@DATA@", str(self.logs / wid)))
        exe = Path(sys.executable).with_name("safecity")
        cmd = [str(exe), "worker", "-c", str(config), "--worker-id", wid,
               "--activity-log", str(self.logs / f"{wid}.jsonl")]  # fmt: skip
        self.procs[wid] = subprocess.Popen(
            cmd, stdout=(self.logs / f"{wid}.out").open("ab"), stderr=subprocess.STDOUT
        )
        return wid

    def settled(self, cameras: int, timeout: float = 180) -> dict[str, tuple[str, int, float, float | None]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = holders(records(self.logs))
            live = {w for w, p in self.procs.items() if p.poll() is None}
            if not live:
                raise RuntimeError(
                    "every worker died:\n" + (self.logs / f"w{self.n}.out").read_text()[-3000:]
                )
            per = Counter(v[0] for v in h.values())
            share = -(-cameras // len(live))
            framed = all(v[3] is not None for v in h.values())
            if len(h) == cameras and framed and set(per) == live and max(per.values()) <= share:
                return h
            time.sleep(0.2)
        raise TimeoutError(f"cluster did not settle: {holders(records(self.logs))}")

    def stop(self) -> None:
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()


def trial(cluster: Cluster, cameras: int, database_url: str) -> list[tuple[str, float, float, float]]:
    before = cluster.settled(cameras)
    victim = Counter(v[0] for v in before.values()).most_common(1)[0][0]
    lost = [cam for cam, v in before.items() if v[0] == victim]
    os.kill(cluster.procs[victim].pid, signal.SIGKILL)
    killed = time.time()
    cluster.procs.pop(victim).wait()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        h = holders(records(cluster.logs))
        if all(cam in h and h[cam][0] != victim and h[cam][3] is not None for cam in lost):
            break
        time.sleep(0.1)
    else:
        raise TimeoutError(f"{lost} not taken over")
    out = []
    for cam in lost:
        _, _, claimed, first = h[cam]
        assert first is not None
        out.append((cam, claimed - killed, first - killed, recording_gap(database_url, cam, killed)))
    cluster.start()  # a replacement joins; the next trial waits for the rebalance
    return out


def h264_copy(video: Path, work: Path) -> Path:
    """An H.264 copy of the video (recordings remux H.264 as it is; other codecs would need transcoding)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise SystemExit("ffmpeg (Debian package) is needed to make an H.264 copy of the video")
    out = work / "video-h264.mp4"
    subprocess.run(
        [ffmpeg, "-nostdin", "-loglevel", "error", "-y", "-i", str(video), "-c:v", "libx264", "-preset",
         "veryfast", "-g", "10", "-pix_fmt", "yuv420p", str(out)],
        check=True,
    )  # fmt: skip
    return out


def delete_streams(url: str, names: list[str]) -> None:
    import nats

    async def _run() -> None:
        nc = await nats.connect(url)
        for name in names:
            try:
                await nc.jetstream().delete_stream(name)
            except Exception as exc:
                print(f"(cleanup: {name}: {exc})")
        await nc.close()

    asyncio.run(_run())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--cameras", type=int, default=6)
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--ttl", type=float, default=10.0, help="cluster.lease_ttl_s")
    ap.add_argument("--claim-every", type=float, default=1.0, help="cluster.claim_every_s")
    ap.add_argument("--stop-budget", type=float, default=3.0, help="cluster.stop_budget_s")
    ap.add_argument("--kv-timeout", type=float, default=2.0, help="cluster.kv_timeout_s")
    ap.add_argument("--fps", type=float, default=1.0)
    ap.add_argument("--nats-url", default="nats://127.0.0.1:4222")
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--segment", type=float, default=2.0, help="recording.segment_seconds")
    ap.add_argument("--database-url", default=None, help="shared database (default: SQLite in a temp dir)")
    args = ap.parse_args()
    tag = uuid.uuid4().hex[:8]
    streams = [f"FO_{tag}", f"KV_fo_leases_{tag}", f"KV_fo_workers_{tag}"]
    with tempfile.TemporaryDirectory() as tmp:
        logs = Path(tmp)
        video = h264_copy(args.video, logs)
        db_url = args.database_url or f"sqlite:///{logs / 'cluster.db'}"
        cams = "".join(
            f"  - {{id: cam-{i}, source: '{video}', loop: true, fps: {args.fps}}}\n"
            for i in range(args.cameras)
        )
        (logs / "cluster.yaml").write_text(
            f"storage: {{data_dir: '@DATA@', database_url: '{db_url}', media_dir: '{logs / 'media'}'}}\n"
            f"detector: {{threads: 1}}\nrecording: {{enabled: true, segment_seconds: {args.segment}}}\n"
            f"bus: {{type: nats, url: '{args.nats_url}', stream: {streams[0]}, "
            f"subject_prefix: fo{tag}.events}}\n"
            f"cluster: {{lease_bucket: fo_leases_{tag}, workers_bucket: fo_workers_{tag}, "
            f"lease_ttl_s: {args.ttl}, claim_every_s: {args.claim_every}, stop_budget_s: {args.stop_budget}, "
            f"kv_timeout_s: {args.kv_timeout}}}\ncameras:\n{cams}"
        )
        cluster = Cluster(logs / "cluster.yaml", logs)
        try:
            for _ in range(args.workers):
                cluster.start()
            results = [trial(cluster, args.cameras, db_url) for _ in range(args.trials)]
        finally:
            cluster.stop()
            delete_streams(args.nats_url, streams)
    print(
        f"{args.workers} workers, {args.cameras} cameras at {args.fps} fps, lease TTL {args.ttl}s "
        f"(renewal every {args.ttl / 3:.2f}s), claim every {args.claim_every}s, segments {args.segment}s"
    )
    for i, res in enumerate(results, 1):
        cells = ", ".join(
            f"{cam}: claimed {c:.2f}s, analysing {f:.2f}s, gap {g:.2f}s" for cam, c, f, g in res
        )
        print(f"trial {i}: {cells}")
    for name, values in (
        ("claimed", [c for res in results for _, c, _, _ in res]),
        ("analysing", [f for res in results for _, _, f, _ in res]),
        ("rec. gap", [g for res in results for _, _, _, g in res]),
    ):
        print(
            f"kill -> {name + ':':<11} min {min(values):.2f}s  median {statistics.median(values):.2f}s  "
            f"max {max(values):.2f}s"
        )


if __name__ == "__main__":
    main()
