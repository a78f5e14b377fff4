"""Analytics at scale: 10 million events shaped by real pipeline runs, then every dashboard query timed.

1. Profile: the production pipeline (NanoDet, ByteTrack, rules, occupancy sampler) runs on the shared
   videos (PETS2009 pedestrians, a road with cars, people walking one by one through a room) with a line
   and a zone each; from the stored events: rates per kind / label / direction / zone / line, dwell
   times, loitering, tracks per occupancy sample and the density of grid cells. Cached as JSON
   (`--profile`); the videos last minutes, so the hour-of-day and weekday shape is an assumption
   (DIURNAL, WEEKDAY below: a tourist centre), stated in the output.
2. Generate (vectorised numpy -> pyarrow): `--cameras` cameras, each modelled on one video, over `--days`
   days, scaled so the total is `--events` events (occupancy samples every 5 minutes included); written
   to the Parquet lake partitioned day=/camera= with the production writer, camera by camera (bounded
   memory). Incidents with report/dispatch/on-scene times go to a SQLite store for the dashboards.
3. Query, in a fresh process (its peak RSS is the queries' alone): DuckDB with memory_limit and threads
   set, each dashboard query run 3 times; first and best times and peak RSS are printed.

    .venv/bin/python bench/analytics_scale.py [--events 10000000] [--cameras 24] [--days 60]
        [--out DIR] [--profile FILE] [--memory-limit 1GB] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

ROOT = Path(__file__).resolve().parents[1]
VIDEOS = (ROOT / ".." / "shared" / "data" / "video").resolve()
START = datetime(2025, 1, 6, tzinfo=UTC)  # a Monday
START_US = int(START.timestamp()) * 1_000_000
SAMPLE_S = 300  # occupancy period of the generated lake
PROFILE_PERIOD_S = 10  # occupancy period of the real runs (short videos)
# Assumed shape of a tourist centre (the videos are minutes long): weight per local hour, per weekday.
DIURNAL = np.array(
    [2, 1, 1, 1, 1, 2, 4, 7, 10, 13, 16, 18, 19, 18, 17, 17, 18, 19, 18, 15, 12, 9, 6, 4], float
)
WEEKDAY = np.array([0.85, 0.85, 0.9, 0.95, 1.1, 1.35, 1.3])
# The real runs: one line and one zone per shared video (pixels of the source frames).
CAMERAS: dict[str, dict[str, Any]] = yaml.safe_load("""
pets:
  video: pets09-s2l1-vtest.avi
  lines: [{id: road, start: [550, 150], end: [550, 470], in_name: east, out_name: west, classes: [person]}]
  zones: [{id: square, polygon: [[120, 190], [420, 180], [420, 420], [120, 330]], classes: [person],
           enter_exit_events: true, crowding: {threshold: 4}, loitering: {after_s: 20}}]
road:
  video: car-detection.mp4
  lines: [{id: lane, start: [0, 216], end: [768, 216], in_name: north, out_name: south,
           classes: [car, truck, bus, motorcycle]}]
  zones: [{id: street, polygon: [[0, 60], [768, 60], [768, 380], [0, 380]], classes: [car, truck, bus],
           enter_exit_events: true}]
room:
  video: one-by-one-person-detection.mp4
  lines: [{id: door, start: [384, 150], end: [384, 432], in_name: in, out_name: out, classes: [person]}]
  zones: [{id: desk, polygon: [[250, 180], [560, 180], [560, 432], [250, 432]], classes: [person],
           enter_exit_events: true, loitering: {after_s: 5}}]
