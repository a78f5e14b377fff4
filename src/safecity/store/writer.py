"""No silent event loss: the store writer, the on-disk outbox it falls back to, and the publish journal.

- `StoreWriter` (a bus consumer) appends events to the store. When the database refuses them (down,
  locked, full) the events go to the `Outbox` on disk and the writer reports itself degraded; a retry
  thread stores them once the database answers again, in order, each exactly once (the append is
  idempotent by event id). While degraded, new events go straight to the outbox instead of waiting on
  a dead database, so the bus keeps moving and the cameras' analysis is never held back by it.
- `JournaledBus` wraps the in-process bus: `publish` first writes the event to the outbox (fsync'd),
  then queues it. The writer removes it once stored. A process killed with events still queued in
  memory finds them in the outbox when it starts again, and the writer stores them.
  (NATS JetStream is itself the durable log of published events; it needs no journal.)
- `EventLog` appends the id of every published event to a file, one per line, flushed per line: an
  independent record that fault tests compare with the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from safecity.bus.base import Bus, Handler, Unsubscribe
from safecity.store.outbox import Outbox
from safecity.store.repository import Store
from safecity.types import Event

if TYPE_CHECKING:
    from safecity.config.models import Settings

log = logging.getLogger(__name__)
STORE_RETRIES = 5  # without an outbox (the bus redelivers), as before
QUICK_RETRIES = 3  # with an outbox: a briefly locked database, then the outbox
FLUSH_BATCH = 500
STRANDED_S = 30.0  # an outbox entry this old with the database up is flushed by the retry thread


class StoreWriter:
    """Bus consumer that appends events to the store; see the module docstring.

    Without an outbox it retries `STORE_RETRIES` times and then raises, so a durable bus (NATS)
    redelivers the event later. With one, it never raises and never loses an event."""

    def __init__(self, store: Store, outbox: Outbox | None = None, *, retry_s: float = 2.0) -> None:
        self.store = store
        self.outbox = outbox
        self.retry_s = retry_s
        self.written = 0  # events appended (a replayed event counts again)
        self.failed = 0  # events the database refused (held in the outbox when there is one)
        self.reason: str | None = None  # why the store is degraded (None: healthy)
        self.down_since: float | None = None
        self._state = threading.Lock()  # orders "degraded -> outbox" against "flushed -> healthy"
        self._flush_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if outbox is not None:
            if len(outbox):  # left by a crash or by a shutdown with the database down
                self._mark_down("events left in the outbox by the previous run")
            self._thread = threading.Thread(target=self._retry_loop, name="store-outbox", daemon=True)
            self._thread.start()

    @property
    def held(self) -> int:
        """Events in the outbox, waiting for the database."""
        return 0 if self.outbox is None else len(self.outbox)

    def status(self) -> dict[str, Any]:
        """`{"state": "ok"|"degraded", "reason": ..., "held": n, "down_since": epoch|None}`."""
        return {
            "state": "degraded" if self.reason else "ok",
            "reason": self.reason,
            "held": self.held,
            "down_since": self.down_since,
        }

    def __call__(self, event: Event) -> None:
        self.handle_batch([event])

    def handle_batch(self, events: Sequence[Event]) -> None:
        """Append `events` in one transaction, or keep them in the outbox (a batching bus calls this,
        see `bus.base.BatchHandler`, and calls the writer once per event if it raises)."""
        if self.outbox is None:
            self._append_or_raise(events)
            return
        with self._state:
            if self.reason is not None:
                self.outbox.put(events)  # the retry thread stores them, in order, when the database is back
                return
        try:
            self._append(events, QUICK_RETRIES)
        except Exception as exc:
            self.failed += len(events)
            with self._state:
                self.outbox.put(events)
                self._mark_down(f"database unavailable: {type(exc).__name__}: {exc}"[:300])
            log.error("%d event(s) not stored, kept in the outbox: %s", len(events), exc)
            return
        self.outbox.remove(e.id for e in events)  # the journal's copy (JournaledBus)

    def _append_or_raise(self, events: Sequence[Event]) -> None:
        try:
            self._append(events, STORE_RETRIES)
        except Exception as exc:
            self.failed += len(events)
            log.error("%d event(s) not stored: %s", len(events), exc)
            raise

    def _append(self, events: Sequence[Event], attempts: int) -> None:
        for attempt in range(attempts):
            try:
                self.store.append(events)
                self.written += len(events)
                return
            except Exception:
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * 2**attempt)

    def _mark_down(self, reason: str) -> None:
        if self.reason is None:
            self.down_since = time.time()
        self.reason = reason

    def flush(self) -> bool:
        """Store what the outbox holds, oldest first; True when it is empty (the store is healthy)."""
        if self.outbox is None:
            return True
        with self._flush_lock:
            while batch := self.outbox.take(FLUSH_BATCH):
                try:
                    self._append(batch, 1)
                except Exception as exc:
                    with self._state:
                        self._mark_down(f"database unavailable: {type(exc).__name__}: {exc}"[:300])
                    return False
                self.outbox.remove(e.id for e in batch)
            with self._state:
                if self.outbox.take(1):
                    return False  # arrived meanwhile: the next round stores it
                if self.reason is not None:
                    log.warning("store healthy again after %.0f s", time.time() - (self.down_since or 0))
                self.reason = self.down_since = None
        return True

    def _retry_loop(self) -> None:
        assert self.outbox is not None
        while not self._stop.wait(self.retry_s):
            try:
                age = self.outbox.oldest_age_s()
                if self.reason is not None or (age is not None and age > STRANDED_S):
                    self.flush()
            except Exception:  # the outbox itself failing must not end the thread silently
                log.exception("outbox retry failed")

    def close(self) -> None:
        """Stop retrying; a last flush; what the database still refuses stays in the outbox for next time."""
        if self.outbox is None:
            return
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            self.flush()
        except Exception:
            log.exception("final outbox flush failed")
        held = len(self.outbox)
        if held:
            log.warning("%d event(s) left in the outbox %s; stored at next start", held, self.outbox.path)
        self.outbox.close()


class EventLog:
    """Appends `<event id>\\n` for every published event, flushed per line (fault tests read it)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: TextIO = path.open("a", encoding="utf-8", buffering=1)
        self._lock = threading.Lock()

    def write(self, event_id: str) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.write(event_id + "\n")
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()


