"""WebSocket fan-out: N live clients of one `safecity serve` node (PostgreSQL, NATS), every event to all.

    .venv/bin/python bench/ws_fanout.py [--clients 500] [--slow 20] [--seconds 60] [--rate 20]

A publisher puts `--rate` events/s on the node's bus; `--clients` WebSocket clients (asyncio,
`websockets`) read every message, and `--slow` more connect but never read (their socket buffers fill
up). Printed: delivery latency (event time -> receipt) p50/p95/max over all reading clients, events
each reading client missed, and how many slow clients the node cut off (`live.dropped_clients` of
`/api/health`). Target (issue 17): p95 < 500 ms with 500 clients; slow ones cut off, the others unharmed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from websockets.asyncio.client import connect

from deployment import PASSWORD, deployment, loadavg, publishing, quantile


def token_for(base: str, user: str) -> tuple[str, requests.Session]:
    http = requests.Session()
    r = http.post(f"{base}/api/auth/login", json={"username": user, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    csrf = {"X-CSRF-Token": http.cookies.get("safecity_csrf") or ""}
    r = http.post(f"{base}/api/tokens", json={"name": "fanout"}, headers=csrf, timeout=30)
    r.raise_for_status()
    return str(r.json()["token"]), http


async def reader(url: str, seconds: float, latencies: list[float], counts: list[int], cut: list[int]) -> None:
    n = 0
    try:
        async with connect(url, open_timeout=60, max_queue=None) as ws:
            deadline = time.monotonic() + seconds
            while (left := deadline - time.monotonic()) > 0:
                try:
                    raw = await asyncio.wait_for(ws.recv(), left)
                except TimeoutError:
                    break
                now = time.time()
                msg = json.loads(raw)
                if msg.get("type") == "event":
                    n += 1
                    latencies.append(now - datetime.fromisoformat(msg["data"]["start"]).timestamp())
    except Exception:  # cut off by the server (too slow) or refused
        cut.append(n)
        return
    counts.append(n)


async def sleeper(url: str, seconds: float, cut: list[int]) -> None:
    """Connects and never reads: the server must cut it off rather than queue for it forever."""
    host, port = urlsplit(url).hostname, urlsplit(url).port
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a phone on a bad link, not 6 MB of buffer
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (host, port))
    try:
        async with connect(url, sock=sock, open_timeout=60, max_queue=1) as ws:
            ws.transport.pause_reading()
            await asyncio.sleep(seconds)
    except Exception:
        cut.append(1)


async def fan_out(
    url: str, clients: int, slow: int, seconds: float
) -> tuple[list[float], list[int], list[int], list[int]]:
    latencies: list[float] = []
    counts: list[int] = []
    readers_cut: list[int] = []
    slow_cut: list[int] = []
    tasks = [reader(url, seconds, latencies, counts, readers_cut) for _ in range(clients)]
    tasks += [sleeper(url, seconds, slow_cut) for _ in range(slow)]
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, counts, readers_cut, slow_cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--slow", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=20.0, help="events/s published")
    ap.add_argument("--queue", type=int, default=256, help="api.ws_queue_size (messages per client)")
    args = ap.parse_args()
    settings = {"api": {"ws_queue_size": args.queue}}
    with deployment(Path(tempfile.mkdtemp()), operators=1, **settings) as dep:
        token, http = token_for(dep.base, dep.users[0])
        url = dep.base.replace("http://", "ws://") + f"/ws?token={token}"
        with publishing(dep, args.rate):
            rss0, cpu0 = dep.rss_mb(), dep.cpu_s()
            latencies, counts, readers_cut, slow_cut = asyncio.run(
                fan_out(url, args.clients, args.slow, args.seconds)
            )
            rss1, cpu = dep.rss_mb(), dep.cpu_s() - cpu0
        health = http.get(f"{dep.base}/api/health", timeout=30)
        live = health.json().get("live", {}) if health.ok else {"health": health.status_code}
    expected = max(counts) if counts else 0
    print(f"{args.clients} reading clients + {args.slow} slow, {args.seconds:.0f} s, {args.rate}/s events; "
          f"cut off: {len(readers_cut)} readers, {len(slow_cut)} slow")  # fmt: skip
    print(f"delivery p50={quantile(latencies, 0.5) * 1000:.0f} p95={quantile(latencies, 0.95) * 1000:.0f} "
          f"max={max(latencies, default=0) * 1000:.0f} ms over {len(latencies)} deliveries")  # fmt: skip
    print(f"events per reading client: min {min(counts, default=0)} max {expected}; "
          f"node live stats {live}; RSS {rss0:.0f} -> {rss1:.0f} MB")  # fmt: skip
    per_delivery = cpu * 1e6 / max(len(latencies), 1)
    print(f"node CPU {cpu:.0f} s ({cpu / args.seconds:.2f} cores), {per_delivery:.0f} us per delivery; "
          f"load average {loadavg()}")  # fmt: skip


if __name__ == "__main__":
    main()
