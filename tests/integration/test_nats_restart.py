"""The bus rides out a NATS server crash: a private nats-server (own port and store) is SIGKILLed while
events are being published and restarted on the same store; every event reaches the durable consumer."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from safecity.bus.config import BusConfig
from safecity.bus.nats import NatsBus
from safecity.types import Event, EventKind

pytestmark = [pytest.mark.nats, pytest.mark.slow]
NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"


class Server:
    def __init__(self, store: Path) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.store = store
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.store)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("private nats-server did not start")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if not os.access(NATS_SERVER, os.X_OK):
        pytest.skip(f"{NATS_SERVER} not installed (Debian package nats-server)")
    s = Server(tmp_path / "jetstream")
    s.start()
    yield s
    if s.proc is not None and s.proc.poll() is None:
        s.kill()


def test_events_published_during_a_server_crash_all_arrive(server: Server) -> None:
    cfg = BusConfig(type="nats", url=f"nats://127.0.0.1:{server.port}", stream="RESTART", publish_retry_s=60)
    publisher, consumer = NatsBus(cfg, name="pub"), NatsBus(cfg, name="sub")
    got: set[str] = set()
    lock = threading.Lock()

    def store(event: Event) -> None:
        with lock:
            got.add(event.id)

    now = datetime.now(UTC)
    events = [Event(camera_id="c", kind=EventKind.CROWDING, start=now, end=now, count=i) for i in range(300)]
    try:
        consumer.subscribe(store, durable="store")
        for e in events[:100]:
            publisher.publish(e)
        assert publisher.drain(10)
        server.kill()
        for e in events[100:200]:  # while the server is down: queued and retried
            publisher.publish(e)
        time.sleep(1.0)
        server.start()
        for e in events[200:]:
            publisher.publish(e)
        assert publisher.drain(60), "the outbox did not drain after the restart"
        deadline = time.monotonic() + 30
        while len(got) < 300 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        publisher.close()
        consumer.close()
    assert got == {e.id for e in events}
    assert publisher.failed == 0 and publisher.dropped == 0