class JournaledBus:
    """A `Bus` that makes each published event durable (outbox) before handing it to `inner`."""

    def __init__(self, inner: Bus, journal: Outbox | None, event_log: EventLog | None = None) -> None:
        self.inner = inner
        self.journal = journal
        self.event_log = event_log

    def publish(self, event: Event) -> None:
        if self.journal is not None:
            self.journal.put([event])
        if self.event_log is not None:
            self.event_log.write(event.id)
        self.inner.publish(event)

    def subscribe(self, handler: Handler, durable: str | None = None) -> Unsubscribe:
        return self.inner.subscribe(handler, durable)

    def drain(self, timeout: float | None = None) -> bool:
        drain = getattr(self.inner, "drain", None)
        return True if drain is None else bool(drain(timeout))

    def close(self) -> None:
        self.inner.close()
        if self.event_log is not None:
            self.event_log.close()
        if self.journal is not None:
            self.journal.close()

    def __getattr__(self, name: str) -> Any:  # counters of the inner bus (published, dropped, ...)
        return getattr(self.inner, name)


def outbox_path(settings: Settings) -> Path:
    return settings.durability.outbox or settings.storage.data_dir / "outbox.db"


def open_outbox(settings: Settings) -> Outbox:
    """The node's outbox (one SQLite file; processes sharing a data directory share it safely)."""
    return Outbox(outbox_path(settings))


def durable_bus(settings: Settings, bus: Bus) -> Bus:
    """`bus` with the publish journal (in-process bus only) and the event-id log, as configured."""
    d = settings.durability
    journal = open_outbox(settings) if d.journal and settings.bus.type == "memory" else None
    event_log = EventLog(d.event_log) if d.event_log is not None else None
    if journal is None and event_log is None:
        return bus
    return JournaledBus(bus, journal, event_log)
