"""WebSocket fan-out: N live clients of one `safecity serve` node (PostgreSQL, NATS), every event to all.

    .venv/bin/python bench/ws_fanout.py [--clients 500] [--slow 20] [--seconds 60] [--rate 20]

A publisher puts `--rate` events/s on the node's bus; `--clients` WebSocket clients (one asyncio
process, a lean frame reader; `--client websockets` for the `websockets` library) read every message,
and `--slow` more connect but never read (their socket buffers fill up). Printed: delivery latency
(event time -> receipt) p50/p95/max over all reading clients, events each reading client missed, how
many slow clients the node cut off (`live.dropped_clients` of `/api/health`), and CPU per delivery of
the node and of the client (this process) apart. Target (issue 17): p95 < 500 ms with 500 clients; slow
ones cut off, the others unharmed.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import socket
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
from websockets.asyncio.client import connect

from deployment import PASSWORD, CpuClock, deployment, loadavg, profiling, publishing, quantile


def token_for(base: str, user: str) -> tuple[str, requests.Session]:
    http = requests.Session()
    r = http.post(f"{base}/api/auth/login", json={"username": user, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    csrf = {"X-CSRF-Token": http.cookies.get("safecity_csrf") or ""}
    r = http.post(f"{base}/api/tokens", json={"name": "fanout"}, headers=csrf, timeout=30)
    r.raise_for_status()
    return str(r.json()["token"]), http


class LeanReader(asyncio.Protocol):
    """A minimal WebSocket reader (RFC 6455, client side) on a raw asyncio transport: the 500 readers share
    one Python process with the node's 2 cores, and the `websockets` client (a frame object, a UTF-8
    decode and a full JSON parse per message per client) cost more CPU than the node's delivery itself.
    It parses frame headers only, takes the event's `"start":"..."` from the text without decoding the
    rest, answers pings (the node closes a client that does not) and notes a close frame."""

    def __init__(self, key: str, latencies: list[float]) -> None:
        self.key = key
        self.latencies = latencies
        self.buf = bytearray()
        self.upgraded = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.events = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.upgraded.done():
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end])
            del self.buf[: end + 4]
            if not head.startswith(b"HTTP/1.1 101"):
                self.upgraded.set_exception(ConnectionError(head.split(b"\r\n", 1)[0].decode()))
                return
            self.upgraded.set_result(None)
        now = time.time()
        buf, pos, size = self.buf, 0, len(self.buf)
        while size - pos >= 2:
            opcode, n = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
            at = pos + 2
            if n == 126:
                if size - at < 2:
                    break
                n, at = int.from_bytes(buf[at : at + 2], "big"), at + 2
            elif n == 127:
                if size - at < 8:
                    break
                n, at = int.from_bytes(buf[at : at + 8], "big"), at + 8
            if size - at < n:
                break
            if opcode == 1:
                start = buf.find(b'"start":"', at, at + n)
                if start >= 0 and buf.startswith(b'{"type":"event"', at):
                    stamp = buf[start + 9 : buf.find(b'"', start + 9)].decode()
                    self.latencies.append(now - datetime.fromisoformat(stamp).timestamp())
                    self.events += 1
            elif opcode == 9 and self.transport is not None:  # ping: a masked pong (zero key), same payload
                self.transport.write(bytes([0x8A, 0x80 | n]) + b"\0\0\0\0" + bytes(buf[at : at + n]))
            elif opcode == 8:
                self._close()
            pos = at + n
        del buf[:pos]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.upgraded.done():
            self.upgraded.set_exception(exc or ConnectionError("closed during the handshake"))
        self._close()

    def _close(self) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def reader(url: str, seconds: float, latencies: list[float], counts: list[int], cut: list[int]) -> None:
    parts = urlsplit(url)
    key = base64.b64encode(os.urandom(16)).decode()
    loop = asyncio.get_running_loop()
    proto = LeanReader(key, latencies)
    try:
        transport, _ = await loop.create_connection(lambda: proto, parts.hostname, parts.port)
        transport.write(
            f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        await asyncio.wait_for(proto.upgraded, 60)
    except Exception:  # refused
        cut.append(0)
        return
    try:
        await asyncio.wait_for(asyncio.shield(proto.closed), seconds)
    except TimeoutError:  # still connected at the end: it was never cut off
        transport.close()
        counts.append(proto.events)
        return
    cut.append(proto.events)  # closed by the server (too slow) before the end


async def websockets_reader(
    url: str, seconds: float, latencies: list[float], counts: list[int], cut: list[int]
) -> None:
    """The `websockets` client (the figures before the lean reader): for comparing client CPU."""
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
    url: str, clients: int, slow: int, seconds: float, lean: bool = True
) -> tuple[list[float], list[int], list[int], list[int]]:
    latencies: list[float] = []
    counts: list[int] = []
    readers_cut: list[int] = []
    slow_cut: list[int] = []
    read = reader if lean else websockets_reader
    tasks = [read(url, seconds, latencies, counts, readers_cut) for _ in range(clients)]
    tasks += [sleeper(url, seconds, slow_cut) for _ in range(slow)]
    await asyncio.gather(*tasks, return_exceptions=True)
    return latencies, counts, readers_cut, slow_cut


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=500)
    ap.add_argument("--slow", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--rate", type=float, default=20.0, help="events/s published")
    ap.add_argument("--client", choices=["lean", "websockets"], default="lean", help="reader implementation")
    ap.add_argument("--profile", metavar="FILE", help="py-spy the node into FILE")
    ap.add_argument("--queue", type=int, default=256, help="api.ws_queue_size (messages per client)")
    args = ap.parse_args()
    settings = {"api": {"ws_queue_size": args.queue}}
    with deployment(Path(tempfile.mkdtemp()), operators=1, **settings) as dep:
        token, http = token_for(dep.base, dep.users[0])
        url = dep.base.replace("http://", "ws://") + f"/ws?token={token}"
        with publishing(dep, args.rate), profiling(dep.serve.proc.pid, args.profile, args.seconds):
            rss0, cpu0 = dep.rss_mb(), dep.cpu_s()
            client = CpuClock()
            latencies, counts, readers_cut, slow_cut = asyncio.run(
                fan_out(url, args.clients, args.slow, args.seconds, args.client == "lean")
            )
            rss1, cpu = dep.rss_mb(), dep.cpu_s() - cpu0
            client_cpu = client.elapsed()
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
    print(f"client ({args.client}, this process) CPU {client_cpu:.0f} s "
          f"({client_cpu / args.seconds:.2f} cores), "
          f"{client_cpu * 1e6 / max(len(latencies), 1):.0f} us per delivery")  # fmt: skip


if __name__ == "__main__":
    main()
