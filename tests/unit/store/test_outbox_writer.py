"""No silent event loss, unit level: the outbox is durable and idempotent; the writer holds events while
the database refuses them and stores each exactly once when it answers again; events queued in memory
when a process dies are found in the journal by the next process."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from safecity.bus.memory import MemoryBus
from safecity.store import EventQuery, SqlStore, open_store
from safecity.store.outbox import Outbox
from safecity.store.writer import EventLog, JournaledBus, StoreWriter
from safecity.types import Event, EventKind

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def ev(i: int) -> Event:
    return Event(camera_id="cam1", kind=EventKind.LINE_CROSSING, start=T0, end=T0, track_id=i, id=f"{i:032x}")


class SwitchableStore:
    """A real SQLite store whose connection can be cut (the database going away and coming back)."""

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.down = False
        self.appends = 0

    def append(self, events: Sequence[Event]) -> None:
        if self.down:
            raise OperationalError("INSERT", {}, ConnectionRefusedError("connection refused"))
        self.appends += 1
        self.inner.append(events)

    def query(self, q: EventQuery) -> list[Event]:
        return self.inner.query(q)

    def count(self, q: EventQuery) -> int:
        return self.inner.count(q)

    def close(self) -> None:
        self.inner.close()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SwitchableStore]:
    s = SwitchableStore(open_store(f"sqlite:///{tmp_path / 'db.sqlite'}"))  # type: ignore[arg-type]
    yield s
    s.close()


def stored_ids(store: SwitchableStore) -> list[str]:
    return sorted(e.id for e in store.query(EventQuery(limit=10_000)))


def test_outbox_is_durable_and_idempotent(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "outbox.db")
    events = [ev(i) for i in range(5)]
    box.put(events)
    box.put(events[:2])  # again: kept once
    box.close()
    reopened = Outbox(tmp_path / "outbox.db")
    assert [e.id for e in reopened.take()] == [e.id for e in events]  # oldest first, as they were
    reopened.remove([events[0].id, events[1].id])
    assert len(reopened) == 3
    assert (tmp_path / "outbox.db").stat().st_mode & 0o777 == 0o600
    reopened.close()


def test_database_down_events_held_then_stored_exactly_once(tmp_path: Path, store: SwitchableStore) -> None:
    writer = StoreWriter(store, Outbox(tmp_path / "outbox.db"), retry_s=0.05)  # type: ignore[arg-type]
    try:
        writer(ev(0))
        store.down = True
        for i in range(1, 40):
            writer(ev(i))  # never raises: the outbox takes them
        assert writer.reason is not None and "database unavailable" in writer.reason
        assert writer.held == 39 and writer.status()["state"] == "degraded"
        time.sleep(0.3)  # retries fail meanwhile: still held
        assert writer.held == 39 and len(stored_ids(store)) == 1
        store.down = False
        deadline = time.monotonic() + 5
        while writer.reason is not None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert writer.reason is None and writer.held == 0
        assert stored_ids(store) == sorted(ev(i).id for i in range(40))  # each exactly once (ids unique)
    finally:
        writer.close()


def test_without_outbox_the_writer_raises_for_redelivery(store: SwitchableStore) -> None:
    writer = StoreWriter(store)  # type: ignore[arg-type]
    store.down = True
    with pytest.raises(OperationalError):
        writer(ev(1))
    assert writer.failed == 1


def test_shutdown_with_database_down_leaves_events_for_the_next_start(
    tmp_path: Path, store: SwitchableStore
) -> None:
    writer = StoreWriter(store, Outbox(tmp_path / "outbox.db"), retry_s=60)  # type: ignore[arg-type]
    store.down = True
    for i in range(10):
        writer(ev(i))
    writer.close()
    store.down = False
    assert stored_ids(store) == []
    again = StoreWriter(store, Outbox(tmp_path / "outbox.db"), retry_s=0.05)  # type: ignore[arg-type]
    try:
        assert again.reason is not None  # starts degraded: it has leftovers to store
        assert again.flush()
        assert stored_ids(store) == sorted(ev(i).id for i in range(10))
    finally:
        again.close()


def test_events_queued_in_memory_at_a_crash_are_recovered(tmp_path: Path, store: SwitchableStore) -> None:
    """A process dies with events in its in-memory queue: the journal has them; the next one stores them."""
    box = Outbox(tmp_path / "outbox.db")
    inner = MemoryBus(maxsize=100)
    log_path = tmp_path / "published.log"
    bus = JournaledBus(inner, box, EventLog(log_path))
    stuck = __import__("threading").Event()
    inner.subscribe(lambda e: stuck.wait(10))  # the consumer never gets to store them: the "kill"
    for i in range(20):
        bus.publish(ev(i))
    published = log_path.read_text().split()
    assert published == [ev(i).id for i in range(20)]  # flushed per line, before the process dies
    # the process is gone: nothing was stored; a new process opens the same outbox
    writer = StoreWriter(store, Outbox(tmp_path / "outbox.db"), retry_s=0.05)  # type: ignore[arg-type]
    try:
        assert writer.flush()
        assert stored_ids(store) == sorted(published)
    finally:
        writer.close()
        stuck.set()
        inner.close()


def test_journaled_event_is_removed_once_stored(tmp_path: Path, store: SwitchableStore) -> None:
    box = Outbox(tmp_path / "outbox.db")
    inner = MemoryBus()
    bus = JournaledBus(inner, box)
    writer = StoreWriter(store, Outbox(tmp_path / "outbox.db"), retry_s=60)  # type: ignore[arg-type]
    inner.subscribe(writer)
    for i in range(30):
        bus.publish(ev(i))
    assert inner.drain(5)
    assert len(box) == 0 and len(stored_ids(store)) == 30
    writer.close()
    bus.close()
