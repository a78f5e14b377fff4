"""Event-to-screen latency of the live WebSocket, on the real service and the real pipeline.

`safecity serve`'s app runs under uvicorn on 127.0.0.1 with one camera: the PETS2009 video looped at its
own speed (so frame times are wall-clock times, as from a live camera), NanoDet, ByteTrack and a zone that
emits zone_enter / zone_exit events. A WebSocket client (the `websockets` library, as a browser would)
receives them. Printed, in milliseconds (p50 / p95 / max):

- publish -> screen: from the camera worker's `bus.publish(event)` to the client's receipt (the target:
  under 1 s); this covers the bus queue, the store write, the LiveHub fan-out and the socket;
- broadcast -> screen: from `LiveHub.broadcast` to receipt (the socket part alone);
- frame -> screen (zone_enter only): from the analysed frame's timestamp (`Event.end`) to receipt, which
  adds the analysis itself (queueing behind earlier frames, detector, tracker, snapshot JPEG + fsync).
  zone_exit is left out: an exit is declared after the track has been gone for a while, by design.

    .venv/bin/python bench/ws_latency.py [--seconds 60] [--video PATH] [--clients 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from websockets.sync.client import connect

from safecity.api.app import create_api
from safecity.app import build_detector
from safecity.config import Settings
from safecity.types import Event

# the test suite's process helpers (tests/support), so the script runs without PYTHONPATH
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from support.api_harness import LiveServer, add_token, add_user, make_node

ROOT = Path(__file__).resolve().parents[1]
VIDEO = (ROOT / ".." / "shared" / "data" / "video" / "pets09-s2l1-vtest.avi").resolve()
ROAD = [[0, 150], [768, 150], [768, 576], [0, 576]]


def percentiles(values: list[float]) -> str:
    if not values:
        return "no samples"
    ms = sorted(v * 1000 for v in values)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"p50 {statistics.median(ms):7.1f}  p95 {p95:7.1f}  max {ms[-1]:7.1f}  (n={len(ms)})"


def listen(url: str, seconds: float, out: list[tuple[float, dict[str, object]]]) -> None:
    with connect(url, open_timeout=30) as ws:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = ws.recv(timeout=left)
            except TimeoutError:
                break
            received = time.time()
            msg = json.loads(raw)
            if msg.get("type") == "event":
                out.append((received, msg))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--video", type=Path, default=VIDEO)
    ap.add_argument("--clients", type=int, default=1, help="WebSocket clients listening at once")
    args = ap.parse_args()

    camera = {
        "id": "pets",
        "source": str(args.video),
        "fps": 10,
        "loop": True,
        "zones": [{"id": "road", "polygon": ROAD, "enter_exit_events": True, "classes": ["person"]}],
    }
    node = make_node(Path(tempfile.mkdtemp()), detector=build_detector(Settings()), cameras=[camera])
    add_user(node, "bench", "admin")
    token = add_token(node, "bench")
    published: dict[str, float] = {}
    publish = node.bus.publish

    def timed_publish(event: Event) -> None:
        published[event.id] = time.time()
        publish(event)

    setattr(node.bus, "publish", timed_publish)  # noqa: B010  (the workers call node.bus.publish)
    received: list[list[tuple[float, dict[str, object]]]] = [[] for _ in range(args.clients)]
    with LiveServer.run(create_api(node)) as server:
        url = f"{server.ws_url}/ws?token={token}"
        threads = [
            threading.Thread(target=listen, args=(url, args.seconds, out), daemon=True) for out in received
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        worker = node.workers["pets"]
        fps, detect_ms = worker.metrics.analysed_fps, worker.analyzer.times.last_detect_ms

    to_screen, push, frame = [], [], []
    for got in received:
        for recv, msg in got:
            data = msg["data"]
            assert isinstance(data, dict)
            if data["id"] in published:
                to_screen.append(recv - published[data["id"]])
            push.append(recv - float(msg["ts"]))  # type: ignore[arg-type]
            if data["kind"] == "zone_enter":
                frame.append(recv - datetime.fromisoformat(str(data["end"])).timestamp())
    print(f"{sum(map(len, received))} events to {args.clients} client(s) in {args.seconds:.0f} s "
          f"(camera at {fps:.1f} fps analysed, detector {detect_ms:.0f} ms)")  # fmt: skip
    print(f"publish   -> screen  {percentiles(to_screen)}  ms")
    print(f"broadcast -> screen  {percentiles(push)}  ms")
    print(f"frame     -> screen  {percentiles(frame)}  ms  (zone_enter)")


if __name__ == "__main__":
    main()
