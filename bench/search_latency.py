"""API latency while a retrospective face search runs (issue 16: the search must not block the server).

The real service (uvicorn on 127.0.0.1) with an empty node; `--snapshots` event snapshots whose kept
originals are a real photo of six faces; an investigator starts a search job over them
(`POST /api/biometrics/search/jobs`) and, while it runs, one client calls `GET /api/events?limit=20`
back to back. Printed: the latency of those calls with no search (baseline) and during the search
(p50 / p95 / max, in ms), and the search's own duration. The target: p95 below 200 ms during the search.

    PYTHONPATH=src:tests .venv/bin/python bench/search_latency.py [--snapshots 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import httpx

from safecity.api.app import create_api
from safecity.biometrics.authorizations import AuthorizationInput, create_authorization
from safecity.biometrics.common import Actor
from safecity.media.snapshots import encode_jpeg, snapshot_key
from safecity.store import open_store
from safecity.types import Event, EventKind

# the test suite's process helpers (tests/support), so the script runs without PYTHONPATH
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.api_harness import LiveServer, add_token, add_user, make_node

ROOT = Path(__file__).resolve().parents[1]
FACES = (ROOT / ".." / "shared" / "data" / "faces").resolve()


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):7.1f}  p95 {p95:7.1f}  max {ms[-1]:7.1f}  (n={len(ms)})"


def timed_calls(http: httpx.Client, seconds: float | None, until_done: str | None = None) -> list[float]:
    out, deadline = [], time.monotonic() + (seconds or 1e9)
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        http.get("/api/events", params={"limit": 20}).raise_for_status()
        out.append((time.perf_counter() - t0) * 1000)
        if until_done and len(out) % 5 == 0:
            job = http.get(f"/api/biometrics/search/jobs/{until_done}").json()
            if job["status"] not in ("queued", "running"):
                break
        time.sleep(0.02)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--snapshots", type=int, default=200)
    args = parser.parse_args()
    node = make_node(Path(tempfile.mkdtemp(prefix="search-bench-")))
    assert node.biometrics is not None
    now = datetime.now(UTC)
    store = open_store(node.settings.storage.resolved_database_url)
    original = encode_jpeg(cv2.imread(str(FACES / "group-6-faces.jpg")))
    for i in range(args.snapshots):
        start = now - timedelta(minutes=50) + timedelta(seconds=i)
        event = Event(camera_id="c1", kind=EventKind.ZONE_ENTER, start=start, end=start)
        node.biometrics.sealed.put(f"originals/{snapshot_key(event)}", original)
        store.append([replace(event, snapshot=snapshot_key(event))])
    store.close()
    add_user(node, "inv", "investigator")
    with node.session() as db:
        data = AuthorizationInput("Court", "RG 1/2026", "victim_or_missing_person", ["c1"],
                                  now - timedelta(hours=2), now + timedelta(hours=2))  # fmt: skip
        auth = create_authorization(db, data, Actor(None, "clerk"), node.settings.biometrics)
        db.commit()
    token = add_token(node, "inv")
    with (
        LiveServer.run(create_api(node)) as server,
        httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as http,
    ):
        baseline = timed_calls(http, 5.0)
        since, until = (now - timedelta(hours=1)).isoformat(), (now - timedelta(minutes=1)).isoformat()
        form = {
            "authorization_id": str(auth.id),
            "cameras": "c1",
            "reason": "bench",
            "start": since,
            "end": until,
        }
        photo = {"photo": ("probe.jpg", (FACES / "obama3.jpg").read_bytes(), "image/jpeg")}
        t0 = time.monotonic()
        job = http.post("/api/biometrics/search/jobs", data=form, files=photo).json()
        during = timed_calls(http, None, until_done=job["id"])
        took = time.monotonic() - t0
        final = http.get(f"/api/biometrics/search/jobs/{job['id']}").json()
    print(f"search: {final['status']}, {final['done']}/{final['total']} snapshots in {took:.1f} s")
    print(f"GET /api/events, no search     {percentiles(baseline)}")
    print(f"GET /api/events, during search {percentiles(during)}")


if __name__ == "__main__":
    main()