""")


# --- 1. profile from real runs ----------------------------------------------------------------------


def run_pipeline(data_dir: Path) -> None:
    from safecity.app import build_app
    from safecity.config.models import Settings

    cams = [
        {"id": cid, "source": str(VIDEOS / c["video"]), "fps": 10, "lines": c["lines"], "zones": c["zones"]}
        for cid, c in CAMERAS.items()
    ]
    settings = Settings.model_validate(
        {
            "storage": {"data_dir": str(data_dir)},
            "cameras": cams,
            "analytics": {"grid": {"period_s": PROFILE_PERIOD_S}},
        }
    )
    node = build_app(settings)
    node.start()
    try:
        if not node.wait(timeout=1800):
            raise RuntimeError("the pipeline did not finish the videos in 30 minutes")
    finally:
        node.close()


def video_seconds(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1e6


def summarise(events: list[Any], camera: str) -> dict[str, Any]:
    specs: Counter[tuple[str, str | None, str | None, str | None, str | None]] = Counter()
    dwell, loiter, tracks = [], [], []
    cells = np.zeros(16 * 12)
    for e in events:
        kind = e.kind.value
        if kind == "occupancy":
            tracks.append(e.count or 0)
            for i, n in e.grid.cells if e.grid else ():
                cells[i] += n
            continue
        specs[(kind, e.label, e.direction, e.line_id, e.zone_id)] += 1
        if kind == "zone_exit":
            dwell.append((e.end - e.start).total_seconds())
        elif kind == "loitering":
            loiter.append((e.end - e.start).total_seconds())
    occupied = [t for t in tracks if t]
    return {
        "camera": camera,
        "video": CAMERAS[camera]["video"],
        "seconds": video_seconds(VIDEOS / CAMERAS[camera]["video"]),
        "specs": [
            {"kind": k, "label": lab, "direction": d, "line_id": li, "zone_id": z, "count": n}
            for (k, lab, d, li, z), n in sorted(specs.items(), key=lambda x: -x[1])
        ],
        "dwell_s": dwell or [10.0],
        "loiter_s": loiter,
        "tracks_per_sample": float(np.mean(tracks)) if tracks else 0.0,
        "cells_per_track": float(np.count_nonzero(cells) and cells.sum() / max(sum(occupied), 1)),
        "cell_weights": (cells / cells.sum()).round(6).tolist()
        if cells.sum()
        else [1 / cells.size] * cells.size,
        "labels": sorted({e.label for e in events if e.kind.value == "occupancy" and e.label}),
    }


def build_profile(path: Path) -> dict[str, Any]:
    from safecity.store import EventQuery, open_store

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_pipeline(Path(tmp))
        took = time.perf_counter() - t0
        store = open_store(f"sqlite:///{Path(tmp) / 'safecity.db'}")
        try:
            profile = {
                cid: summarise(store.query(EventQuery(camera_id=cid, limit=1_000_000)), cid)
                for cid in CAMERAS
            }
        finally:
            store.close()
    data = {"pipeline_s": round(took, 1), "cameras": profile}
    path.write_text(json.dumps(data, indent=1))
    return data


# --- 2. generate ------------------------------------------------------------------------------------


def hex_ids(rng: np.random.Generator, n: int) -> pa.Array:
    digits = np.frombuffer(b"0123456789abcdef", np.uint8)
    words = rng.integers(0, 2**63, size=(n, 2), dtype=np.int64).view(np.uint64)
    nibbles = (words[:, :, None] >> np.arange(60, -4, -4, dtype=np.uint64)) & np.uint64(15)
    chars = digits[nibbles.reshape(n, 32).astype(np.intp)]
    return pa.array(chars.view("S32").ravel()).cast(pa.string())


def _days(micros: np.ndarray) -> pa.Array:
    return pa.array(micros // 86_400_000_000, pa.int32()).cast(pa.date32())


def hour_weights(days: int, tz_hours: int = 1) -> np.ndarray:
    """Weight per UTC hour slot (local time = UTC + tz_hours)."""
    slots = np.arange(days * 24)
    local = slots + tz_hours
    return DIURNAL[local % 24] / DIURNAL.mean() * WEEKDAY[(local // 24 + START.weekday()) % 7]


def spread(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """Timestamps (us) of counts[h] events uniformly inside each hour slot h."""
    hours = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return START_US + hours * 3_600_000_000 + rng.integers(0, 3_600_000_000, hours.size)


def camera_events(
    rng: np.random.Generator, prof: dict[str, Any], cam: str, w: np.ndarray, scale: float
) -> pa.Table:
    """Detection events of one camera: each real (kind, label, direction, place) at its real rate."""
    parts: list[dict[str, Any]] = []
    for spec in prof["specs"]:
        rate = spec["count"] / prof["seconds"] * 3600 * scale
        counts = rng.poisson(rate * w)
        start = spread(rng, counts)
        end = start.copy()
        if spec["kind"] == "zone_exit":
            end = start + (
                rng.choice(prof["dwell_s"], start.size) * rng.uniform(0.7, 1.3, start.size) * 1e6
            ).astype(np.int64)
        elif spec["kind"] == "loitering" and prof["loiter_s"]:
            end = start + (rng.choice(prof["loiter_s"], start.size) * 1e6).astype(np.int64)
        parts.append({"spec": spec, "start": start, "end": end})
    return assemble(rng, cam, parts)


def assemble(rng: np.random.Generator, cam: str, parts: list[dict[str, Any]]) -> pa.Table:
    from safecity.analytics import lake

    n = sum(p["start"].size for p in parts)
    cols: dict[str, Any] = {}
    for name in ("kind", "label", "direction", "line_id", "zone_id"):
        values = [p["spec"][name] for p in parts]
        codes = np.repeat(np.arange(len(parts), dtype=np.int32), [p["start"].size for p in parts])
        dictionary = pa.array(
            [f"{cam}-{v}" if name in ("line_id", "zone_id") and v else v for v in values], pa.string()
        )
        cols[name] = pa.DictionaryArray.from_arrays(pa.array(codes), dictionary).cast(pa.string())
    start = np.concatenate([p["start"] for p in parts]) if parts else np.zeros(0, np.int64)
    end = np.concatenate([p["end"] for p in parts]) if parts else np.zeros(0, np.int64)
    counts = (
        np.concatenate([np.full(p["start"].size, p["spec"].get("value", -1)) for p in parts])
        if parts
        else start
    )
    arrays = {
        "camera_id": pa.array(np.full(n, cam)),
        "day": _days(start),
        "id": hex_ids(rng, n),
        **cols,
        "count": pa.array(np.where(counts >= 0, counts, 0), pa.int32(), mask=counts < 0),
        "score": pa.nulls(n, pa.float32()),
        "start_ts": pa.array(start, lake.TS),
        "end_ts": pa.array(end, lake.TS),
    }
    return pa.table(arrays, schema=lake.full_schema(lake.EVENT_SCHEMA))


OCCUPANCY_SPEC = {"kind": "occupancy", "direction": None, "line_id": None, "zone_id": None, "value": 0}


def camera_samples(
    rng: np.random.Generator, prof: dict[str, Any], cam: str, w: np.ndarray, scale: float
) -> tuple[pa.Table, pa.Table]:
    """Occupancy samples every SAMPLE_S (events) and their grid cells (occupancy rows)."""
    from safecity.analytics import lake

    per_slot = 3600 // SAMPLE_S
    slots = np.arange(w.size * per_slot)
    lam = prof["tracks_per_sample"] * (SAMPLE_S / PROFILE_PERIOD_S) ** 0.5 * scale * np.repeat(w, per_slot)
    tracks = rng.poisson(lam)
    start = START_US + slots.astype(np.int64) * SAMPLE_S * 1_000_000
    label = (prof["labels"] or ["person"])[0]
    busy, idle = tracks > 0, tracks == 0  # a sample with nobody is a heartbeat: label None, count 0
    spec = [
        {"spec": dict(OCCUPANCY_SPEC, label=lab), "start": start[m], "end": start[m] + SAMPLE_S * 1_000_000}
        for lab, m in ((label, busy), (None, idle))
    ]
    events = assemble(rng, cam, spec)
    counts = np.concatenate([tracks[busy], np.zeros(int(idle.sum()), np.int64)])
    events = events.set_column(events.schema.get_field_index("count"), "count", pa.array(counts, pa.int32()))
    draws = rng.poisson(np.maximum(tracks * prof["cells_per_track"], tracks))
    sample = np.repeat(slots, draws)
    cell = rng.choice(
        len(prof["cell_weights"]), sample.size, p=np.asarray(prof["cell_weights"]) / sum(prof["cell_weights"])
    )
    keys, n = np.unique(sample.astype(np.int64) * 1024 + cell, return_counts=True)
    s_idx, c_idx = keys // 1024, keys % 1024
    n = np.minimum(n, tracks[s_idx])
    s_start = start[s_idx]
    size = keys.size
    columns = {
        "camera_id": pa.array(np.full(size, cam)), "day": _days(s_start),
        "start_ts": pa.array(s_start, lake.TS), "end_ts": pa.array(s_start + SAMPLE_S * 1_000_000, lake.TS),
        "label": pa.array(np.full(size, label)), "cols": pa.array(np.full(size, 16), pa.int16()),
        "rows": pa.array(np.full(size, 12), pa.int16()), "cell": pa.array(c_idx, pa.int32()),
        "n": pa.array(n, pa.int32()), "tracks": pa.array(tracks[s_idx], pa.int32()),
    }  # fmt: skip
    cells = pa.table(columns, schema=lake.full_schema(lake.OCCUPANCY_SCHEMA))
    return events, cells


def plan(profile: dict[str, Any], cameras: int, days: int, events: int, seed: int) -> list[dict[str, Any]]:
    """Per camera: its model video, its busyness factor and hour weights; `scale` hits `events` in total."""
    rng = np.random.default_rng(seed)
    models = [c for c in profile["cameras"].values() if c["specs"]]  # videos where something was found
    base = hour_weights(days)
    cams = []
    for i in range(cameras):
        prof = models[i % len(models)]
        w = base * rng.lognormal(0.0, 0.35)
        per_hour = sum(s["count"] for s in prof["specs"]) / prof["seconds"] * 3600
        cams.append({"id": f"cam-{i:03d}", "prof": prof, "w": w, "expected": per_hour * w.sum()})
    samples = cameras * days * 24 * (3600 // SAMPLE_S)
    scale = (events - samples) / sum(c["expected"] for c in cams)
    for c in cams:
        c["scale"] = scale
    return cams


def generate(
    profile: dict[str, Any], out: Path, cameras: int, days: int, events: int, seed: int = 7
) -> dict[str, Any]:
    from safecity.analytics import lake

    lake_dir = out / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)
    rng = np.random.default_rng(seed)
    totals: Counter[str] = Counter()
    t0 = time.perf_counter()
    cams = plan(profile, cameras, days, events, seed)
    rollups: list[pa.Table] = []
    for c in cams:
        ev = camera_events(rng, c["prof"], c["id"], c["w"], c["scale"])
        samples, cells = camera_samples(rng, c["prof"], c["id"], c["w"], c["scale"])
        both = pa.concat_tables([ev, samples])
        lake.write_partitioned(both, lake_dir / lake.EVENTS)
        rollups.append(lake.rollup_of(both))
        lake.write_partitioned(cells, lake_dir / lake.OCCUPANCY)
        totals["events"] += ev.num_rows + samples.num_rows
        totals["occupancy_events"] += samples.num_rows
        totals["cells"] += cells.num_rows
        for kind, n in Counter(ev.column("kind").to_pylist()).items():
            totals[kind] += n
    rollup = pa.concat_tables(rollups)
    lake.write_partitioned(rollup, lake_dir / lake.ROLLUP, cameras_apart=False)
    totals["rollup_rows"] = rollup.num_rows
    took = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in lake_dir.rglob("*.parquet"))
    files = sum(1 for _ in lake_dir.rglob("*.parquet"))
    incidents = write_incidents(out, cams, days, seed)
    return {
        "generate_s": round(took, 1),
        "lake_mb": round(size / 2**20, 1),
        "files": files,
        "scale": round(cams[0]["scale"], 3),
        "incidents": incidents,
        **totals,
    }


def write_incidents(out: Path, cams: list[dict[str, Any]], days: int, seed: int) -> int:
    """About 12 incidents per site and day, report -> dispatch -> on scene in minutes."""
    from sqlalchemy import insert

    from safecity.operations.models import IncidentRow
    from safecity.store import make_engine, open_store

    url = f"sqlite:///{out / 'safecity.db'}"
    (out / "safecity.db").unlink(missing_ok=True)
    open_store(url).close()
    rng = np.random.default_rng(seed + 1)
    n = days * 12 * max(1, len(cams) // 8)
    origin = START + timedelta(seconds=1) * rng.integers(0, days * 86_400, n)
    dispatch = rng.gamma(2.0, 120.0, n)
    scene = rng.gamma(3.0, 150.0, n)
    types = rng.choice(["theft", "medical", "lost_person", "harassment", "fight", "other"], n)
    rows = [
        {
            "title": str(t),
            "type": str(t),
            "priority": "medium",
            "status": "closed",
            "description": "",
            "source": "report",
            "camera_id": cams[int(rng.integers(len(cams)))]["id"],
            "origin_at": o,
            "created_at": o,
            "created_by": "bench",
            "updated_at": o,
            "dispatched_at": o + timedelta(seconds=float(d)),
            "on_scene_at": o + timedelta(seconds=float(d + s)),
        }
        for t, o, d, s in zip(types, origin.tolist(), dispatch, scene, strict=True)
    ]
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(insert(IncidentRow.__table__), rows)  # type: ignore[arg-type]
    engine.dispose()
    return n


# --- 3. query ---------------------------------------------------------------------------------------


def queries(a: Any, site: Any, end: datetime) -> list[tuple[str, Callable[[], Any]]]:
    day, week = timedelta(days=1), timedelta(days=7)
    d0, w0 = end - day, end - week
    cam = "cam-000"
    odd = timedelta(minutes=7)  # not on a quarter-hour: read from the events, not the rollup
    return [
        ("footfall per zone per hour, 1 day", lambda: a.series("footfall", d0, end, None)),
        ("footfall per zone per hour, 7 days", lambda: a.series("footfall", w0, end, None)),
        (
            "line counts per class/direction per day, 7 days",
            lambda: a.series("crossings", w0, end, None, bucket="day"),
        ),
        ("line counts per class/direction per hour, 1 day", lambda: a.series("crossings", d0, end, None)),
        ("people present per camera per hour, 7 days", lambda: a.series("presence", w0, end, None)),
        ("occupancy heatmap, 1 camera, 1 day", lambda: a.heatmap(cam, d0, end)),
        ("occupancy heatmap, 1 camera, 7 days", lambda: a.heatmap(cam, w0, end)),
        ("dwell-time distribution, 7 days", lambda: a.dwell(w0, end, None)),
        ("peak hours (weekday x hour), 28 days", lambda: a.peak_hours("footfall", end - 4 * week, end, None)),
        ("7 days vs the 7 before", lambda: a.compare("crossings", w0, end, None)),
        ("anomalies of one hour (6 weeks of baseline)", lambda: a.anomalies(end - timedelta(hours=12), None)),
        ("site dashboard, 1 day", lambda: a.dashboard(site, d0, end, None)),
        ("site dashboard, 7 days", lambda: a.dashboard(site, w0, end, None)),
        ("footfall per day, whole lake", lambda: a.series("footfall", START, end, None, bucket="day")),
        (
            "footfall per hour, 7 days, unaligned (raw events)",
            lambda: a.series("footfall", w0 + odd, end, None),
        ),
    ]


def rss_mb() -> float:
    """Peak RSS of this process (VmHWM: unlike ru_maxrss it is not inherited across exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def query_phase(out: Path, days: int, memory_limit: str, threads: int) -> dict[str, Any]:
    """Runs in its own process: every dashboard query 3 times on the lake."""
    from safecity.analytics.config import AnalyticsConfig
    from safecity.analytics.db import LakeSource
    from safecity.analytics.service import Analytics
    from safecity.store import make_engine

    cams = sorted({p.name[len("camera=") :] for p in (out / "lake" / "events").glob("day=*/camera=*")})
    cfg = AnalyticsConfig.model_validate(
        {
            "timezone": "Europe/Rome",
            "duckdb": {"memory_limit": memory_limit, "threads": threads},
            "sites": [{"id": "site-0", "name": "Old town", "cameras": cams[:8]}],
        }
    )
    a = Analytics(cfg, make_engine(f"sqlite:///{out / 'safecity.db'}"), out, source=LakeSource(out / "lake"))
    base = rss_mb()
    results = []
    for name, run in queries(a, cfg.sites[0], START + timedelta(days=days)):
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            run()
            times.append(time.perf_counter() - t0)
        results.append({"query": name, "first_s": round(times[0], 3), "best_s": round(min(times), 3)})
    load = [round(x, 1) for x in os.getloadavg()]
    return {
        "baseline_rss_mb": round(base, 1),
        "peak_rss_mb": round(rss_mb(), 1),
        "queries": results,
        "load": load,
    }


# --- main -------------------------------------------------------------------------------------------


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--events", type=int, default=10_000_000)
    p.add_argument("--cameras", type=int, default=24)
    p.add_argument("--days", type=int, default=60)
    p.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "safecity-analytics-bench")
    p.add_argument("--profile", type=Path, help="Profile JSON (made by running the pipeline when missing)")
    p.add_argument("--memory-limit", default="1GB")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--query-only", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.query_only:
        print(json.dumps(query_phase(args.out, args.days, args.memory_limit, args.threads)))
        return
    profile_path = args.profile or args.out / "profile.json"
    profile = json.loads(profile_path.read_text()) if profile_path.is_file() else build_profile(profile_path)
    print_profile(profile)
    gen = generate(profile, args.out, args.cameras, args.days, args.events)
    print(
        f"\ngenerated {gen['events']:,} events ({gen['occupancy_events']:,} occupancy samples, "
        f"{gen['cells']:,} grid cells, {gen['rollup_rows']:,} rollup rows), {gen['incidents']:,} incidents "
        f"in {gen['generate_s']} s; lake "
        f"{gen['lake_mb']} MB in {gen['files']:,} files; rate scale x{gen['scale']}"
    )
    print("  by kind: " + ", ".join(f"{k} {v:,}" for k, v in gen.items() if k in KINDS))
    cmd = [
        sys.executable,
        __file__,
        "--query-only",
        "--out",
        str(args.out),
        "--days",
        str(args.days),
        "--memory-limit",
        args.memory_limit,
        "--threads",
        str(args.threads),
    ]
    res = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
    print(f"\nqueries (DuckDB memory_limit={args.memory_limit}, threads={args.threads}; 3 runs each):")
    for q in res["queries"]:
        flag = "" if q["first_s"] < 2.0 else "  <-- over 2 s"
        print(f"  {q['query']:<50} first {q['first_s']:6.3f} s  best {q['best_s']:6.3f} s{flag}")
    print(f"query process RSS: {res['baseline_rss_mb']} MB after imports, peak {res['peak_rss_mb']} MB")
    print(
        f"machine: {os.cpu_count()} CPUs, load average after the queries {res['load']} (other work included)"
    )


KINDS = ("line_crossing", "zone_enter", "zone_exit", "crowding", "loitering")


def print_profile(profile: dict[str, Any]) -> None:
    print(f"profile from real pipeline runs ({profile.get('pipeline_s', '?')} s of pipeline):")
    for cam in profile["cameras"].values():
        rates: dict[str, float] = defaultdict(float)
        for s in cam["specs"]:
            rates[s["kind"]] += s["count"] / cam["seconds"] * 3600
        median = float(np.median(cam["dwell_s"]))
        print(
            f"  {cam['video']} ({cam['seconds']:.0f} s): per hour "
            + ", ".join(f"{k} {v:.0f}" for k, v in rates.items())
            + f"; dwell median {median:.1f} s; {cam['tracks_per_sample']:.1f} tracks per 10 s sample"
        )
    print(
        "  assumed shape: hour weights "
        + " ".join(f"{x:.0f}" for x in DIURNAL)
        + "; weekday "
        + " ".join(map(str, WEEKDAY))
    )


if __name__ == "__main__":
    main()
