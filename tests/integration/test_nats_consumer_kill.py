"""At-least-once into the store: a real `safecity consume` process is SIGKILLed mid-way and restarted.

N events are published to a fresh JetStream stream (plus duplicates of some, which the server drops);
the store-writer process (durable consumer `store`) writes them into the test database (SQLite, or
PostgreSQL in CI's `-m db` pass); it is killed with SIGKILL after a part, restarted, and in the end
every event is in the store exactly once and the consumer has nothing pending.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from safecity.bus.config import BusConfig
from safecity.bus.nats import NatsBus
from safecity.store import EventQuery, open_store
from safecity.types import Event, EventKind

pytestmark = [pytest.mark.nats, pytest.mark.slow]
N = 4000
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def bus_cfg(nats_url: str) -> Iterator[BusConfig]:
    tag = uuid.uuid4().hex[:10]
    cfg = BusConfig(type="nats", url=nats_url, stream=f"KILL_{tag}", subject_prefix=f"kill{tag}.events")
    yield cfg
    bus = NatsBus(cfg, name="cleanup")
    try:
        bus._loop.call(bus.js.delete_stream(cfg.stream), 10)
    finally:
        bus.close()


def _config(tmp_path: Path, database_url: str, cfg: BusConfig) -> Path:
    path = tmp_path / "consumer.yaml"
    path.write_text(
        f"storage: {{data_dir: '{tmp_path / 'data'}', database_url: '{database_url}'}}\n"
        f"bus: {{type: nats, url: '{cfg.url}', stream: {cfg.stream}, subject_prefix: {cfg.subject_prefix},"
        " ack_wait_s: 3}\n"  # what the killed process had fetched comes back after 3 s, not 30
    )
    return path


def _consumer(config: Path, log: Path) -> subprocess.Popen[bytes]:
    exe = Path(sys.executable).with_name("safecity")
    cmd = [str(exe)] if exe.is_file() else [sys.executable, "-c", "from safecity.cli import app; app()"]
    return subprocess.Popen(
        [*cmd, "consume", "-c", str(config)], stdout=log.open("ab"), stderr=subprocess.STDOUT
    )


def _events() -> list[Event]:
    return [
        Event(
            camera_id=f"cam-{i % 7}",
            kind=EventKind.LINE_CROSSING,
            start=T0 + timedelta(milliseconds=i),
            end=T0 + timedelta(milliseconds=i),
            label="person",
            line_id="door",
            direction="in",
            count=i,
        )
        for i in range(N)
    ]


def _wait(predicate: object, timeout: float, what: str) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def test_killed_store_writer_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, database_url: str, bus_cfg: BusConfig
) -> None:
    store = open_store(database_url)  # migrate before the consumer starts
    publisher = NatsBus(bus_cfg, name="publisher")
    events = _events()
    for e in events + events[::10]:  # every tenth event published twice
        publisher.publish(e)
    assert publisher.drain(60)
    assert (publisher.published, publisher.duplicates) == (N, N // 10)

    config, log = _config(tmp_path, database_url, bus_cfg), tmp_path / "consumer.log"
    count = lambda: store.count(EventQuery())  # noqa: E731
    proc = _consumer(config, log)
    try:
        _wait(lambda: count() >= N // 4 or proc.poll() is not None, 120, "a quarter of the events stored")
        assert proc.poll() is None, log.read_text()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        at_kill = count()
        assert at_kill < N, "the consumer finished before it could be killed: raise N"
        ack_pending = publisher.consumer_info("store").num_ack_pending

        proc = _consumer(config, log)
        _wait(lambda: count() >= N or proc.poll() is not None, 180, "all events stored")
        assert proc.poll() is None, log.read_text()[-3000:]
        _wait(lambda: publisher.consumer_info("store").num_ack_pending == 0, 30, "all acks")
        info = publisher.consumer_info("store")
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    print(f"killed with {at_kill}/{N} stored and {ack_pending} delivered but unacknowledged")
    assert info.num_pending == 0 and info.num_ack_pending == 0
    assert proc.returncode == 0, log.read_text()[-3000:]
    stored = store.query(EventQuery(limit=N + 100))
    assert count() == N
    assert sorted(e.id for e in stored) == sorted(e.id for e in events)  # exactly once, none lost
    by_id = {e.id: e for e in events}
    assert all(e == by_id[e.id] for e in stored)  # and intact
    engine = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(DISTINCT id), count(*) FROM events")).one() == (N, N)
    engine.dispose()
    store.close()
    publisher.close()
