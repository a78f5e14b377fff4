"""Stateless API nodes on NATS: a WebSocket client on either of two nodes receives every event.

Two real API servers (uvicorn) share one database and one JetStream stream, each with its own NATS
connection; events are published by a third process-like publisher (a camera worker elsewhere). Both
nodes' clients get all of them, and the shared durable store writer stores each exactly once.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from safecity.bus.config import BusConfig
from safecity.bus.nats import NatsBus
from safecity.store import EventQuery, open_store
from safecity.types import Event, EventKind

pytestmark = pytest.mark.nats
N = 200


@pytest.fixture
def bus_cfg(nats_url: str) -> Iterator[BusConfig]:
    tag = uuid.uuid4().hex[:10]
    cfg = BusConfig(type="nats", url=nats_url, stream=f"API_{tag}", subject_prefix=f"api{tag}.events")
    yield cfg
    bus = NatsBus(cfg, name="cleanup")
    try:
        bus._loop.call(bus.js.delete_stream(cfg.stream), 10)
    finally:
        bus.close()


def _events() -> list[Event]:
    t0 = datetime.now(UTC)
    return [
        Event(camera_id=f"cam-{i % 3}", kind=EventKind.ZONE_ENTER, start=t0 + timedelta(milliseconds=i),
              end=t0 + timedelta(milliseconds=i), zone_id="plaza", label="person", track_id=i)
        for i in range(N)
    ]  # fmt: skip


def _receive(ws: Any, count: int, timeout_s: float) -> list[str]:
    ids: list[str] = []
    deadline = time.monotonic() + timeout_s
    while len(ids) < count and time.monotonic() < deadline:
        msg = json.loads(ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
        if msg["type"] == "event":
            ids.append(msg["data"]["id"])
    return ids


def test_clients_on_any_node_receive_every_event(
    tmp_path: Path, database_url: str, bus_cfg: BusConfig
) -> None:
    from websockets.sync.client import connect

    from safecity.api.app import create_api
    from support.api_harness import LiveServer, add_token, add_user, make_node

    def node(name: str) -> Any:
        storage = {"data_dir": str(tmp_path / name), "database_url": database_url}
        return make_node(tmp_path / name, storage=storage, bus=bus_cfg.model_dump())

    node1, node2 = node("n1"), node("n2")
    add_user(node1, "chief", "admin")  # one database: the user and the token work on both nodes
    token = add_token(node1, "chief")
    publisher = NatsBus(bus_cfg, name="camera-worker-elsewhere")
    try:
        with contextlib.ExitStack() as stack:
            servers = [stack.enter_context(LiveServer.run(create_api(n))) for n in (node1, node2)]
            sockets = [
                stack.enter_context(connect(f"{s.ws_url}/ws?token={token}", open_timeout=10)) for s in servers
            ]
            for ws in sockets:
                assert json.loads(ws.recv(timeout=10))["type"] == "hello"
            time.sleep(0.5)  # both nodes' live subscriptions are bound
            events = _events()
            for e in events:
                publisher.publish(e)
            received = [_receive(ws, N, 30) for ws in sockets]
    finally:
        publisher.close()
    want = sorted(e.id for e in events)
    assert sorted(received[0]) == want and sorted(received[1]) == want
    store = open_store(database_url)
    deadline = time.monotonic() + 30
    while store.count(EventQuery()) < N and time.monotonic() < deadline:
        time.sleep(0.1)
    stored = store.query(EventQuery(limit=N + 10))
    store.close()
    assert sorted(e.id for e in stored) == want  # the two nodes share the durable store writer: once each
