"""What the load benchmarks found (docs/performance.md), as correctness tests on a real server (uvicorn on
a free port, SQLite in tmp_path):
- more concurrent requests than database connections wait for one and are served, never a 503 "database
  busy" (the request admission of `safecity.api.deps.get_session`);
- live messages are not compressed once per client (permessage-deflate declined);
- a WebSocket client that stops reading is cut off while another client on the same node gets every
  message;
- the live connections' periodic re-checks, now coalesced (`safecity.api.revalidate.GrantBatcher`), still
  close each revoked connection and only those.
No timing is asserted."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import socket
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import numpy as np
from fastapi import FastAPI
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from safecity.accounts.sessions import revoke_user_tokens
from safecity.accounts.users import get_user_by_name
from safecity.api.app import create_api
from safecity.api.serve import server_options
from safecity.app import App
from safecity.governance import audit
from support.api_harness import ApiHarness, LiveServer, add_token, add_user, make_node


def _node(tmp_path: Path, **storage: object) -> App:
    node = make_node(tmp_path, storage={"data_dir": str(tmp_path), **storage})
    add_user(node, "op", "operator")
    return node


def _few_worker_threads(api: FastAPI, tokens: int) -> FastAPI:
    """The production ratio (40 worker threads, 5 + 10 connections by default) at a small scale."""
    inner = api.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = tokens
        async with inner(app) as state:
            yield state

    api.router.lifespan_context = lifespan
    return api


def test_requests_beyond_the_pool_wait_for_a_connection_instead_of_503(tmp_path: Path) -> None:
    # 8 worker threads, 1 connection, 60 requests at once: before admission, a request that held a
    # connection while waiting for a worker thread, with every worker thread waiting for a connection,
    # stalled the node until the pool timed out, and the requests got 503 "database busy"
    node = _node(tmp_path, database_pool_size=1, database_pool_overflow=0, database_pool_timeout_s=3)
    headers = {"Authorization": f"Bearer {add_token(node, 'op')}"}
    api = _few_worker_threads(create_api(node), 8)
    with LiveServer.run(api) as server, httpx.Client(base_url=server.url, timeout=300) as http:
        paths = ["/api/alerts?limit=50", "/api/events?limit=50", "/api/incidents?limit=50"]

        def get(i: int) -> int:
            return http.get(paths[i % len(paths)], headers=headers).status_code

        with ThreadPoolExecutor(60) as pool:
            codes = list(pool.map(get, range(240)))
    assert codes.count(200) == len(codes), {c: codes.count(c) for c in set(codes)}


SERVE = {**server_options(), "log_config": None, "log_level": "warning"}  # uvicorn as `safecity serve` runs


def test_live_messages_are_not_compressed_per_client(tmp_path: Path) -> None:
    # permessage-deflate compressed each message once per client (its own zlib context): most of the event
    # loop's time with hundreds of clients. The client offers it (as browsers do); the server declines.
    node = _node(tmp_path)
    with LiveServer.run(create_api(node), **SERVE) as server, contextlib.ExitStack() as stack:
        ws = _ws(stack, server, add_token(node, "op"))
        assert ws.protocol.extensions == []
        node.live.broadcast("alert", {"id": "plain"})
        while json.loads(ws.recv(timeout=30))["data"].get("id") != "plain":
            pass


def _ws(stack: contextlib.ExitStack, server: LiveServer, token: str) -> ClientConnection:
    ws = stack.enter_context(connect(f"{server.ws_url}/ws?token={token}", open_timeout=30))
    assert json.loads(ws.recv(timeout=30))["type"] == "hello"
    return ws


def _stalled_ws(server: LiveServer, token: str) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads (a client library would keep
    reading in the background): its small receive buffer fills, then the server's send buffer."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(server.url.rsplit(":", 1)[1])))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET /ws?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_stops_reading_is_cut_off_and_the_others_get_every_message(tmp_path: Path) -> None:
    node = _node(tmp_path, database_pool_size=2, database_pool_overflow=0)
    token = add_token(node, "op")
    node.live.queue_size = 64
    n = 500
    payload = {"id": "x", "pad": "p" * 16_000}  # 500 x 16 kB: beyond what the kernel buffers for a socket
    with LiveServer.run(create_api(node), **SERVE) as server, contextlib.ExitStack() as stack:
        stack.enter_context(_stalled_ws(server, token))  # upgraded, then never reads a byte
        reader = _ws(stack, server, token)
        while node.live.clients < 2:
            time.sleep(0.01)
        got: list[int] = []

        def read() -> None:
            while len(got) < n:
                msg = json.loads(reader.recv(timeout=120))
                if msg["type"] == "alert":
                    got.append(msg["data"]["seq"])

        thread = threading.Thread(target=read)
        thread.start()
        deadline = time.monotonic() + 180
        for seq in range(n):  # paced by the reader (never more than 16 ahead): it keeps up, whatever the load
            while seq - len(got) > 16 and time.monotonic() < deadline and thread.is_alive():
                time.sleep(0.001)
            node.live.broadcast("alert", {**payload, "seq": seq})
        thread.join(180)
        assert got == list(range(n)), "the reading client missed messages or got them out of order"
        assert node.live.dropped_clients == 1, "the stalled client was not cut off"


def test_coalesced_rechecks_close_exactly_the_revoked_connections(tmp_path: Path) -> None:
    node = _node(tmp_path)
    add_user(node, "other", "operator")
    revoked, kept = add_token(node, "op"), add_token(node, "other")
    with LiveServer.run(create_api(node)) as server, contextlib.ExitStack() as stack:
        doomed = [_ws(stack, server, revoked) for _ in range(8)]
        alive = [_ws(stack, server, kept) for _ in range(4)]
        with node.session() as db:
            user = get_user_by_name(db, "op")
            assert user is not None
            revoke_user_tokens(db, user.id)
            db.commit()
        for ws in doomed:
            try:
                while True:
                    ws.recv(timeout=30)
            except ConnectionClosed as exc:
                assert exc.rcvd is not None and exc.rcvd.code == 1008
        node.live.broadcast("alert", {"id": "after"})
        for ws in alive:
            while json.loads(ws.recv(timeout=30))["data"].get("id") != "after":
                pass
        [batcher] = list(server.api.state.grant_batchers.values())
        assert batcher.batches >= 1  # the re-checks went through the node's shared batcher


def test_refused_searches_are_audited_off_the_event_loop(tmp_path: Path, monkeypatch: Any) -> None:
    # an async route wrote its refusal's audit entry on the event loop: every other request and live push
    # of the node waited for that database write. It runs on a worker thread now (no loop in that thread).
    from safecity.api.routers import biometrics

    written: list[tuple[str, bool]] = []
    real = biometrics.log_action

    def spy(db: Any, who: Any, action: str, subject: str, details: Any) -> Any:
        try:
            asyncio.get_running_loop()
            on_loop = True
        except RuntimeError:
            on_loop = False
        written.append((action, on_loop))
        return real(db, who, action, subject, details)

    async def probe(*args: Any) -> np.ndarray:  # the face step of the synchronous search: not the subject
        return np.zeros(128, np.float32)

    monkeypatch.setattr(biometrics, "log_action", spy)
    monkeypatch.setattr(biometrics, "_photo_template", probe)
    monkeypatch.setattr(biometrics, "_models", lambda node: (None, None))
    later = datetime.now(UTC) + timedelta(hours=1)  # a search of the future: refused by policy (403)
    form = {"authorization_id": "1", "cameras": "c1", "reason": "case 7",
            "start": (later - timedelta(hours=2)).isoformat(), "end": later.isoformat()}  # fmt: skip
    with ApiHarness.start(tmp_path) as h:
        headers = h.bearer("investigator")
        for path in ("/api/biometrics/search", "/api/biometrics/search/jobs"):
            files = {"photo": ("probe.jpg", b"not a photo", "image/jpeg")}
            r = h.client.post(path, data=form, files=files, headers=headers)
            assert r.status_code == 403, (path, r.text)
        with h.node.engine.connect() as conn:
            stored = [e.action for e in audit.entries(conn)]
    assert written == [("biometrics.search.refused", False)] * 2
    assert stored.count("biometrics.search.refused") == 2
